//! Input rules for accounts, profiles and addresses. Each failure names the field it is about.

use tokshop_platform::{ServiceError, ServiceResult, check_len, check_url, limits::account::*};

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
}
