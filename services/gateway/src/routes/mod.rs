//! One module per resource; each owns the JSON shapes only it uses (shared ones are in `crate::shapes`) and returns
//! an `OpenApiRouter` so routes and docs stay together. Handlers are written with `crate::handler` (its prelude,
//! and `respond` / `created` for a service's reply). No route module uses another.

pub mod addresses;
pub mod auth;
pub mod cart;
pub mod categories;
pub mod chat;
pub mod coupons;
pub mod health;
pub mod interactions;
pub mod me;
pub mod media;
pub mod messages;
pub mod orders;
pub mod payments;
pub mod posts;
pub mod products;
pub mod relations;
pub mod seller;
pub mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every route of the gateway, documented.
pub fn all() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(addresses::router())
        .merge(users::router())
        .merge(seller::router())
        .merge(categories::router())
        .merge(products::router())
        .merge(cart::router())
        .merge(chat::router())
        .merge(coupons::router())
        .merge(orders::router())
        .merge(payments::router())
        .merge(messages::router())
        .merge(relations::router())
        .merge(interactions::router())
        .merge(posts::router())
        .merge(media::router())
        .merge(health::router())
}

/// The limits the document states for request fields are the ones the services enforce: `#[schema]` attributes
/// take only literals, so this holds each literal to its constant in `tokshop_platform::limits`.
#[cfg(test)]
mod limits {
    use serde_json::Value;
    use tokshop_platform::limits::{
        CURRENCY_LEN, MAX_ID, MAX_TIMESTAMP_MS, MAX_URL, account, address, cart, catalog, coupons,
        orders, payments, social,
    };

    fn n(value: impl TryInto<i64>) -> Option<i64> {
        value.try_into().ok()
    }

