//! Money as integer minor units plus an ISO 4217 currency code. Never floats.

use crate::ServiceError;

/// Currencies the shop accepts, with the number of minor-unit digits used when formatting.
const CURRENCIES: &[(&str, u32)] = &[
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CNY", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("HKD", 2),
    ("SGD", 2),
    ("AUD", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("INR", 2),
];

/// Minor-unit digits of an accepted currency, or `None` if the code is not accepted.
pub fn minor_digits(currency: &str) -> Option<u32> {
    CURRENCIES
        .iter()
        .find(|(code, _)| *code == currency)
        .map(|(_, digits)| *digits)
}

/// Checks an ISO 4217 code against the accepted list.
pub fn validate_currency(currency: &str, field: &str) -> Result<(), ServiceError> {
    match minor_digits(currency) {
        Some(_) => Ok(()),
        None => Err(ServiceError::invalid(
            field,
            format!("unsupported currency {currency:?}; use an ISO 4217 code such as USD"),
        )),
    }
}

/// `5990, "USD"` -> `"59.90 USD"`; `1200, "JPY"` -> `"1200 JPY"`.
pub fn format(amount_minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency).unwrap_or(2);
    if digits == 0 {
        return format!("{amount_minor} {currency}");
    }
    let scale = 10_i64.pow(digits);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units() {
        assert_eq!(format(5990, "USD"), "59.90 USD");
        assert_eq!(format(5, "EUR"), "0.05 EUR");
        assert_eq!(format(-150, "USD"), "-1.50 USD");
        assert_eq!(format(1200, "JPY"), "1200 JPY");
    }

    #[test]
    fn rejects_unknown_currency() {
        assert!(validate_currency("USD", "currency").is_ok());
        assert!(validate_currency("usd", "currency").is_err());
        assert!(validate_currency("XXX", "currency").is_err());
    }
}
