//! Input rules for accounts, profiles and addresses. Each failure names the field it is about.

use tokshop_platform::{
    ServiceError, ServiceResult, check_len, check_url,
    limits::{account::*, address::*},
};
use tokshop_proto::identity::AddressFields;

pub fn username(value: &str) -> ServiceResult<()> {
    let len = value.chars().count();
    if !(MIN_USERNAME..=MAX_USERNAME).contains(&len)
        || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ServiceError::invalid(
            "username",
            format!(
                "username must be {MIN_USERNAME} to {MAX_USERNAME} letters, digits or underscores"
            ),
        ));
    }
    Ok(())
}

pub fn email(value: &str) -> ServiceResult<()> {
    let invalid =
        || ServiceError::invalid("email", "email must be an address like name@example.com");
    if value.len() > MAX_EMAIL || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(invalid());
    }
    Ok(())
}

pub fn password(value: &str) -> ServiceResult<()> {
    let len = value.chars().count();
    if len < MIN_PASSWORD {
        return Err(ServiceError::invalid(
            "password",
            format!("password must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if len > MAX_PASSWORD {
        return Err(ServiceError::invalid(
            "password",
            format!("password must be at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// A sign-in attempt's name and password: no longer than any account's could be, so an oversized one is refused
/// before any lookup or hashing.
pub fn sign_in(login: &str, password: &str) -> ServiceResult<()> {
    if login.chars().count() > MAX_LOGIN {
        return Err(ServiceError::invalid(
            "login",
            format!("login must be at most {MAX_LOGIN} characters"),
        ));
    }
    if password.chars().count() > MAX_PASSWORD {
        return Err(ServiceError::invalid(
            "password",
            format!("password must be at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// A presented refresh token: no longer than the ones the shop issues could be.
pub fn refresh_token(value: &str) -> ServiceResult<()> {
    if value.chars().count() > MAX_REFRESH_TOKEN {
        return Err(ServiceError::invalid(
            "refresh_token",
            format!("refresh_token must be at most {MAX_REFRESH_TOKEN} characters"),
        ));
    }
    Ok(())
}

pub fn display_name(value: &str) -> ServiceResult<()> {
    check_len("display_name", value, 0, MAX_DISPLAY_NAME)
}

pub fn bio(value: &str) -> ServiceResult<()> {
    check_len("bio", value, 0, MAX_BIO)
}

pub fn avatar_url(value: &str) -> ServiceResult<()> {
    check_url("avatar_url", value)
}

pub fn shop_name(value: &str) -> ServiceResult<()> {
    check_len("shop_name", value.trim(), MIN_SHOP_NAME, MAX_SHOP_NAME)
}

/// A complete address: every required field present and each within bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct AddressInput {
    pub recipient: String,
    pub phone: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

impl AddressInput {
    /// `fields` laid over `base` (empty for a new address), then checked as a whole.
    pub fn merge(base: Option<AddressInput>, fields: AddressFields) -> ServiceResult<Self> {
        let base = base.unwrap_or_default();
        let pick =
            |new: Option<String>, old: String| new.map(|v| v.trim().to_owned()).unwrap_or(old);
        let input = AddressInput {
            recipient: pick(fields.recipient, base.recipient),
            phone: pick(fields.phone, base.phone),
            line1: pick(fields.line1, base.line1),
            line2: pick(fields.line2, base.line2),
            city: pick(fields.city, base.city),
            region: pick(fields.region, base.region),
            postal_code: pick(fields.postal_code, base.postal_code),
            country: pick(fields.country, base.country).to_ascii_uppercase(),
        };
        input.check()?;
        Ok(input)
    }

    fn check(&self) -> ServiceResult<()> {
        check_len("recipient", &self.recipient, 1, MAX_RECIPIENT)?;
        check_len("phone", &self.phone, 0, MAX_PHONE)?;
        if !self
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
        {
            return Err(ServiceError::invalid(
                "phone",
                "phone may hold digits, spaces and + - ( ) only",
            ));
        }
        check_len("line1", &self.line1, 1, MAX_LINE)?;
        check_len("line2", &self.line2, 0, MAX_LINE)?;
        check_len("city", &self.city, 1, MAX_CITY)?;
        check_len("region", &self.region, 0, MAX_REGION)?;
        check_len("postal_code", &self.postal_code, 1, MAX_POSTAL_CODE)?;
        if self.country.len() != COUNTRY_LEN
            || !self.country.chars().all(|c| c.is_ascii_uppercase())
        {
            return Err(ServiceError::invalid(
                "country",
                "country must be a two-letter ISO 3166 code such as US",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username("ann_42").is_ok());
        for bad in ["ab", "a-b-c", "with space", &"x".repeat(33), "émile"] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(email("ann@example.com").is_ok());
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    fn param_of<T: std::fmt::Debug>(result: ServiceResult<T>) -> String {
        match result {
            Err(ServiceError::Invalid { param, .. }) => param,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn passwords_sign_ins_and_tokens_are_bounded() {
        assert!(password(&"p".repeat(MIN_PASSWORD)).is_ok());
        assert_eq!(
            param_of(password(&"p".repeat(MIN_PASSWORD - 1))),
            "password"
        );
        assert_eq!(
            param_of(password(&"p".repeat(MAX_PASSWORD + 1))),
            "password"
        );
        assert!(sign_in("ann", "anything at all").is_ok());
        assert_eq!(param_of(sign_in(&"a".repeat(MAX_LOGIN + 1), "x")), "login");
        assert_eq!(
            param_of(sign_in("ann", &"p".repeat(MAX_PASSWORD + 1))),
            "password"
        );
        assert!(refresh_token(&"t".repeat(MAX_REFRESH_TOKEN)).is_ok());
        assert_eq!(
            param_of(refresh_token(&"t".repeat(MAX_REFRESH_TOKEN + 1))),
            "refresh_token"
        );
    }

    #[test]
    fn profiles_and_shop_names() {
        assert!(display_name("").is_ok());
        assert_eq!(
            param_of(display_name(&"n".repeat(MAX_DISPLAY_NAME + 1))),
            "display_name"
        );
        assert_eq!(param_of(bio("line\u{7}bell")), "bio");
        assert!(bio("two\nlines").is_ok());
        assert!(avatar_url("").is_ok());
        assert!(avatar_url("https://cdn.example.com/a.png").is_ok());
        assert_eq!(param_of(avatar_url("javascript:alert(1)")), "avatar_url");
        assert!(shop_name("Trail Shop").is_ok());
        assert_eq!(param_of(shop_name(" x ")), "shop_name");
        assert_eq!(
            param_of(shop_name(&"s".repeat(MAX_SHOP_NAME + 1))),
            "shop_name"
        );
    }

    #[test]
    fn address_changes_are_laid_over_the_stored_address_and_checked_whole() {
        let stored = AddressInput {
            recipient: "Ann".into(),
            phone: "+1 (555) 010-0000".into(),
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            postal_code: "12345".into(),
            country: "US".into(),
            ..Default::default()
        };
        let moved = AddressInput::merge(
            Some(stored.clone()),
            AddressFields {
                city: Some("  Shelbyville ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(moved.city, "Shelbyville");
        assert_eq!(
            (moved.line1.as_str(), moved.recipient.as_str()),
            ("1 Main St", "Ann")
        );
        let cleared = AddressInput::merge(
            Some(stored.clone()),
            AddressFields {
                line1: Some(" ".into()),
                ..Default::default()
            },
        );
        assert_eq!(param_of(cleared), "line1");
        let phone = AddressInput::merge(
            Some(stored.clone()),
            AddressFields {
                phone: Some("call me".into()),
                ..Default::default()
            },
        );
        assert_eq!(param_of(phone), "phone");
        for country in ["USA", "U1", ""] {
            let bad = AddressInput::merge(
                Some(stored.clone()),
                AddressFields {
                    country: Some(country.into()),
                    ..Default::default()
                },
            );
            assert_eq!(param_of(bad), "country", "{country:?}");
        }
    }

    #[test]
    fn addresses_need_required_fields() {
        let missing = AddressInput::merge(None, AddressFields::default());
        assert!(
            matches!(missing, Err(ServiceError::Invalid { param, .. }) if param == "recipient")
        );
        let ok = AddressInput::merge(
            None,
            AddressFields {
                recipient: Some("Ann".into()),
                line1: Some("1 Main St".into()),
                city: Some("Springfield".into()),
                postal_code: Some("12345".into()),
                country: Some("us".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(ok.country, "US");
    }
}
