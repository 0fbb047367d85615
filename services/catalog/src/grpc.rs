//! The tonic surface of the catalog service: validates input, checks the caller's role and ownership, calls
//! the store, and shapes rows into messages.

use tokshop_platform::grpc::{Reply, reply};
use tokshop_platform::{
    ServiceContext, ServiceError, ServiceResult,
    auth::{Principal, Role, TokenKeys},
    check_len,
    limits::{MAX_ID, check_id},
    money,
};
use tokshop_proto::catalog::{self as pb, catalog_service_server::CatalogService};
use tonic::Request;

use crate::{
    reservations::{self, ReservationRecord},
    search::{self, Cursor, SearchQuery, Sort},
    store::{OptionPair, ProductChanges, ProductRecord, Store, VariantChanges, VariantRow},
    validate,
};

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;
const MAX_VARIANT_LOOKUP: usize = 100;

/// The ids of a batch lookup without repeats, in the order asked; more than [`MAX_VARIANT_LOOKUP`] is refused.
fn lookup_ids(mut ids: Vec<String>) -> ServiceResult<Vec<String>> {
    if ids.len() > MAX_VARIANT_LOOKUP {
        return Err(ServiceError::invalid(
            "ids",
            format!("at most {MAX_VARIANT_LOOKUP} ids per call"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

#[derive(Clone, Debug)]
pub struct CatalogApi {
    store: Store,
    keys: TokenKeys,
    default_currency: String,
}

fn money(amount_minor: i64, currency: &str) -> pb::Money {
    pb::Money {
        amount_minor,
        currency: currency.to_owned(),
    }
}

fn json_list<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str(text).unwrap_or_default()
}

fn variant_message(v: VariantRow, currency: &str) -> pb::Variant {
    pb::Variant {
        options: json_list::<OptionPair>(&v.options)
            .into_iter()
            .map(|o| pb::OptionValue {
                name: o.name,
                value: o.value,
            })
            .collect(),
        price: Some(money(v.price_minor, currency)),
        image_urls: json_list(&v.image_urls),
        listed: v.listed == 1,
        id: v.id,
        sku: v.sku,
        stock: v.stock,
    }
}

/// Whether `viewer` may look up a delisted product or variant of `seller_id` by id: its seller, and the shop's own
/// services (the orders service pricing a checkout it will refuse, or an order that already holds it). Anyone else
/// finds no such thing, as with a product page.
fn sees_delisted(viewer: Option<&Principal>, seller_id: &str) -> bool {
    viewer.is_some_and(|v| v.has(Role::Service) || v.user_id == seller_id)
}

/// Shapes a stored product; `full` also shows delisted variants (for the owning seller).
fn product_message(record: ProductRecord, full: bool) -> pb::Product {
    let p = record.product;
    let listed = p.listed == 1;
    let variants: Vec<pb::Variant> = record
        .variants
        .into_iter()
        .filter(|v| full || v.listed == 1)
        .map(|v| variant_message(v, &p.currency))
        .collect();
    let in_stock = listed && variants.iter().any(|v| v.listed && v.stock > 0);
    pb::Product {
        id: p.id,
        seller_id: p.seller_id,
        category_id: p.category_id,
        category_name: p.category_name,
        title: p.title,
        description: p.description,
        image_urls: json_list(&p.image_urls),
        listed,
        min_price: p.min_price.map(|m| money(m, &p.currency)),
        max_price: p.max_price.map(|m| money(m, &p.currency)),
        in_stock,
        variants,
        created_at_ms: p.created_at_ms,
        updated_at_ms: p.updated_at_ms,
        sold_count: p.sold_count,
    }
}

fn reservation_message(record: ReservationRecord) -> pb::Reservation {
    pb::Reservation {
        reservation_id: record.id,
        state: record.state,
        created_at_ms: record.created_at_ms,
        lines: record
            .lines
            .into_iter()
            .map(|l| pb::ReservedLine {
                unit_price: Some(money(l.unit_price, &l.currency)),
                variant_id: l.variant_id,
                product_id: l.product_id,
                seller_id: l.seller_id,
                title: l.title,
                sku: l.sku,
                quantity: l.quantity,
            })
            .collect(),
    }
}

fn reservation_id(value: &str) -> ServiceResult<&str> {
    let id = value.trim();
    tokshop_platform::check_len("reservation_id", id, 1, 64)?;
    Ok(id)
}

fn page_limit(limit: i32) -> ServiceResult<i64> {
    match i64::from(limit) {
        0 => Ok(DEFAULT_PAGE),
        n if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(ServiceError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_PAGE}"),
        )),
    }
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

impl CatalogApi {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            store: Store::new(ctx.db.clone()),
            keys: ctx.keys.clone(),
            default_currency: ctx.settings.shop.currency.clone(),
        }
    }

    fn seller<T>(&self, request: &Request<T>) -> ServiceResult<Principal> {
        let caller = self.keys.require_caller(request)?;
        caller.require(Role::Seller)?;
        Ok(caller)
    }

    /// The product as `viewer` may see it: delisted products exist only for their seller.
    async fn visible_product(
        &self,
        id: &str,
        viewer: Option<&Principal>,
    ) -> ServiceResult<pb::Product> {
        let record = self
            .store
            .get_product(id)
            .await?
            .ok_or(ServiceError::not_found("product"))?;
        let owner = viewer.is_some_and(|v| v.user_id == record.product.seller_id);
        if record.product.listed != 1 && !owner {
            return Err(ServiceError::not_found("product"));
        }
        Ok(product_message(record, owner))
    }

    async fn owned_product(&self, id: &str) -> ServiceResult<pb::Product> {
        let record = self
            .store
            .get_product(id)
            .await?
            .ok_or(ServiceError::not_found("product"))?;
        Ok(product_message(record, true))
    }

    async fn search(
        &self,
        req: pb::SearchProductsRequest,
    ) -> ServiceResult<pb::SearchProductsResponse> {
        let terms = search::terms(&req.query);
        let sort = match pb::SortOrder::try_from(req.sort) {
            Ok(pb::SortOrder::Unspecified) if terms.is_empty() => Sort::Newest,
            Ok(pb::SortOrder::Unspecified | pb::SortOrder::Relevance) => Sort::Relevance,
            Ok(pb::SortOrder::PriceAsc) => Sort::PriceAsc,
            Ok(pb::SortOrder::PriceDesc) => Sort::PriceDesc,
            Ok(pb::SortOrder::Newest) => Sort::Newest,
            Err(_) => return Err(ServiceError::invalid("sort", "unknown sort order")),
        };
        if let Some(min) = req.price_min {
            validate::price("price_min", min)?;
        }
        if let Some(max) = req.price_max {
            validate::price("price_max", max)?;
        }
        if let (Some(min), Some(max)) = (req.price_min, req.price_max)
            && min > max
        {
            return Err(ServiceError::invalid(
                "price_min",
                "price_min must not exceed price_max",
            ));
        }
        let after = non_empty(&req.cursor)
            .map(|c| Cursor::decode(&c, sort))
            .transpose()?;
        let query = SearchQuery {
            terms,
            category_id: non_empty(&req.category_id),
            price_min: req.price_min,
            price_max: req.price_max,
            seller_id: non_empty(&req.seller_id),
            in_stock_only: req.in_stock_only,
            include_delisted: false,
            sort,
            limit: page_limit(req.limit)?,
            after,
        };
        let (records, next) = self.store.search(&query).await?;
        Ok(pb::SearchProductsResponse {
            products: records
                .into_iter()
                .map(|r| product_message(r, false))
                .collect(),
            next_cursor: next.map(|c| c.encode()).unwrap_or_default(),
        })
    }

    async fn list_mine(
        &self,
        seller: &Principal,
        req: pb::ListMyProductsRequest,
    ) -> ServiceResult<pb::ListMyProductsResponse> {
        let after = non_empty(&req.cursor)
            .map(|c| Cursor::decode(&c, Sort::Newest))
            .transpose()?;
        let query = SearchQuery {
            terms: Vec::new(),
            category_id: None,
            price_min: None,
            price_max: None,
            seller_id: Some(seller.user_id.clone()),
            in_stock_only: false,
            include_delisted: true,
            sort: Sort::Newest,
            limit: page_limit(req.limit)?,
            after,
        };
        let (records, next) = self.store.search(&query).await?;
        Ok(pb::ListMyProductsResponse {
            products: records
                .into_iter()
                .map(|r| product_message(r, true))
                .collect(),
            next_cursor: next.map(|c| c.encode()).unwrap_or_default(),
        })
    }

    async fn create_product(
        &self,
        seller: &Principal,
        req: pb::CreateProductRequest,
    ) -> ServiceResult<pb::Product> {
        let title = req.title.trim().to_owned();
        validate::title(&title)?;
        let description = req.description.trim().to_owned();
        validate::description(&description)?;
        let currency = non_empty(&req.currency).unwrap_or_else(|| self.default_currency.clone());
        money::validate_currency(&currency, "currency")?;
        let category_id = non_empty(&req.category_id)
            .ok_or_else(|| ServiceError::invalid("category_id", "category_id is required"))?;
        check_id("category_id", &category_id)?;
        let product = crate::store::NewProduct {
            category_id,
            title,
            description,
            image_urls: validate::image_urls("image_urls", &req.image_urls)?,
            currency,
            variants: validate::variants(&req.variants)?,
        };
        let id = self.store.create_product(&seller.user_id, &product).await?;
        self.owned_product(&id).await
    }

    async fn update_product(
        &self,
        seller: &Principal,
        req: pb::UpdateProductRequest,
    ) -> ServiceResult<pb::Product> {
        let mut changes = ProductChanges::default();
        if let Some(title) = req.title.as_deref().map(str::trim) {
            validate::title(title)?;
            changes.title = Some(title.to_owned());
        }
        if let Some(description) = req.description.as_deref().map(str::trim) {
            validate::description(description)?;
            changes.description = Some(description.to_owned());
        }
        if let Some(category) = req.category_id.as_deref().map(str::trim) {
            check_len("category_id", category, 0, MAX_ID)?;
            changes.category_id = Some(category.to_owned());
        }
        if req.replace_images {
            changes.image_urls = Some(validate::image_urls("image_urls", &req.image_urls)?);
        }
        self.store
            .update_product(&seller.user_id, &req.id, &changes)
            .await?;
        self.owned_product(&req.id).await
    }

    async fn update_variant(
        &self,
        seller: &Principal,
        req: pb::UpdateVariantRequest,
    ) -> ServiceResult<pb::Product> {
        if let Some(price) = req.price_minor {
            validate::price("price_minor", price)?;
        }
        if let Some(stock) = req.stock {
            validate::stock("stock", stock)?;
        }
        let changes = VariantChanges {
            price_minor: req.price_minor,
            stock: req.stock,
            listed: req.listed,
            image_urls: if req.replace_images {
                Some(validate::image_urls("image_urls", &req.image_urls)?)
            } else {
                None
            },
        };
        self.store
            .update_variant(&seller.user_id, &req.product_id, &req.variant_id, &changes)
            .await?;
        self.owned_product(&req.product_id).await
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_categories(
        &self,
        _request: Request<pb::ListCategoriesRequest>,
    ) -> Reply<pb::ListCategoriesResponse> {
        let result = async {
            let rows = self.store.list_categories().await?;
            Ok(pb::ListCategoriesResponse {
                categories: rows
                    .into_iter()
                    .map(|c| pb::Category {
                        id: c.id,
                        parent_id: c.parent_id.unwrap_or_default(),
                        name: c.name,
                        slug: c.slug,
                        depth: i32::try_from(c.depth).unwrap_or(i32::MAX),
                    })
                    .collect(),
            })
        };
        reply(result.await)
    }

    async fn create_category(
        &self,
        request: Request<pb::CreateCategoryRequest>,
    ) -> Reply<pb::Category> {
        let result = async {
            self.keys.require_caller(&request)?.require(Role::Admin)?;
            let req = request.into_inner();
            let name = req.name.trim();
            let slug = req.slug.trim();
            validate::category_name(name)?;
            validate::slug(slug)?;
            let parent = non_empty(&req.parent_id);
            if let Some(parent) = &parent {
                check_id("parent_id", parent)?;
            }
            let row = self
                .store
                .create_category(parent.as_deref(), name, slug)
                .await?;
            Ok(pb::Category {
                id: row.id,
                parent_id: row.parent_id.unwrap_or_default(),
                name: row.name,
                slug: row.slug,
                depth: i32::try_from(row.depth).unwrap_or(i32::MAX),
            })
        };
        reply(result.await)
    }

    async fn search_products(
        &self,
        request: Request<pb::SearchProductsRequest>,
    ) -> Reply<pb::SearchProductsResponse> {
        reply(self.search(request.into_inner()).await)
    }

    async fn get_product(&self, request: Request<pb::GetProductRequest>) -> Reply<pb::Product> {
        let result = async {
            let viewer = self.keys.caller(&request)?;
            self.visible_product(&request.get_ref().id, viewer.as_ref())
                .await
        };
        reply(result.await)
    }

    async fn get_price_history(
        &self,
        request: Request<pb::GetPriceHistoryRequest>,
    ) -> Reply<pb::GetPriceHistoryResponse> {
        let result = async {
            let viewer = self.keys.caller(&request)?;
            let product_id = request.get_ref().product_id.clone();
            // Same visibility as the product itself.
            self.visible_product(&product_id, viewer.as_ref()).await?;
            let rows = self.store.price_history(&product_id).await?;
            Ok(pb::GetPriceHistoryResponse {
                changes: rows
                    .into_iter()
                    .map(|r| pb::PriceChange {
                        variant_id: r.variant_id,
                        price: Some(money(r.price_minor, &r.currency)),
                        changed_at_ms: r.changed_at_ms,
                    })
                    .collect(),
            })
        };
        reply(result.await)
    }

    async fn get_product_cards(
        &self,
        request: Request<pb::GetProductCardsRequest>,
    ) -> Reply<pb::GetProductCardsResponse> {
        let result = async {
            let viewer = self.keys.caller(&request)?;
            let ids = lookup_ids(request.into_inner().ids)?;
            let mut rows: std::collections::HashMap<String, _> = self
                .store
                .product_cards(&ids)
                .await?
                .into_iter()
                .filter(|row| row.listed == 1 || sees_delisted(viewer.as_ref(), &row.seller_id))
                .map(|row| (row.id.clone(), row))
                .collect();
            let cards = ids
                .iter()
                .filter_map(|id| rows.remove(id))
                .map(|row| pb::ProductCard {
                    image_url: json_list::<String>(&row.image_urls)
                        .into_iter()
                        .next()
                        .unwrap_or_default(),
                    min_price: Some(pb::Money {
                        amount_minor: row.min_price,
                        currency: row.currency,
                    }),
                    in_stock: row.in_stock == 1,
                    listed: row.listed == 1,
                    id: row.id,
                    title: row.title,
                    seller_id: row.seller_id,
                })
                .collect();
            Ok(pb::GetProductCardsResponse { cards })
        };
        reply(result.await)
    }

    async fn count_seller_products(
        &self,
        request: Request<pb::CountSellerProductsRequest>,
    ) -> Reply<pb::CountSellerProductsResponse> {
        let result = async {
            let listed = self
                .store
                .count_listed(&request.into_inner().seller_id)
                .await?;
            Ok(pb::CountSellerProductsResponse { listed })
        };
        reply(result.await)
    }

    async fn get_variants(
        &self,
        request: Request<pb::GetVariantsRequest>,
    ) -> Reply<pb::GetVariantsResponse> {
        let result = async {
            let viewer = self.keys.caller(&request)?;
            let ids = lookup_ids(request.into_inner().ids)?;
            let mut rows: std::collections::HashMap<String, _> = self
                .store
                .variant_details(&ids)
                .await?
                .into_iter()
                .filter(|row| {
                    (row.product_listed == 1 && row.variant.listed == 1)
                        || sees_delisted(viewer.as_ref(), &row.seller_id)
                })
                .map(|row| (row.variant.id.clone(), row))
                .collect();
            let variants = ids
                .iter()
                .filter_map(|id| rows.remove(id))
                .map(|row| pb::VariantDetail {
                    buyable: row.product_listed == 1 && row.variant.listed == 1,
                    image_url: json_list::<String>(&row.variant.image_urls)
                        .into_iter()
                        .chain(json_list::<String>(&row.product_images))
                        .next()
                        .unwrap_or_default(),
                    product_id: row.variant.product_id.clone(),
                    product_title: row.title,
                    seller_id: row.seller_id,
                    category_id: row.category_id,
                    variant: Some(variant_message(row.variant, &row.currency)),
                })
                .collect();
            Ok(pb::GetVariantsResponse { variants })
        };
        reply(result.await)
    }

    async fn create_product(
        &self,
        request: Request<pb::CreateProductRequest>,
    ) -> Reply<pb::Product> {
        let result = async {
            let seller = self.seller(&request)?;
            CatalogApi::create_product(self, &seller, request.into_inner()).await
        };
        reply(result.await)
    }

    async fn update_product(
        &self,
        request: Request<pb::UpdateProductRequest>,
    ) -> Reply<pb::Product> {
        let result = async {
            let seller = self.seller(&request)?;
            CatalogApi::update_product(self, &seller, request.into_inner()).await
        };
        reply(result.await)
    }

    async fn set_product_listed(
        &self,
        request: Request<pb::SetProductListedRequest>,
    ) -> Reply<pb::Product> {
        let result = async {
            let seller = self.seller(&request)?;
            let req = request.into_inner();
            self.store
                .set_listed(&seller.user_id, &req.id, req.listed)
                .await?;
            self.owned_product(&req.id).await
        };
        reply(result.await)
    }

    async fn add_variant(&self, request: Request<pb::AddVariantRequest>) -> Reply<pb::Product> {
        let result = async {
            let seller = self.seller(&request)?;
            let req = request.into_inner();
            let input = req
                .variant
                .ok_or_else(|| ServiceError::invalid("variant", "variant is required"))?;
            let variant = validate::variant("", &input)?;
            self.store
                .add_variant(&seller.user_id, &req.product_id, &variant)
                .await?;
            self.owned_product(&req.product_id).await
        };
        reply(result.await)
    }

    async fn update_variant(
        &self,
        request: Request<pb::UpdateVariantRequest>,
    ) -> Reply<pb::Product> {
        let result = async {
            let seller = self.seller(&request)?;
            CatalogApi::update_variant(self, &seller, request.into_inner()).await
        };
        reply(result.await)
    }

    async fn reserve_stock(
        &self,
        request: Request<pb::ReserveStockRequest>,
    ) -> Reply<pb::Reservation> {
        let result = async {
            self.keys.require_caller(&request)?.require(Role::Service)?;
            let req = request.into_inner();
            let id = reservation_id(&req.reservation_id)?;
            let asked: Vec<(String, i64)> = req
                .lines
                .into_iter()
                .map(|l| (l.variant_id, l.quantity))
                .collect();
            let lines = reservations::merge_lines(&asked)?;
            let record = reservations::reserve(self.store.db(), id, &lines).await?;
            Ok(reservation_message(record))
        };
        reply(result.await)
    }

    async fn release_reservation(
        &self,
        request: Request<pb::ReleaseReservationRequest>,
    ) -> Reply<pb::Reservation> {
        let result = async {
            self.keys.require_caller(&request)?.require(Role::Service)?;
            let id = reservation_id(&request.get_ref().reservation_id)?.to_owned();
            let record = reservations::release(self.store.db(), &id).await?;
            Ok(reservation_message(record))
        };
        reply(result.await)
    }

    async fn record_sales(
        &self,
        request: Request<pb::RecordSalesRequest>,
    ) -> Reply<pb::RecordSalesResponse> {
        let result = async {
            self.keys.require_caller(&request)?.require(Role::Service)?;
            let req = request.into_inner();
            let event_id = req.event_id.trim();
            tokshop_platform::check_len("event_id", event_id, 1, 64)?;
            let lines: Vec<(String, i64)> = req
                .lines
                .into_iter()
                .map(|l| (l.product_id, l.quantity))
                .collect();
            let applied = reservations::record_sales(self.store.db(), event_id, &lines).await?;
            Ok(pb::RecordSalesResponse { applied })
        };
        reply(result.await)
    }

    async fn list_my_products(
        &self,
        request: Request<pb::ListMyProductsRequest>,
    ) -> Reply<pb::ListMyProductsResponse> {
        let result = async {
            let seller = self.seller(&request)?;
            self.list_mine(&seller, request.into_inner()).await
        };
        reply(result.await)
    }
}
