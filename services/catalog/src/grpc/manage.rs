//! Changing the catalog: admins add categories; sellers list their own products, create and edit them, list and
//! delist them, and manage their variants. The store checks that a seller changes only their own products.

use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::{Principal, Role},
    check_len,
    limits::{MAX_ID, check_id},
    money, non_empty, page,
};
use tokshop_proto::catalog as pb;

use super::{
    CatalogApi,
    views::{category_message, product_message},
};
use crate::{
    search::{Cursor, SearchQuery, Sort},
    store::{NewProduct, ProductChanges, VariantChanges},
    validate,
};

/// The caller, if they are a seller.
fn seller(caller: Principal) -> ServiceResult<Principal> {
    caller.require(Role::Seller)?;
    Ok(caller)
}

impl CatalogApi {
    /// A product as its seller sees it, delisted variants included.
    async fn owned_product(&self, id: &str) -> ServiceResult<pb::Product> {
        let record = self
            .store
            .get_product(id)
            .await?
            .ok_or(ServiceError::not_found("product"))?;
        Ok(product_message(record, true))
    }

    pub(super) async fn add_category(
        &self,
        caller: Principal,
        req: pb::CreateCategoryRequest,
    ) -> ServiceResult<pb::Category> {
        caller.require(Role::Admin)?;
        let name = req.name.trim();
        let slug = req.slug.trim();
        validate::category_name(name)?;
        validate::slug(slug)?;
        let parent = non_empty(req.parent_id.trim());
        if let Some(parent) = parent {
            check_id("parent_id", parent)?;
        }
        let row = self.store.create_category(parent, name, slug).await?;
        Ok(category_message(row))
    }

    pub(super) async fn list_mine(
        &self,
        caller: Principal,
        req: pb::ListMyProductsRequest,
    ) -> ServiceResult<pb::ListMyProductsResponse> {
        let seller = seller(caller)?;
        let after = non_empty(req.cursor.trim())
            .map(|c| Cursor::decode(c, Sort::Newest))
            .transpose()?;
        let query = SearchQuery {
            terms: Vec::new(),
            category_id: None,
            price_min: None,
            price_max: None,
            seller_id: Some(seller.user_id),
            in_stock_only: false,
            include_delisted: true,
            sort: Sort::Newest,
            limit: page::limit(req.limit)?,
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

    pub(super) async fn new_product(
        &self,
        caller: Principal,
        req: pb::CreateProductRequest,
    ) -> ServiceResult<pb::Product> {
        let seller = seller(caller)?;
        let title = req.title.trim().to_owned();
        validate::title(&title)?;
        let description = req.description.trim().to_owned();
        validate::description(&description)?;
        let currency = non_empty(req.currency.trim())
            .map_or_else(|| self.default_currency.clone(), str::to_owned);
        money::validate_currency(&currency, "currency")?;
        let category_id = non_empty(req.category_id.trim())
            .ok_or_else(|| ServiceError::invalid("category_id", "category_id is required"))?
            .to_owned();
        check_id("category_id", &category_id)?;
        let product = NewProduct {
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

    pub(super) async fn edit_product(
        &self,
        caller: Principal,
        req: pb::UpdateProductRequest,
    ) -> ServiceResult<pb::Product> {
        let seller = seller(caller)?;
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

    pub(super) async fn list_or_delist(
        &self,
        caller: Principal,
        req: pb::SetProductListedRequest,
    ) -> ServiceResult<pb::Product> {
        let seller = seller(caller)?;
        self.store
            .set_listed(&seller.user_id, &req.id, req.listed)
            .await?;
        self.owned_product(&req.id).await
    }

    pub(super) async fn new_variant(
        &self,
        caller: Principal,
        req: pb::AddVariantRequest,
    ) -> ServiceResult<pb::Product> {
        let seller = seller(caller)?;
        let input = req
            .variant
            .ok_or_else(|| ServiceError::invalid("variant", "variant is required"))?;
        let variant = validate::variant("", &input)?;
        self.store
            .add_variant(&seller.user_id, &req.product_id, &variant)
            .await?;
        self.owned_product(&req.product_id).await
    }

    pub(super) async fn edit_variant(
        &self,
        caller: Principal,
        req: pb::UpdateVariantRequest,
    ) -> ServiceResult<pb::Product> {
        let seller = seller(caller)?;
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