    /// `(schema, property, lower bound, upper bound)`, `None` where the document states none; `field[]` is the
    /// array's items. The bounds are lengths for strings, item counts for arrays, values for integers.
    #[rustfmt::skip]
    fn stated() -> Vec<(&'static str, &'static str, Option<i64>, Option<i64>)> {
        let mut rows = Vec::new();
        for schema in ["NewAddress", "AddressPatch"] {
            rows.extend([
                (schema, "recipient", n(1), n(address::MAX_RECIPIENT)),
                (schema, "phone", None, n(address::MAX_PHONE)),
                (schema, "line1", n(1), n(address::MAX_LINE)),
                (schema, "line2", None, n(address::MAX_LINE)),
                (schema, "city", n(1), n(address::MAX_CITY)),
                (schema, "region", None, n(address::MAX_REGION)),
                (schema, "postal_code", n(1), n(address::MAX_POSTAL_CODE)),
                (schema, "country", n(address::COUNTRY_LEN), n(address::COUNTRY_LEN)),
            ]);
        }
        for schema in ["NewVariant", "NewProduct", "ProductPatch", "VariantPatch"] {
            rows.extend([
                (schema, "image_urls", None, n(catalog::MAX_IMAGES)),
                (schema, "image_urls[]", n(1), n(MAX_URL)),
            ]);
        }
        rows.extend([
            ("RegisterRequest", "username", n(account::MIN_USERNAME), n(account::MAX_USERNAME)),
            ("RegisterRequest", "email", None, n(account::MAX_EMAIL)),
            ("RegisterRequest", "password", n(account::MIN_PASSWORD), n(account::MAX_PASSWORD)),
            ("RegisterRequest", "display_name", None, n(account::MAX_DISPLAY_NAME)),
            ("LoginRequest", "login", None, n(account::MAX_LOGIN)),
            ("LoginRequest", "password", None, n(account::MAX_PASSWORD)),
            ("RefreshTokenRequest", "refresh_token", None, n(account::MAX_REFRESH_TOKEN)),
            ("UpdateProfileRequest", "display_name", None, n(account::MAX_DISPLAY_NAME)),
            ("UpdateProfileRequest", "avatar_url", None, n(MAX_URL)),
            ("UpdateProfileRequest", "bio", None, n(account::MAX_BIO)),
            ("OnboardingRequest", "shop_name", n(account::MIN_SHOP_NAME), n(account::MAX_SHOP_NAME)),
            ("AddItem", "variant_id", None, n(MAX_ID)),
            ("AddItem", "quantity", n(1), n(cart::MAX_QUANTITY)),
            ("SetQuantity", "quantity", n(1), n(cart::MAX_QUANTITY)),
            ("NewCategory", "name", n(1), n(catalog::MAX_CATEGORY_NAME)),
            ("NewCategory", "slug", n(1), n(catalog::MAX_SLUG)),
            ("NewCategory", "parent_id", None, n(MAX_ID)),
            ("NewProduct", "category_id", n(1), n(MAX_ID)),
            ("NewProduct", "title", n(1), n(catalog::MAX_TITLE)),
            ("NewProduct", "description", None, n(catalog::MAX_DESCRIPTION)),
            ("NewProduct", "currency", n(CURRENCY_LEN), n(CURRENCY_LEN)),
            ("NewProduct", "variants", n(1), n(catalog::MAX_VARIANTS)),
            ("NewVariant", "sku", n(1), n(catalog::MAX_SKU)),
            ("NewVariant", "options", None, n(catalog::MAX_OPTIONS)),
            ("NewVariant", "price_minor", n(0), n(catalog::MAX_PRICE_MINOR)),
            ("NewVariant", "stock", n(0), n(catalog::MAX_STOCK)),
            ("OptionValue", "name", n(1), n(catalog::MAX_OPTION_NAME)),
            ("OptionValue", "value", n(1), n(catalog::MAX_OPTION_VALUE)),
            ("ProductPatch", "category_id", n(1), n(MAX_ID)),
            ("ProductPatch", "title", n(1), n(catalog::MAX_TITLE)),
            ("ProductPatch", "description", None, n(catalog::MAX_DESCRIPTION)),
            ("VariantPatch", "price_minor", n(0), n(catalog::MAX_PRICE_MINOR)),
            ("VariantPatch", "stock", n(0), n(catalog::MAX_STOCK)),
            ("CreateCoupon", "code", n(coupons::MIN_CODE), n(coupons::MAX_CODE)),
            ("CreateCoupon", "title", n(1), n(coupons::MAX_TITLE)),
            ("CreateCoupon", "amount_off", n(1), n(coupons::MAX_AMOUNT_OFF)),
            ("CreateCoupon", "percent_off", n(1), n(coupons::MAX_PERCENT_OFF)),
            ("CreateCoupon", "currency", n(CURRENCY_LEN), n(CURRENCY_LEN)),
            ("CreateCoupon", "min_spend", n(0), n(coupons::MAX_MIN_SPEND)),
            ("CreateCoupon", "scope_id", None, n(MAX_ID)),
            ("CreateCoupon", "valid_from_ms", n(0), n(MAX_TIMESTAMP_MS)),
            ("CreateCoupon", "valid_until_ms", n(0), n(MAX_TIMESTAMP_MS)),
            ("CreateCoupon", "total_quantity", n(1), n(coupons::MAX_QUANTITY)),
            ("CreateCoupon", "per_user_limit", n(1), n(coupons::MAX_PER_USER)),
            ("LineChoice", "variant_id", n(1), n(MAX_ID)),
            ("LineChoice", "quantity", n(1), n(orders::MAX_QUANTITY)),
            ("CheckoutBody", "items", None, n(orders::MAX_LINES)),
            ("CheckoutBody", "cart_variant_ids", None, n(orders::MAX_LINES)),
            ("CheckoutBody", "cart_variant_ids[]", n(1), n(MAX_ID)),
            ("CheckoutBody", "address_id", None, n(MAX_ID)),
            ("CheckoutBody", "claimed_coupon_id", None, n(MAX_ID)),
            ("ChangeAddressBody", "address_id", n(1), n(MAX_ID)),
            ("ShipBody", "tracking_number", n(1), n(orders::MAX_TRACKING_NUMBER)),
            ("ShipBody", "carrier", None, n(orders::MAX_CARRIER)),
            ("ReturnBody", "lines", n(1), n(orders::MAX_LINES)),
            ("ReturnBody", "reason", n(1), n(orders::MAX_RETURN_REASON)),
            ("AddCard", "number", n(payments::MIN_CARD_NUMBER), n(payments::MAX_CARD_NUMBER)),
            ("AddCard", "exp_month", n(1), n(12)),
            // Any year already past is refused; 2000 is only a floor that stays true.
            ("AddCard", "exp_year", n(2000), n(payments::MAX_EXP_YEAR)),
            ("AddCard", "cvc", n(payments::MIN_CVC), n(payments::MAX_CVC)),
            ("TopUp", "payment_method_id", None, n(MAX_ID)),
            ("TopUp", "amount_minor", n(1), n(payments::MAX_TOP_UP)),
            ("TopUp", "currency", n(CURRENCY_LEN), n(CURRENCY_LEN)),
            ("PayBody", "payment_method_id", None, n(MAX_ID)),
            ("PublishPost", "text", None, n(social::MAX_POST_TEXT)),
            ("PublishPost", "media_ids", None, n(social::MAX_ATTACHED)),
            ("PublishPost", "media_ids[]", None, n(social::MEDIA_ID_LEN)),
            ("PublishPost", "product_ids", None, n(social::MAX_ATTACHED)),
            ("PublishPost", "product_ids[]", None, n(MAX_ID)),
            ("NewComment", "text", n(1), n(social::MAX_COMMENT)),
            ("SendDirectMessage", "to_user_id", n(1), n(MAX_ID)),
            ("SendDirectMessage", "text", n(1), n(social::MAX_MESSAGE)),
        ]);
        rows
    }

    #[test]
    fn stated_limits_are_the_enforced_ones() {
        let document = serde_json::to_value(super::all().into_openapi()).unwrap();
        let mut wrong = Vec::new();
        for (schema, field, min, max) in stated() {
            let (name, items) = match field.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (field, false),
            };
            let mut property = &document["components"]["schemas"][schema]["properties"][name];
            if items {
                property = &property["items"];
            }
            let types: Vec<&str> = match &property["type"] {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let keywords = if types.contains(&"array") {
                ("minItems", "maxItems")
            } else if types.contains(&"string") {
                ("minLength", "maxLength")
            } else if types.contains(&"integer") {
                ("minimum", "maximum")
            } else {
                wrong.push(format!("{schema}.{field}: not in the document"));
                continue;
            };
            for (keyword, expected) in [(keywords.0, min), (keywords.1, max)] {
                let stated = property[keyword].as_i64();
                if stated != expected {
                    wrong.push(format!("{schema}.{field}: {keyword} is {stated:?}, the services enforce {expected:?}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
