//! Input rules for categories, products and variants. Each failure names the field it is about, with the
//! variant's index where it matters (`variants[2].price_minor`).

use std::collections::HashSet;

pub use tokshop_platform::limits::catalog::*;
use tokshop_platform::{ServiceError, ServiceResult, check_len, check_url};
use tokshop_proto::catalog as pb;

use crate::store::{NewVariant, OptionPair};

pub fn title(value: &str) -> ServiceResult<()> {
    check_len("title", value, 1, MAX_TITLE)
}

pub fn description(value: &str) -> ServiceResult<()> {
    check_len("description", value, 0, MAX_DESCRIPTION)
}

pub fn image_urls(param: &str, urls: &[String]) -> ServiceResult<Vec<String>> {
    if urls.len() > MAX_IMAGES {
        return Err(ServiceError::invalid(
            param,
            format!("at most {MAX_IMAGES} images"),
        ));
    }
    urls.iter()
        .map(|url| {
            let url = url.trim();
            if url.is_empty() {
                return Err(ServiceError::invalid(param, "image URLs must not be empty"));
            }
            check_url(param, url)?;
            Ok(url.to_owned())
        })
        .collect()
}

pub fn category_name(value: &str) -> ServiceResult<()> {
    check_len("name", value, 1, MAX_CATEGORY_NAME)
}

pub fn slug(value: &str) -> ServiceResult<()> {
    let ok = (1..=MAX_SLUG).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "slug",
            format!("slug must be 1 to {MAX_SLUG} lowercase letters, digits or hyphens"),
        ))
    }
}

pub fn price(param: &str, value: i64) -> ServiceResult<()> {
    if value < 0 {
        return Err(ServiceError::invalid(param, "price must not be negative"));
    }
    if value > MAX_PRICE_MINOR {
        return Err(ServiceError::invalid(param, "price is too large"));
    }
    Ok(())
}

pub fn stock(param: &str, value: i64) -> ServiceResult<()> {
    if value < 0 {
        return Err(ServiceError::invalid(param, "stock must not be negative"));
    }
    if value > MAX_STOCK {
        return Err(ServiceError::invalid(param, "stock is too large"));
    }
    Ok(())
}

/// Checks one variant; `at` prefixes field names (`variants[0].`), empty for a single variant.
pub fn variant(at: &str, input: &pb::VariantInput) -> ServiceResult<NewVariant> {
    let field = |name: &str| format!("{at}{name}");
    let sku = input.sku.trim();
    if sku.is_empty() || sku.len() > MAX_SKU || sku.chars().any(char::is_whitespace) {
        return Err(ServiceError::invalid(
            field("sku"),
            format!("sku must be 1 to {MAX_SKU} characters without spaces"),
        ));
    }
    if input.options.len() > MAX_OPTIONS {
        return Err(ServiceError::invalid(
            field("options"),
            format!("at most {MAX_OPTIONS} options"),
        ));
    }
    let mut names = HashSet::new();
    let mut options = Vec::with_capacity(input.options.len());
    for option in &input.options {
        let name = option.name.trim().to_lowercase();
        let value = option.value.trim().to_owned();
        check_len(&field("options.name"), &name, 1, MAX_OPTION_NAME)?;
        check_len(&field("options.value"), &value, 1, MAX_OPTION_VALUE)?;
        if !names.insert(name.clone()) {
            return Err(ServiceError::invalid(
                field("options"),
                format!("option {name:?} appears twice"),
            ));
        }
        options.push(OptionPair { name, value });
    }
    price(&field("price_minor"), input.price_minor)?;
    stock(&field("stock"), input.stock)?;
    Ok(NewVariant {
        sku: sku.to_owned(),
        options,
        price_minor: input.price_minor,
        stock: input.stock,
        image_urls: image_urls(&field("image_urls"), &input.image_urls)?,
    })
}

