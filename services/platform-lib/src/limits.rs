//! The bounds on what clients may send. The services enforce them; the REST API's OpenAPI document states the
//! same numbers, and the gateway's tests check that it does. Lengths count characters, after trimming where the
//! service trims.

/// The longest id accepted where a client names a thing. The shop's ids (`prd_` and 32 hex digits) are 36
/// characters, so a longer value names nothing and is refused before any lookup.
pub const MAX_ID: usize = 64;

/// The longest http(s) URL a client may give (avatars, product images).
pub const MAX_URL: usize = 2048;

/// An ISO 4217 currency code.
pub const CURRENCY_LEN: usize = 3;

/// The latest instant a client may name: the last millisecond of 9999-12-31 UTC, the last one RFC 3339 can
/// write.
pub const MAX_TIMESTAMP_MS: i64 = 253_402_300_799_999;

/// Checks that `id` is 1 to [`MAX_ID`] characters; the error names `param`.
pub fn check_id(param: &str, id: &str) -> crate::ServiceResult<()> {
    crate::check_len(param, id, 1, MAX_ID)
}

/// Accounts and profiles.
pub mod account {
    pub const MIN_USERNAME: usize = 3;
    pub const MAX_USERNAME: usize = 32;
    /// In bytes, as RFC 5321 counts them.
    pub const MAX_EMAIL: usize = 254;
    pub const MIN_PASSWORD: usize = 8;
    pub const MAX_PASSWORD: usize = 128;
    /// A sign-in name: a username or an email address.
    pub const MAX_LOGIN: usize = MAX_EMAIL;
    /// The refresh tokens the shop issues are 43 characters (256 random bits, base64url).
    pub const MAX_REFRESH_TOKEN: usize = 64;
    pub const MAX_DISPLAY_NAME: usize = 64;
    pub const MAX_BIO: usize = 500;
    pub const MIN_SHOP_NAME: usize = 2;
    pub const MAX_SHOP_NAME: usize = 64;
}

/// Shipping addresses.
pub mod address {
    pub const MAX_RECIPIENT: usize = 100;
    pub const MAX_PHONE: usize = 32;
    /// `line1` and `line2`.
    pub const MAX_LINE: usize = 200;
    pub const MAX_CITY: usize = 100;
    pub const MAX_REGION: usize = 100;
    pub const MAX_POSTAL_CODE: usize = 20;
    /// ISO 3166-1 alpha-2.
    pub const COUNTRY_LEN: usize = 2;
}

/// Categories, products and variants.
pub mod catalog {
    pub const MAX_CATEGORY_NAME: usize = 64;
    pub const MAX_SLUG: usize = 64;
    pub const MAX_TITLE: usize = 200;
    pub const MAX_DESCRIPTION: usize = 5000;
    /// Images of one product or one variant.
    pub const MAX_IMAGES: usize = 10;
    pub const MAX_VARIANTS: usize = 50;
    pub const MAX_SKU: usize = 64;
    /// Options of one variant (colour, size, ...).
    pub const MAX_OPTIONS: usize = 5;
    pub const MAX_OPTION_NAME: usize = 32;
    pub const MAX_OPTION_VALUE: usize = 64;
    /// Highest price accepted, in minor units (ten million of the major unit).
    pub const MAX_PRICE_MINOR: i64 = 1_000_000_000;
    pub const MAX_STOCK: i64 = 10_000_000;
}

/// The cart.
pub mod cart {
    /// Most units of one variant in a cart.
    pub const MAX_QUANTITY: i64 = 99;
    /// Most lines in one cart.
    pub const MAX_LINES: usize = 100;
}

/// Checkout, orders and returns.
pub mod orders {
    /// Most lines in one order or one return.
    pub const MAX_LINES: usize = 100;
    /// Most units of one order line: what a cart line may hold.
    pub const MAX_QUANTITY: i64 = super::cart::MAX_QUANTITY;
    pub const MAX_TRACKING_NUMBER: usize = 64;
    pub const MAX_CARRIER: usize = 64;
    pub const MAX_RETURN_REASON: usize = 500;
}

/// Seller coupons.
pub mod coupons {
    pub const MIN_CODE: usize = 3;
    pub const MAX_CODE: usize = 32;
    pub const MAX_TITLE: usize = 100;
    pub const MAX_PERCENT_OFF: i32 = 100;
    /// Neither the amount a coupon takes off nor the spend it asks for exceeds the highest price a variant may have.
    pub const MAX_AMOUNT_OFF: i64 = super::catalog::MAX_PRICE_MINOR;
    pub const MAX_MIN_SPEND: i64 = super::catalog::MAX_PRICE_MINOR;
    /// Most units of one coupon.
    pub const MAX_QUANTITY: i64 = 1_000_000;
    pub const MAX_PER_USER: i64 = 100;
}

/// Cards, top-ups and payments.
pub mod payments {
    /// A card number has 12 to 19 digits; spaces and hyphens between them are allowed, up to this many characters
    /// in all.
    pub const MIN_CARD_NUMBER: usize = 12;
    pub const MAX_CARD_NUMBER: usize = 32;
    pub const MIN_CVC: usize = 3;
    pub const MAX_CVC: usize = 4;
    /// The latest expiry year accepted; an expiry month already past is refused too.
    pub const MAX_EXP_YEAR: i32 = 2100;
    /// The largest single top-up, in minor units.
    pub const MAX_TOP_UP: i64 = 100_000_000;
}

/// Posts, comments and direct messages.
pub mod social {
    pub const MAX_POST_TEXT: usize = 2000;
    /// Most media and most linked products one post may carry.
    pub const MAX_ATTACHED: usize = 9;
    /// A media id is `med_` and the SHA-256 of the content in hex.
    pub const MEDIA_ID_LEN: usize = 68;
    pub const MAX_COMMENT: usize = 500;
    pub const MAX_MESSAGE: usize = 1000;
}
