//! Seeds the demo shop through the services' own gRPC APIs: categories, five sellers with their products, and a
//! demo shopper with an address. Idempotent: whatever exists is kept and only what is missing is created, so a
//! restart (or a crash half way) never duplicates anything.

pub mod data;

use std::collections::{HashMap, HashSet};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt, stream};
use tokshop_platform::auth::{Role, TokenKeys, authorized};
use tokshop_platform::grpc::GrpcChannel;
use tokshop_proto::{
    catalog::{self as cpb, catalog_service_client::CatalogServiceClient},
    identity::{self as ipb, identity_service_client::IdentityServiceClient},
};
use tonic::Code;

/// How many times the seeding creates a demo product whose database answered "unavailable".
const CREATE_ATTEMPTS: u64 = 5;

/// What a seeding run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub categories_created: usize,
    pub products_created: usize,
    pub products_existing: usize,
}

/// The subject of the short-lived admin token the seeder uses to create categories.
const SEEDER_SUBJECT: &str = "usr_seeder";

/// How long the tokens the seeder signs for itself live.
const SEEDER_TOKEN_SECS: i64 = 300;

/// Seeds categories, sellers, `products` demo products and the demo shopper.
pub async fn seed_demo(
    identity: GrpcChannel,
    catalog: GrpcChannel,
    keys: &TokenKeys,
    products: usize,
) -> anyhow::Result<SeedReport> {
    let mut identity = IdentityServiceClient::new(identity);
    let mut catalog = CatalogServiceClient::new(catalog);
    let mut report = SeedReport::default();

    let categories = seed_categories(&mut catalog, keys, &mut report).await?;

    let mut seller_ids = Vec::with_capacity(data::SELLERS.len());
    for (username, shop_name, _) in data::SELLERS {
        let session = register_or_login(
            &mut identity,
            username,
            &format!("{username}@tokshop.example"),
            data::SELLER_PASSWORD,
        )
        .await?;
        let user = session
            .user
            .as_ref()
            .context("a session without its user")?;
        seller_ids.push(user.id.clone());
        let is_seller = user.roles.iter().any(|r| r == "seller");
        if !is_seller {
            identity
                .become_seller(authorized(
                    ipb::BecomeSellerRequest {
                        shop_name: (*shop_name).to_owned(),
                    },
                    Some(&session.access_token),
                ))
                .await
                .with_context(|| format!("making {username} a seller"))?;
        }
    }

    // Every catalog call signs a short-lived token of its own: a large catalogue takes longer to seed than a
    // sign-in's token lives.
    let seller_token = |seller: usize| {
        keys.issue_with_ttl(
            &seller_ids[seller],
            &[Role::Buyer, Role::Seller],
            SEEDER_TOKEN_SECS,
        )
    };
    let mut existing: Vec<HashSet<String>> = Vec::with_capacity(seller_ids.len());
    for seller in 0..seller_ids.len() {
        existing.push(titles_of(&mut catalog, &seller_token(seller)?.token).await?);
    }
    let missing: Vec<data::DemoProduct> = (0..products)
        .map(data::product)
        .filter(|p| !existing[p.seller].contains(&p.title))
        .collect();
    report.products_existing = products - missing.len();
    report.products_created = missing.len();
    stream::iter(missing)
        .map(|product| {
            let mut catalog = catalog.clone();
            let token = seller_token(product.seller);
            let category_id = categories.get(product.category_slug).cloned();
            async move {
                let token = token?.token;
                let category_id = category_id.context("demo category missing")?;
                // A busy database (SQLite's writers queue behind one another, and a large catalogue's search index
                // merges in the writer's time) answers "unavailable" and keeps nothing; the seeding tries again
                // rather than stopping the shop's start.
                let mut attempt = 1;
                loop {
                    let created = catalog
                        .create_product(authorized(
                            create_request(&product, category_id.clone()),
                            Some(&token),
                        ))
                        .await;
                    match created {
                        Err(status) if status.code() == Code::Unavailable && attempt < CREATE_ATTEMPTS => {
                            tracing::warn!(product = %product.title, attempt, "database busy; creating the demo product again");
                            tokio::time::sleep(std::time::Duration::from_millis(250 * attempt)).await;
                            attempt += 1;
                        }
                        created => {
                            created.with_context(|| {
                                format!("creating demo product {:?}", product.title)
                            })?;
                            return anyhow::Ok(());
                        }
                    }
                }
            }
        })
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await?;

    let shopper = register_or_login(
        &mut identity,
        data::DEMO_USERNAME,
        data::DEMO_EMAIL,
        data::DEMO_PASSWORD,
    )
    .await?;
    let token = Some(shopper.access_token.as_str());
    let addresses = identity
        .list_addresses(authorized(ipb::ListAddressesRequest {}, token))
        .await?
        .into_inner();
    if addresses.addresses.is_empty() {
        identity
            .add_address(authorized(
                ipb::AddAddressRequest {
                    fields: Some(ipb::AddressFields {
                        recipient: Some("Demo Shopper".into()),
                        phone: Some("+1 555 0100".into()),
                        line1: Some("1 Market Street".into()),
                        line2: None,
                        city: Some("San Francisco".into()),
                        region: Some("CA".into()),
                        postal_code: Some("94105".into()),
                        country: Some("US".into()),
                    }),
                    make_default: true,
                },
                token,
            ))
            .await
            .context("adding the demo shopper's address")?;
    }
    Ok(report)
}