/// Checks every variant of a new product, and that SKUs are unique among them.
pub fn variants(inputs: &[pb::VariantInput]) -> ServiceResult<Vec<NewVariant>> {
    if inputs.is_empty() {
        return Err(ServiceError::invalid(
            "variants",
            "a product needs at least one variant",
        ));
    }
    if inputs.len() > MAX_VARIANTS {
        return Err(ServiceError::invalid(
            "variants",
            format!("at most {MAX_VARIANTS} variants"),
        ));
    }
    let mut skus = HashSet::new();
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let checked = variant(&format!("variants[{i}]."), input)?;
            if !skus.insert(checked.sku.clone()) {
                return Err(ServiceError::invalid(
                    format!("variants[{i}].sku"),
                    "SKUs must be unique",
                ));
            }
            Ok(checked)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(sku: &str, price: i64, stock: i64) -> pb::VariantInput {
        pb::VariantInput {
            sku: sku.into(),
            options: vec![pb::OptionValue {
                name: "Colour".into(),
                value: "blue".into(),
            }],
            price_minor: price,
            stock,
            image_urls: vec![],
        }
    }

    #[test]
    fn negative_price_and_stock_name_the_field() {
        let err = variants(&[input("A", 100, 1), input("B", -1, 1)]).unwrap_err();
        assert!(
            matches!(err, ServiceError::Invalid { ref param, .. } if param == "variants[1].price_minor")
        );
        let err = variants(&[input("A", 100, -3)]).unwrap_err();
        assert!(
            matches!(err, ServiceError::Invalid { ref param, .. } if param == "variants[0].stock")
        );
    }

    #[test]
    fn duplicate_skus_and_empty_lists_fail() {
        assert!(variants(&[]).is_err());
        assert!(variants(&[input("A", 1, 1), input("A", 2, 2)]).is_err());
        let ok = variants(&[input("A", 1, 1)]).unwrap();
        assert_eq!(ok[0].options[0].name, "colour");
    }

    fn param_of<T: std::fmt::Debug>(result: ServiceResult<T>) -> String {
        match result {
            Err(ServiceError::Invalid { param, .. }) => param,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn prices_and_stock_have_bounds() {
        assert!(price("price_min", 0).is_ok());
        assert!(price("price_min", MAX_PRICE_MINOR).is_ok());
        assert_eq!(
            param_of(price("price_min", MAX_PRICE_MINOR + 1)),
            "price_min"
        );
        assert!(stock("stock", MAX_STOCK).is_ok());
        assert_eq!(param_of(stock("stock", MAX_STOCK + 1)), "stock");
        assert_eq!(param_of(stock("stock", -1)), "stock");
    }

    #[test]
    fn image_lists_are_trimmed_http_urls_within_a_count() {
        let urls = image_urls("image_urls", &[" https://cdn.example.com/a.jpg ".into()]).unwrap();
        assert_eq!(urls, vec!["https://cdn.example.com/a.jpg"]);
        for bad in ["", "ftp://example.com/a.jpg", "https://example.com/a b.jpg"] {
            assert_eq!(
                param_of(image_urls("image_urls", &[bad.into()])),
                "image_urls",
                "{bad:?}"
            );
        }
        let many = vec!["https://cdn.example.com/a.jpg".to_owned(); MAX_IMAGES + 1];
        assert_eq!(param_of(image_urls("image_urls", &many)), "image_urls");
    }

    #[test]
    fn variant_fields_name_their_variant() {
        let mut spaced = input("A B", 1, 1);
        assert_eq!(
            param_of(variant("variants[3].", &spaced)),
            "variants[3].sku"
        );
        spaced.sku = "A".into();
        spaced.options.push(pb::OptionValue {
            name: " COLOUR ".into(),
            value: "red".into(),
        });
        assert_eq!(param_of(variant("", &spaced)), "options");
        let mut blank = input("A", 1, 1);
        blank.options[0].value = "  ".into();
        assert_eq!(param_of(variant("", &blank)), "options.value");
        let mut crowded = input("A", 1, 1);
        crowded.options = (0..=MAX_OPTIONS)
            .map(|i| pb::OptionValue {
                name: format!("o{i}"),
                value: "v".into(),
            })
            .collect();
        assert_eq!(param_of(variant("", &crowded)), "options");
        let too_many: Vec<_> = (0..=MAX_VARIANTS)
            .map(|i| input(&format!("S{i}"), 1, 1))
            .collect();
        assert_eq!(param_of(variants(&too_many)), "variants");
    }

    #[test]
    fn titles_and_category_names() {
        assert_eq!(param_of(title("")), "title");
        assert_eq!(param_of(title(&"t".repeat(MAX_TITLE + 1))), "title");
        assert!(description("").is_ok());
        assert_eq!(param_of(category_name("")), "name");
        assert!(category_name("Trail shoes").is_ok());
    }

    #[test]
    fn slugs() {
        assert!(slug("trail-running").is_ok());
        assert!(slug("Trail Running").is_err());
    }
}
