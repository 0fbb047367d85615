//! A scenario's world: categories, sellers, shoppers with wallets, addresses and cards, products and their stock,
//! coupons, carts, existing orders, and the social side (follows, posts, comments, favorites, messages). Loaded through the services' own gRPC APIs into a fresh instance, so a
//! fixture can only describe states the shop itself can reach.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use tokshop_platform::auth::{Role, TokenKeys, authorized};
use tokshop_proto::{
    cart as cartpb,
    catalog::{self as cpb, Money},
    identity as ipb,
    order::{self as opb, CouponScope},
    payment as ppb, social as spb,
};
use tokshop_tools::Clients;

/// A fixture file (`evals/fixtures/<name>.yaml`) or a scenario's `extra` additions to one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fixture {
    /// The currency of every price in the fixture; USD when unset.
    pub currency: Option<String>,
    pub categories: Vec<CategoryFixture>,
    pub sellers: Vec<SellerFixture>,
    pub users: Vec<UserFixture>,
    pub products: Vec<ProductFixture>,
    pub coupons: Vec<CouponFixture>,
    /// Cart lines by username.
    pub carts: BTreeMap<String, Vec<LineFixture>>,
    pub orders: Vec<OrderFixture>,
    /// Who follows whom, by username (users and sellers alike).
    pub follows: Vec<FollowFixture>,
    pub posts: Vec<PostFixture>,
    pub comments: Vec<CommentFixture>,
    /// Favorite products (by key) by username.
    pub favorites: BTreeMap<String, Vec<String>>,
    /// Direct messages, oldest first; sender and recipient must follow each other.
    pub messages: Vec<MessageFixture>,
    /// The user the agent acts for; the first user when unset.
    pub shopper: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowFixture {
    pub user: String,
    pub follows: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostFixture {
    pub key: String,
    pub author: String,
    pub text: String,
    /// Linked products, by key.
    #[serde(default)]
    pub products: Vec<String>,
}

/// A comment on a product or a post (by key), or a reply to another fixture comment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentFixture {
    #[serde(default)]
    pub key: Option<String>,
    pub author: String,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub post: Option<String>,
    #[serde(default)]
    pub parent: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageFixture {
    pub from: String,
    pub to: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryFixture {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerFixture {
    pub username: String,
    pub shop: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFixture {
    pub username: String,
    /// Wallet balance to top up, e.g. `"150.00"`.
    #[serde(default)]
    pub wallet: Option<String>,
    #[serde(default)]
    pub addresses: Vec<AddressFixture>,
    /// Sandbox card numbers to save (4242... succeeds, 4000 0000 0000 0002 is declined).
    #[serde(default)]
    pub cards: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressFixture {
    #[serde(default)]
    pub key: Option<String>,
    pub recipient: String,
    pub line1: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductFixture {
    pub key: String,
    pub seller: String,
    pub category: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub variants: Vec<VariantFixture>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantFixture {
    pub key: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub price: String,
    pub stock: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponFixture {
    pub key: String,
    pub seller: String,
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub amount_off: Option<String>,
    #[serde(default)]
    pub percent_off: Option<i32>,
    #[serde(default)]
    pub min_spend: Option<String>,
    #[serde(default = "default_quantity")]
    pub quantity: i64,
    /// Users who have already claimed it.
    #[serde(default)]
    pub claimed_by: Vec<String>,
}

fn default_quantity() -> i64 {
    100
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LineFixture {
    pub variant: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFixture {
    pub key: String,
    pub user: String,
    pub items: Vec<LineFixture>,
    /// Where the order stands: pending_payment (the default), paid, shipped, delivered or cancelled.
    #[serde(default = "pending")]
    pub status: String,
}

fn pending() -> String {
    "pending_payment".into()
}

impl Fixture {
    /// This fixture with `extra`'s entries appended (and its shopper, if it names one).
    pub fn merged(&self, extra: &Fixture) -> Fixture {
        let mut merged = self.clone();
        merged.currency = extra.currency.clone().or(merged.currency);
        merged.categories.extend(extra.categories.iter().cloned());
        merged.sellers.extend(extra.sellers.iter().cloned());
        merged.users.extend(extra.users.iter().cloned());
        merged.products.extend(extra.products.iter().cloned());
        merged.coupons.extend(extra.coupons.iter().cloned());
        for (user, lines) in &extra.carts {
            merged
                .carts
                .entry(user.clone())
                .or_default()
                .extend(lines.iter().cloned());
        }
        merged.orders.extend(extra.orders.iter().cloned());
        merged.follows.extend(extra.follows.iter().cloned());
        merged.posts.extend(extra.posts.iter().cloned());
        merged.comments.extend(extra.comments.iter().cloned());
        for (user, products) in &extra.favorites {
            merged
                .favorites
                .entry(user.clone())
                .or_default()
                .extend(products.iter().cloned());
        }
        merged.messages.extend(extra.messages.iter().cloned());
        if extra.shopper.is_some() {
            merged.shopper = extra.shopper.clone();
        }
        merged
    }

    pub fn currency(&self) -> &str {
        self.currency.as_deref().unwrap_or("USD")
    }

    /// The shopper's username.
    pub fn shopper(&self) -> anyhow::Result<&str> {
        match (&self.shopper, self.users.first()) {
            (Some(name), _) => Ok(name),
            (None, Some(user)) => Ok(&user.username),
            (None, None) => bail!("the fixture has no users, so nobody to shop as"),
        }
    }

    /// Every key the fixture defines, for checking references before anything runs.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for product in &self.products {
            keys.push(&product.key);
            keys.extend(product.variants.iter().map(|v| v.key.as_str()));
        }
        keys.extend(self.coupons.iter().map(|c| c.key.as_str()));
        keys.extend(self.orders.iter().map(|o| o.key.as_str()));
        keys.extend(self.posts.iter().map(|p| p.key.as_str()));
        keys.extend(self.comments.iter().filter_map(|c| c.key.as_deref()));
        for user in &self.users {
            keys.extend(user.addresses.iter().filter_map(|a| a.key.as_deref()));
        }
        keys
    }
}

/// Parses `"59.90"` into minor units of `currency`.
pub fn parse_money(text: &str, currency: &str) -> anyhow::Result<i64> {
    let digits = tokshop_platform::money::minor_digits(currency)
        .with_context(|| format!("unsupported currency {currency:?}"))?;
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    ensure!(
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= digits as usize,
        "{text:?} is not an amount of {currency} (like 59.90)"
    );
    let scale = 10_i64.pow(digits);
    let whole: i64 = whole.parse().context("amount too large")?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}", width = digits as usize)
            .parse()
            .context("bad fraction")?
    };
    Ok(whole * scale + fraction)
}

/// What loading a fixture made: ids by fixture key, and a session per user and seller.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub ids: HashMap<String, String>,
    pub tokens: HashMap<String, String>,
    pub user_ids: HashMap<String, String>,
    pub currency: String,
}

impl Loaded {
    /// The id a fixture key stands for.
    pub fn id(&self, key: &str) -> anyhow::Result<&str> {
        self.ids
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("no fixture entry has the key {key:?}"))
    }

    pub fn token(&self, username: &str) -> anyhow::Result<&str> {
        self.tokens
            .get(username)
            .map(String::as_str)
            .with_context(|| format!("no fixture user or seller is named {username:?}"))
    }

    /// The fixture key of an id, for readable transcripts and failure messages.
    pub fn key_of(&self, id: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|(_, v)| v.as_str() == id)
            .map(|(k, _)| k.as_str())
    }
}

const PASSWORD: &str = "eval-password-1";
const TOP_UP_CARD: &str = "4242424242424242";

/// Loads `fixture` into the instance behind `clients`.
pub async fn load(
    fixture: &Fixture,
    clients: &Clients,
    keys: &TokenKeys,
) -> anyhow::Result<Loaded> {
    let mut clients = clients.clone();
    let currency = fixture.currency().to_owned();
    let mut loaded = Loaded {
        currency: currency.clone(),
        ..Loaded::default()
    };
    let money = |text: &str| -> anyhow::Result<Money> {
        Ok(Money {
            amount_minor: parse_money(text, &currency)?,
            currency: currency.clone(),
        })
    };

    let admin = keys.issue_with_ttl("usr_evals", &[Role::Buyer, Role::Admin], 600)?;
    let mut categories = HashMap::new();
    for category in &fixture.categories {
        let created = clients
            .catalog
            .create_category(authorized(
                cpb::CreateCategoryRequest {
                    parent_id: String::new(),
                    name: category.name.clone(),
                    slug: category.slug.clone(),
                },
                Some(&admin.token),
            ))
            .await
            .with_context(|| format!("creating category {:?}", category.slug))?
            .into_inner();
        categories.insert(category.slug.clone(), created.id);
    }

    for seller in &fixture.sellers {
        let session = register(&mut clients, &seller.username).await?;
        let session = clients
            .identity
            .become_seller(authorized(
                ipb::BecomeSellerRequest {
                    shop_name: seller.shop.clone(),
                },
                Some(&session.access_token),
            ))
            .await
            .with_context(|| format!("making {} a seller", seller.username))?
            .into_inner();
        remember(&mut loaded, &seller.username, &session);
    }

    for user in &fixture.users {
        let session = register(&mut clients, &user.username).await?;
        remember(&mut loaded, &user.username, &session);
        let token = Some(session.access_token.as_str());
        for (i, address) in user.addresses.iter().enumerate() {
            let created = clients
                .identity
                .add_address(authorized(
                    ipb::AddAddressRequest {
                        fields: Some(ipb::AddressFields {
                            recipient: Some(address.recipient.clone()),
                            phone: Some(
                                address
                                    .phone
                                    .clone()
                                    .unwrap_or_else(|| "+1 555 0100".into()),
                            ),
                            line1: Some(address.line1.clone()),
                            line2: None,
                            city: Some(address.city.clone()),
                            region: None,
                            postal_code: Some(address.postal_code.clone()),
                            country: Some(address.country.clone()),
                        }),
                        make_default: i == 0,
                    },
                    token,
                ))
                .await
                .with_context(|| format!("adding an address for {}", user.username))?
                .into_inner();
            if let Some(key) = &address.key {
                loaded.ids.insert(key.clone(), created.id);
            }
        }
        for number in &user.cards {
            add_card(&mut clients, number, token).await?;
        }
        if let Some(amount) = &user.wallet {
            let card = add_card(&mut clients, TOP_UP_CARD, token).await?;
            clients
                .payments
                .top_up_wallet(authorized(
                    ppb::TopUpWalletRequest {
                        request_id: format!("fixture-top-up-{}", user.username),
                        payment_method_id: card.clone(),
                        amount: Some(money(amount)?),
                    },
                    token,
                ))
                .await
                .with_context(|| format!("topping up {}'s wallet", user.username))?;
            // The top-up card was only a means; the shopper's saved cards are the ones the fixture lists.
            if !user.cards.iter().any(|c| c == TOP_UP_CARD) {
                clients
                    .payments
                    .remove_payment_method(authorized(
                        ppb::RemovePaymentMethodRequest { id: card },
                        token,
                    ))
                    .await
                    .context("removing the top-up card")?;
            }
        }
    }

    for product in &fixture.products {
        let token = loaded.token(&product.seller)?.to_owned();
        let category_id = categories.get(&product.category).with_context(|| {
            format!(
                "product {:?}: no category {:?}",
                product.key, product.category
            )
        })?;
        let variants = product
            .variants
            .iter()
            .map(|v| {
                Ok(cpb::VariantInput {
                    sku: v.key.to_uppercase(),
                    options: v
                        .options
                        .iter()
                        .map(|(name, value)| cpb::OptionValue {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                    price_minor: parse_money(&v.price, &currency)?,
                    stock: v.stock,
                    image_urls: Vec::new(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let created = clients
            .catalog
            .create_product(authorized(
                cpb::CreateProductRequest {
                    category_id: category_id.clone(),
                    title: product.title.clone(),
                    description: product.description.clone(),
                    image_urls: Vec::new(),
                    currency: currency.clone(),
                    variants,
                },
                Some(&token),
            ))
            .await
            .with_context(|| format!("creating product {:?}", product.key))?
            .into_inner();
        loaded.ids.insert(product.key.clone(), created.id.clone());
        for variant in &product.variants {
            let sku = variant.key.to_uppercase();
            let id = created
                .variants
                .iter()
                .find(|v| v.sku == sku)
                .map(|v| v.id.clone())
                .with_context(|| format!("variant {:?} was not created", variant.key))?;
            loaded.ids.insert(variant.key.clone(), id);
        }
    }

    for coupon in &fixture.coupons {
        let token = loaded.token(&coupon.seller)?.to_owned();
        let created = clients
            .coupons
            .create_coupon(authorized(
                opb::CreateCouponRequest {
                    code: coupon.code.clone(),
                    title: coupon.title.clone(),
                    amount_off: match &coupon.amount_off {
                        Some(amount) => parse_money(amount, &currency)?,
                        None => 0,
                    },
                    percent_off: coupon.percent_off.unwrap_or(0),
                    currency: currency.clone(),
                    min_spend: match &coupon.min_spend {
                        Some(amount) => parse_money(amount, &currency)?,
                        None => 0,
                    },
                    scope: CouponScope::Shop as i32,
                    scope_id: String::new(),
                    valid_from_ms: 0,
                    valid_until_ms: tokshop_platform::time::now_ms() + 30 * 24 * 3600 * 1000,
                    total_quantity: coupon.quantity,
                    per_user_limit: 1,
                },
                Some(&token),
            ))
            .await
            .with_context(|| format!("creating coupon {:?}", coupon.key))?
            .into_inner();
        loaded.ids.insert(coupon.key.clone(), created.id.clone());
        for user in &coupon.claimed_by {
            let token = loaded.token(user)?.to_owned();
            clients
                .coupons
                .claim_coupon(authorized(
                    opb::ClaimCouponRequest {
                        coupon_id: created.id.clone(),
                    },
                    Some(&token),
                ))
                .await
                .with_context(|| format!("{user} claiming coupon {:?}", coupon.key))?;
        }
    }

    for (user, lines) in &fixture.carts {
        let token = loaded.token(user)?.to_owned();
        for line in lines {
            clients
                .cart
                .add_item(authorized(
                    cartpb::AddItemRequest {
                        variant_id: loaded.id(&line.variant)?.to_owned(),
                        quantity: line.quantity,
                    },
                    Some(&token),
                ))
                .await
                .with_context(|| format!("adding {:?} to {user}'s cart", line.variant))?;
        }
    }

    for order in &fixture.orders {
        place_order(&mut clients, &mut loaded, order).await?;
    }
    load_social(fixture, &mut clients, &mut loaded).await?;
    Ok(loaded)
}

/// Follows, posts, comments, favorites and messages, each made by its own user through the social service.
async fn load_social(
    fixture: &Fixture,
    clients: &mut Clients,
    loaded: &mut Loaded,
) -> anyhow::Result<()> {
    let user_id = |loaded: &Loaded, name: &str| {
        loaded
            .user_ids
            .get(name)
            .cloned()
            .with_context(|| format!("no fixture user or seller is named {name:?}"))
    };
    for follow in &fixture.follows {
        let token = loaded.token(&follow.user)?.to_owned();
        clients
            .relations
            .follow(authorized(
                spb::FollowRequest {
                    user_id: user_id(loaded, &follow.follows)?,
                },
                Some(&token),
            ))
            .await
            .with_context(|| format!("{} following {}", follow.user, follow.follows))?;
    }
    for post in &fixture.posts {
        let token = loaded.token(&post.author)?.to_owned();
        let product_ids = post
            .products
            .iter()
            .map(|key| loaded.id(key).map(str::to_owned))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let published = clients
            .posts
            .publish_post(authorized(
                spb::PublishPostRequest {
                    text: post.text.clone(),
                    media_ids: Vec::new(),
                    product_ids,
                    request_id: format!("fixture-post-{}", post.key),
                },
                Some(&token),
            ))
            .await
            .with_context(|| format!("publishing post {:?}", post.key))?
            .into_inner();
        loaded.ids.insert(post.key.clone(), published.id);
    }
    for (i, comment) in fixture.comments.iter().enumerate() {
        let token = loaded.token(&comment.author)?.to_owned();
        let id_of = |key: &Option<String>| -> anyhow::Result<String> {
            key.as_deref()
                .map_or(Ok(String::new()), |k| loaded.id(k).map(str::to_owned))
        };
        let added = clients
            .interactions
            .add_comment(authorized(
                spb::AddCommentRequest {
                    product_id: id_of(&comment.product)?,
                    post_id: id_of(&comment.post)?,
                    parent_id: id_of(&comment.parent)?,
                    text: comment.text.clone(),
                    request_id: format!("fixture-comment-{i}"),
                },
                Some(&token),
            ))
            .await
            .with_context(|| format!("{} commenting {:?}", comment.author, comment.text))?
            .into_inner();
        if let Some(key) = &comment.key {
            loaded.ids.insert(key.clone(), added.id);
        }
    }
    for (user, products) in &fixture.favorites {
        let token = loaded.token(user)?.to_owned();
        for key in products {
            clients
                .interactions
                .favorite_product(authorized(
                    spb::ProductRef {
                        product_id: loaded.id(key)?.to_owned(),
                    },
                    Some(&token),
                ))
                .await
                .with_context(|| format!("{user} favoriting {key:?}"))?;
        }
    }
    for (i, message) in fixture.messages.iter().enumerate() {
        let token = loaded.token(&message.from)?.to_owned();
        clients
            .messages
            .send_message(authorized(
                spb::SendMessageRequest {
                    to_user_id: user_id(loaded, &message.to)?,
                    text: message.text.clone(),
                    request_id: format!("fixture-message-{i}"),
                },
                Some(&token),
            ))
            .await
            .with_context(|| {
                format!(
                    "{} messaging {} (do they follow each other?)",
                    message.from, message.to
                )
            })?;
    }
    Ok(())
}

async fn register(clients: &mut Clients, username: &str) -> anyhow::Result<ipb::AuthSession> {
    Ok(clients
        .identity
        .register(ipb::RegisterRequest {
            username: username.to_owned(),
            email: format!("{username}@shoppers.example"),
            password: PASSWORD.to_owned(),
            display_name: username.to_owned(),
        })
        .await
        .with_context(|| format!("registering {username}"))?
        .into_inner())
}

fn remember(loaded: &mut Loaded, username: &str, session: &ipb::AuthSession) {
    loaded
        .tokens
        .insert(username.to_owned(), session.access_token.clone());
    if let Some(user) = &session.user {
        loaded.user_ids.insert(username.to_owned(), user.id.clone());
    }
}

async fn add_card(
    clients: &mut Clients,
    number: &str,
    token: Option<&str>,
) -> anyhow::Result<String> {
    Ok(clients
        .payments
        .add_card(authorized(
            ppb::AddCardRequest {
                number: number.to_owned(),
                exp_month: 12,
                exp_year: 2099,
                cvc: "123".into(),
            },
            token,
        ))
        .await
        .with_context(|| {
            format!(
                "saving card ending {}",
                &number[number.len().saturating_sub(4)..]
            )
        })?
        .into_inner()
        .id)
}

/// Checks an order out and moves it to the status the fixture asks for, the way its buyer and seller would.
async fn place_order(
    clients: &mut Clients,
    loaded: &mut Loaded,
    order: &OrderFixture,
) -> anyhow::Result<()> {
    let buyer = loaded.token(&order.user)?.to_owned();
    let items = order
        .items
        .iter()
        .map(|line| {
            Ok(opb::LineChoice {
                variant_id: loaded.id(&line.variant)?.to_owned(),
                quantity: line.quantity,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let placed = clients
        .orders
        .checkout(authorized(
            opb::CheckoutRequest {
                request_id: format!("fixture-{}", order.key),
                items,
                cart_variant_ids: Vec::new(),
                address_id: String::new(),
                claimed_coupon_id: String::new(),
                expected_total: None,
            },
            Some(&buyer),
        ))
        .await
        .with_context(|| format!("placing order {:?}", order.key))?
        .into_inner();
    loaded.ids.insert(order.key.clone(), placed.id.clone());
    use OrderStep::{Cancel, Deliver, Pay, Ship};
    let steps: &[OrderStep] = match order.status.as_str() {
        "pending_payment" => &[],
        "cancelled" => &[Cancel],
        "paid" => &[Pay],
        "shipped" => &[Pay, Ship],
        "delivered" => &[Pay, Ship, Deliver],
        other => bail!(
            "order {:?}: status {other:?} is not one a fixture can set (pending_payment, paid, shipped, delivered, cancelled)",
            order.key
        ),
    };
    let seller = || {
        loaded
            .user_ids
            .iter()
            .find(|(_, id)| **id == placed.seller_id)
            .and_then(|(name, _)| loaded.tokens.get(name))
            .map(String::as_str)
            .with_context(|| format!("order {:?}: its seller is not a fixture seller", order.key))
    };
    for step in steps {
        match step {
            Cancel => {
                clients
                    .orders
                    .cancel_order(authorized(
                        opb::CancelOrderRequest {
                            id: placed.id.clone(),
                            as_seller: false,
                        },
                        Some(&buyer),
                    ))
                    .await
                    .with_context(|| format!("cancelling order {:?}", order.key))?;
            }
            Pay => {
                clients
                    .payments
                    .pay_order(authorized(
                        ppb::PayOrderRequest {
                            request_id: format!("fixture-pay-{}", order.key),
                            order_id: placed.id.clone(),
                            payment_method_id: "wallet".into(),
                        },
                        Some(&buyer),
                    ))
                    .await
                    .with_context(|| {
                        format!(
                            "paying order {:?} (does {} have a wallet balance?)",
                            order.key, order.user
                        )
                    })?;
            }
            Ship => {
                clients
                    .orders
                    .ship_order(authorized(
                        opb::ShipOrderRequest {
                            id: placed.id.clone(),
                            tracking_number: format!("TRK-{}", order.key.to_uppercase()),
                            carrier: "Evals Post".into(),
                        },
                        Some(seller()?),
                    ))
                    .await
                    .with_context(|| format!("shipping order {:?}", order.key))?;
            }
            Deliver => {
                clients
                    .orders
                    .mark_delivered(authorized(
                        opb::MarkDeliveredRequest {
                            id: placed.id.clone(),
                        },
                        Some(seller()?),
                    ))
                    .await
                    .with_context(|| format!("delivering order {:?}", order.key))?;
            }
        }
    }
    Ok(())
}

/// What moves a fixture order from pending payment to the status it asks for, in order.
enum OrderStep {
    Cancel,
    Pay,
    Ship,
    Deliver,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_exactly() {
        assert_eq!(parse_money("59.90", "USD").unwrap(), 5990);
        assert_eq!(parse_money("59.9", "USD").unwrap(), 5990);
        assert_eq!(parse_money("7", "USD").unwrap(), 700);
        assert_eq!(parse_money("1200", "JPY").unwrap(), 1200);
        assert!(parse_money("1.234", "USD").is_err());
        assert!(parse_money("-1", "USD").is_err());
        assert!(parse_money("abc", "USD").is_err());
    }
}