fn create_request(product: &data::DemoProduct, category_id: String) -> cpb::CreateProductRequest {
    cpb::CreateProductRequest {
        category_id,
        title: product.title.clone(),
        description: product.description.clone(),
        image_urls: product.image_urls.clone(),
        currency: String::new(),
        variants: product
            .variants
            .iter()
            .map(|v| cpb::VariantInput {
                sku: v.sku.clone(),
                options: v
                    .options
                    .iter()
                    .map(|(name, value)| cpb::OptionValue {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                price_minor: v.price_minor,
                stock: v.stock,
                image_urls: Vec::new(),
            })
            .collect(),
    }
}

/// Creates missing categories; returns slug -> id for all of them.
async fn seed_categories(
    catalog: &mut CatalogServiceClient<GrpcChannel>,
    keys: &TokenKeys,
    report: &mut SeedReport,
) -> anyhow::Result<HashMap<String, String>> {
    let admin = keys.issue_with_ttl(
        SEEDER_SUBJECT,
        &[Role::Buyer, Role::Admin],
        SEEDER_TOKEN_SECS,
    )?;
    let mut by_slug: HashMap<String, String> = catalog
        .list_categories(cpb::ListCategoriesRequest {})
        .await
        .context("listing categories")?
        .into_inner()
        .categories
        .into_iter()
        .map(|c| (c.slug, c.id))
        .collect();
    for (slug, name, children) in data::CATEGORIES {
        let parent_id =
            ensure_category(catalog, &admin.token, &mut by_slug, slug, name, "", report).await?;
        for (child_slug, child_name) in *children {
            ensure_category(
                catalog,
                &admin.token,
                &mut by_slug,
                child_slug,
                child_name,
                &parent_id,
                report,
            )
            .await?;
        }
    }
    Ok(by_slug)
}

async fn ensure_category(
    catalog: &mut CatalogServiceClient<GrpcChannel>,
    token: &str,
    by_slug: &mut HashMap<String, String>,
    slug: &str,
    name: &str,
    parent_id: &str,
    report: &mut SeedReport,
) -> anyhow::Result<String> {
    if let Some(id) = by_slug.get(slug) {
        return Ok(id.clone());
    }
    let created = catalog
        .create_category(authorized(
            cpb::CreateCategoryRequest {
                parent_id: parent_id.to_owned(),
                name: name.to_owned(),
                slug: slug.to_owned(),
            },
            Some(token),
        ))
        .await
        .with_context(|| format!("creating category {slug}"))?
        .into_inner();
    report.categories_created += 1;
    by_slug.insert(slug.to_owned(), created.id.clone());
    Ok(created.id)
}

async fn register_or_login(
    identity: &mut IdentityServiceClient<GrpcChannel>,
    username: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<ipb::AuthSession> {
    let registered = identity
        .register(ipb::RegisterRequest {
            username: username.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            display_name: String::new(),
        })
        .await;
    match registered {
        Ok(session) => Ok(session.into_inner()),
        Err(status) if status.code() == Code::AlreadyExists => {
            let session = identity
                .login(ipb::LoginRequest {
                    login: username.to_owned(),
                    password: password.to_owned(),
                })
                .await
                .with_context(|| {
                    format!("demo account {username} exists but its password was changed; cannot seed as it")
                })?;
            Ok(session.into_inner())
        }
        Err(status) => bail!("registering demo account {username}: {status}"),
    }
}

/// Titles of every product `token`'s seller has, listed or not.
async fn titles_of(
    catalog: &mut CatalogServiceClient<GrpcChannel>,
    token: &str,
) -> anyhow::Result<HashSet<String>> {
    let mut titles = HashSet::new();
    let mut cursor = String::new();
    loop {
        let page = catalog
            .list_my_products(authorized(
                cpb::ListMyProductsRequest {
                    limit: 100,
                    cursor: cursor.clone(),
                },
                Some(token),
            ))
            .await
            .context("listing a seller's products")?
            .into_inner();
        titles.extend(page.products.into_iter().map(|p| p.title));
        if page.next_cursor.is_empty() {
            return Ok(titles);
        }
        cursor = page.next_cursor;
    }
}
