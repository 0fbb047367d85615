//! Money as JSON: integer minor units, the currency, and a display string.

use serde::{Deserialize, Serialize};
use tokshop_proto::catalog as pb;
use utoipa::ToSchema;

/// An amount of money: integer minor units, an ISO 4217 currency and a display string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"amount_minor": 5990, "currency": "USD", "formatted": "59.90 USD"}))]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
    pub formatted: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: String) -> Self {
        Self {
            formatted: tokshop_platform::money::format(amount_minor, &currency),
            amount_minor,
            currency,
        }
    }
}

impl From<pb::Money> for Money {
    fn from(m: pb::Money) -> Self {
        Self::new(m.amount_minor, m.currency)
    }
}

/// A service's optional money field as JSON money (zero when absent).
pub fn money(m: Option<pb::Money>) -> Money {
    Money::from(m.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_json_has_a_formatted_amount() {
        let money = Money::from(pb::Money {
            amount_minor: 5990,
            currency: "USD".into(),
        });
        let json = serde_json::to_value(&money).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount_minor": 5990, "currency": "USD", "formatted": "59.90 USD"})
        );
        assert_eq!(Money::new(1200, "JPY".into()).formatted, "1200 JPY");
    }
}
