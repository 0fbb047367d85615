//! Option words in a message ("blue 42", "蓝色 42码", "size M"), matched against a product's option values.

use std::collections::BTreeSet;

use crate::text::{ascii_words, cut};

patterns! {
    UNIT_EN = r"\b(\d+)\s+(cm|ml|kg|mm|l)\b";
    UNIT_ZH = r"(\d+)\s*(厘米|公分|毫升|公斤|千克)";
    BLUETOOTH = r"蓝牙";
}

/// Chinese colour and size words and English size words, with the option values they stand for.
const OPTION_SYNONYMS: &[(&str, &str)] = &[
    ("黑", "black"),
    ("蓝", "blue"),
    ("红", "red"),
    ("灰", "grey"),
    ("绿", "green"),
    ("白", "white"),
    ("黄", "yellow"),
    ("紫", "purple"),
    ("橙", "orange"),
    ("粉", "pink"),
    ("棕", "brown"),
    ("铜", "copper"),
    ("玫瑰", "rose"),
    ("珊瑚", "coral"),
    ("莓", "berry"),
    ("裸色", "nude"),
    ("加大", "xl"),
    ("特大", "xl"),
    ("特小", "xs"),
    ("加小", "xs"),
    ("大号", "l"),
    ("大码", "l"),
    ("中号", "m"),
    ("中码", "m"),
    ("小号", "s"),
    ("小码", "s"),
    ("多色", "assorted"),
    ("混色", "assorted"),
];

const EN_SIZE_WORDS: &[(&str, &str)] = &[
    ("extra large", "xl"),
    ("x-large", "xl"),
    ("xlarge", "xl"),
    ("extra small", "xs"),
    ("x-small", "xs"),
    ("large", "l"),
    ("medium", "m"),
    ("small", "s"),
    ("gray", "grey"),
];

/// The words of a message that can name a variant option: ASCII words ("blue", "42", "20cm"), English size
/// words as letters ("large" -> "l"), and Chinese colours and sizes as the English values the catalogue uses.
pub fn option_tokens(t: &str) -> BTreeSet<String> {
    let mut text = t.to_owned();
    while cut(&BLUETOOTH, &mut text).is_some() {}
    if let Some(re) = UNIT_EN.as_ref() {
        text = re.replace_all(&text, "$1$2").into_owned();
    }
    if let Some(re) = UNIT_ZH.as_ref() {
        text = re
            .replace_all(&text, |caps: &regex::Captures<'_>| {
                let unit = match caps.get(2).map(|m| m.as_str()) {
                    Some("毫升") => "ml",
                    Some("公斤" | "千克") => "kg",
                    _ => "cm",
                };
                format!(" {}{unit} ", caps.get(1).map(|m| m.as_str()).unwrap_or(""))
            })
            .into_owned();
    }
    let mut tokens: BTreeSet<String> = ascii_words(&text).into_iter().collect();
    for (word, value) in EN_SIZE_WORDS {
        if found_word(&text, word) {
            tokens.insert((*value).to_owned());
        }
    }
    for (word, value) in OPTION_SYNONYMS {
        if text.contains(word) {
            tokens.insert((*value).to_owned());
        }
    }
    tokens
}

/// Colour words a shopper may use for a variant.
const COLOURS: &[&str] = &[
    "black", "blue", "red", "grey", "green", "white", "yellow", "purple", "orange", "pink",
    "brown", "beige", "navy", "copper", "silver", "gold", "rose", "coral", "berry", "nude",
    "assorted",
];

/// Words of a message that look like a colour or a size ("yellow", "42", "xl"), whether or not the product
/// has them: a named option the product lacks is reported instead of ignored.
pub fn option_like_words(t: &str) -> BTreeSet<String> {
    const SIZES: &[&str] = &["xs", "xl", "xxl"];
    option_tokens(t)
        .into_iter()
        .filter(|w| {
            COLOURS.contains(&w.as_str())
                || SIZES.contains(&w.as_str())
                || (w.len() >= 2 && w.len() <= 3 && w.chars().all(|c| c.is_ascii_digit()))
        })
        .collect()
}

/// Whether `word` occurs in `text` with no ASCII letter or digit on either side.
pub fn found_word(text: &str, word: &str) -> bool {
    let mut start = 0;
    while let Some(pos) = text[start..].find(word) {
        let at = start + pos;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !alnum(before) && !alnum(after) {
            return true;
        }
        start = at + word.len();
    }
    false
}

/// The option values among `values` that the message names: a one-word value must be one of the message's
/// option tokens, a longer value must appear as a phrase.
pub fn mentioned_values(t: &str, values: &BTreeSet<String>) -> BTreeSet<String> {
    let tokens = option_tokens(t);
    values
        .iter()
        .filter(|value| {
            let words = ascii_words(value);
            if value.is_ascii() && words.len() == 1 {
                words.first().is_some_and(|w| tokens.contains(w))
                    || numeric_part(value).is_some_and(|n| tokens.contains(n))
            } else if value.is_ascii() {
                found_word(t, value)
            } else {
                t.contains(value.as_str())
            }
        })
        .cloned()
        .collect()
}

/// The number of a value with a unit ("24cm" -> "24", "50ml" -> "50"), so "the 24" names "24cm".
pub fn numeric_part(value: &str) -> Option<&str> {
    let end = value.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = value.split_at(end);
    (!number.is_empty() && unit.chars().all(|c| c.is_ascii_alphabetic())).then_some(number)
}

/// The values of a variant's "options" text ("colour: blue, size: 42" -> {"blue", "42"}), lower case.
pub fn option_values(options: &str) -> BTreeSet<String> {
    options
        .split([',', ';', '/', '，'])
        .filter_map(|part| {
            let value = part
                .rsplit(':')
                .next()
                .unwrap_or(part)
                .trim()
                .to_lowercase();
            (!value.is_empty()).then_some(value)
        })
        .collect()
}

/// Whether the text names a word such as a coupon code, case-insensitively and as a whole word.
pub fn mentions(t: &str, word: &str) -> bool {
    let word = word.to_lowercase();
    !word.is_empty() && found_word(t, &word)
}
