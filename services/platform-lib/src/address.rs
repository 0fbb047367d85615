//! The postal address: one shape, with its rules, for the address book (identity), the shipping address an order
//! copies (orders) and the REST API (gateway, with the `openapi` feature).

use serde::{Deserialize, Serialize};
use tokshop_proto::{identity, order};

use crate::{ServiceError, ServiceResult, check_len, limits::address::*};

/// A complete address: every required field present and each within bounds (see [`PostalAddress::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostalAddress {
    pub recipient: String,
    pub phone: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

impl PostalAddress {
    /// `fields` laid over `base` (empty for a new address), trimmed, then checked as a whole.
    pub fn merge(
        base: Option<PostalAddress>,
        fields: identity::AddressFields,
    ) -> ServiceResult<Self> {
        let base = base.unwrap_or_default();
        let pick =
            |new: Option<String>, old: String| new.map(|v| v.trim().to_owned()).unwrap_or(old);
        let address = PostalAddress {
            recipient: pick(fields.recipient, base.recipient),
            phone: pick(fields.phone, base.phone),
            line1: pick(fields.line1, base.line1),
            line2: pick(fields.line2, base.line2),
            city: pick(fields.city, base.city),
            region: pick(fields.region, base.region),
            postal_code: pick(fields.postal_code, base.postal_code),
            country: pick(fields.country, base.country).to_ascii_uppercase(),
        };
        address.check()?;
        Ok(address)
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

    /// The address book entry as it travels in the identity API.
    pub fn into_book_entry(
        self,
        id: String,
        is_default: bool,
        created_at_ms: i64,
    ) -> identity::Address {
        identity::Address {
            id,
            recipient: self.recipient,
            phone: self.phone,
            line1: self.line1,
            line2: self.line2,
            city: self.city,
            region: self.region,
            postal_code: self.postal_code,
            country: self.country,
            is_default,
            created_at_ms,
        }
    }

    /// The copy an order keeps, naming the address book entry it came from.
    pub fn into_shipping(self, address_id: String) -> order::ShippingAddress {
        order::ShippingAddress {
            recipient: self.recipient,
            phone: self.phone,
            line1: self.line1,
            line2: self.line2,
            city: self.city,
            region: self.region,
            postal_code: self.postal_code,
            country: self.country,
            address_id,
        }
    }
}

/// The address fields of the proto messages that carry one.
macro_rules! postal_from {
    ($($message:ty),+) => {$(
        impl From<$message> for PostalAddress {
            fn from(a: $message) -> Self {
                Self {
                    recipient: a.recipient,
                    phone: a.phone,
                    line1: a.line1,
                    line2: a.line2,
                    city: a.city,
                    region: a.region,
                    postal_code: a.postal_code,
                    country: a.country,
                }
            }
        }
    )+};
}

postal_from!(identity::Address, order::ShippingAddress);

#[cfg(test)]
mod tests {
    use tokshop_proto::identity::AddressFields;

    use super::*;

    fn param_of<T: std::fmt::Debug>(result: ServiceResult<T>) -> String {
        match result {
            Err(ServiceError::Invalid { param, .. }) => param,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn address_changes_are_laid_over_the_stored_address_and_checked_whole() {
        let stored = PostalAddress {
            recipient: "Ann".into(),
            phone: "+1 (555) 010-0000".into(),
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            postal_code: "12345".into(),
            country: "US".into(),
            ..Default::default()
        };
        let moved = PostalAddress::merge(
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
        let cleared = PostalAddress::merge(
            Some(stored.clone()),
            AddressFields {
                line1: Some(" ".into()),
                ..Default::default()
            },
        );
        assert_eq!(param_of(cleared), "line1");
        let phone = PostalAddress::merge(
            Some(stored.clone()),
            AddressFields {
                phone: Some("call me".into()),
                ..Default::default()
            },
        );
        assert_eq!(param_of(phone), "phone");
        for country in ["USA", "U1", ""] {
            let bad = PostalAddress::merge(
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
        let missing = PostalAddress::merge(None, AddressFields::default());
        assert!(
            matches!(missing, Err(ServiceError::Invalid { param, .. }) if param == "recipient")
        );
        let ok = PostalAddress::merge(
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
