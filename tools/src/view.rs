//! Compact JSON views of service replies: ids, names, formatted prices and stock state, nothing else, so tool
//! results stay cheap in tokens. Also the decimal price argument models write (`80`, `79.90`).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, de};
use serde_json::Value;
use tokshop_proto::{catalog, order};

use crate::{
    ToolError,
    untrusted::{self, Source},
};

/// Longest title or option text a model sees.
pub const TITLE_CHARS: usize = 120;

/// A short code a seller chose (a SKU): as it is, unless it reads like instructions, then flagged in an envelope.
pub fn seller_label(text: &str) -> String {
    if untrusted::looks_like_instructions(text) {
        seller_text(text, TITLE_CHARS)
    } else {
        text.to_owned()
    }
}

/// Text a seller wrote (titles, options, descriptions, coupon titles), as data.
pub fn seller_text(text: &str, max: usize) -> String {
    untrusted::wrap(Source::Seller, text, max)
}

/// Most a list's entries may cost a model, in estimated tokens ([`tokens_at_most`]): what is left of the result
/// budget (1,500 tokens) after the list's own fields and note.
pub const LIST_TOKENS: usize = 1_250;

/// The worst cost of a run of ASCII letters and digits ([`tokens_at_most`]): letters and digits are tokenized
/// apart, so each run of either costs at least a token; a run mixing both (an id, a hash, a code) costs at least
/// three tokens per four characters.
fn alphanumeric(run: &str) -> usize {
    let mut parts = 0;
    let mut rest = run;
    while let Some(first) = rest.bytes().next() {
        let digits = first.is_ascii_digit();
        let len = rest
            .bytes()
            .position(|b| b.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let part = &rest[..len];
        parts += if digits {
            len.div_ceil(3)
        } else {
            let vowels = part.bytes().filter(|b| b"aeiouyAEIOUY".contains(b)).count();
            let lowercase = part[1..].bytes().all(|b| b.is_ascii_lowercase());
            if len <= 12 && vowels * 4 >= len && lowercase {
                len.div_ceil(4)
            } else {
                (len * 2).div_ceil(3)
            }
        };
        rest = &rest[len..];
    }
    let mixed =
        run.bytes().any(|b| b.is_ascii_digit()) && run.bytes().any(|b| b.is_ascii_alphabetic());
    if mixed {
        parts.max((run.len() * 3).div_ceil(4))
    } else {
        parts
    }
}

/// What text costs a model, in o200k tokens, estimated from above without the tokenizer (whose tables would
/// cost every process some 50 MB). Text is cut as the tokenizer first cuts it, into runs of letters, of digits, of
/// spaces, punctuation and other scripts, and each run is priced at what its kind costs at worst:
/// - a word (at most 12 letters, lowercase but perhaps the first, a quarter or more of them vowels): a token per
///   four letters; any other run of letters (codes, random letters): two tokens per three;
/// - digits: a token per three (the tokenizer groups them by three);
/// - letters and digits together (ids, hashes): each run of either as above, and at least three tokens per four
///   characters;
/// - a newline: a token; spaces: one per four after the first (a single space joins the next word);
/// - punctuation: a token each;
/// - other scripts: a token per character of two bytes (accented Latin, Greek, Cyrillic, Hebrew, Arabic), two tokens
///   per common CJK ideograph, kana or hangul syllable, and a token per byte for everything else (rare
///   ideographs, emoji, ancient scripts), which byte-level tokenizers may spend a token per byte on.
///
/// The budget tests hold the estimate against the tokenizer on prose, ids, hex, random letters, letters mixed with
/// digits, newlines, CJK, emoji, ancient scripts and every list entry the tools make.
pub fn tokens_at_most(text: &str) -> usize {
    let mut tokens = 0;
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let run = |keep: fn(char) -> bool| rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        let (len, cost) = if first.is_ascii_alphanumeric() {
            let len = run(|c| c.is_ascii_alphanumeric());
            (len, alphanumeric(&rest[..len]))
        } else if first.is_ascii_whitespace() {
            let len = run(|c| c.is_ascii_whitespace());
            let newlines = rest[..len].matches('\n').count();
            (
                len,
                newlines + (len - newlines).saturating_sub(1).div_ceil(4),
            )
        } else if first.is_ascii() {
            (1, 1)
        } else {
            let len = run(|c| !c.is_ascii());
            let cost = rest[..len]
                .chars()
                .map(|c| match (c.len_utf8(), c) {
                    // Two bytes (Latin with accents, Greek, Cyrillic, Hebrew, Arabic): a token at most.
                    (2, _) => 2,
                    // The common CJK ideographs, kana, hangul and CJK punctuation: two tokens at most.
                    (
                        3,
                        '\u{3000}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}',
                    ) => 4,
                    // Anything else may be spent a token per byte on.
                    (bytes, _) => 2 * bytes,
                })
                .sum::<usize>()
                .div_ceil(2);
            (len, cost)
        };
        tokens += cost;
        rest = &rest[len..];
    }
    tokens
}

/// The longest start of `text` of at most `chars` characters that [`tokens_at_most`] prices within `tokens`.
pub fn within_tokens(text: &str, chars: usize, tokens: usize) -> &str {
    let prefix = |n: usize| {
        text.char_indices()
            .nth(n)
            .map_or(text, |(at, _)| &text[..at])
    };
    let longest = prefix(chars);
    if tokens_at_most(longest) <= tokens {
        return longest;
    }
    // A longer start never costs less, so the longest one within budget is found by halving.
    let (mut fits, mut over) = (0, longest.chars().count());
    while over - fits > 1 {
        let mid = fits + (over - fits) / 2;
        if tokens_at_most(prefix(mid)) <= tokens {
            fits = mid;
        } else {
            over = mid;
        }
    }
    prefix(fits)
}

/// How many of the leading `entries` a model should read at once: those whose JSON fits [`LIST_TOKENS`], and
/// always the first.
pub fn fitting<T: serde::Serialize>(entries: &[T]) -> usize {
    // The list's brackets and the comma after each entry count too: a page is read as one JSON array.
    let mut spent = tokens_at_most("[]");
    let comma = tokens_at_most(",");
    entries
        .iter()
        .take_while(|entry| {
            spent += serde_json::to_string(entry).map_or(0, |json| tokens_at_most(&json)) + comma;
            spent <= LIST_TOKENS
        })
        .count()
        .max(1)
        .min(entries.len())
}

/// A page of a newest-first list cut to what a model should read at once ([`fitting`]), and the next page's
/// cursor. Uncut, that is the service's own (`next_cursor`); cut, the cursor names the last entry shown by its
/// time and id (`key`), as every newest-first list of the shop pages (`tokshop_platform::page`), so the next call
/// goes on right after it.
pub fn fit_page<T: serde::Serialize>(
    mut entries: Vec<T>,
    next_cursor: &str,
    key: impl Fn(&T) -> (i64, String),
) -> (Vec<T>, Option<String>) {
    let fits = fitting(&entries);
    if fits >= entries.len() {
        return (entries, next(next_cursor));
    }
    entries.truncate(fits);
    let next = entries.last().map(|last| {
        let (at_ms, id) = key(last);
        tokshop_platform::page::Cursor { at_ms, id }.encode()
    });
    (entries, next)
}

/// A list's `next_cursor`, when there is a next page.
pub fn next(next_cursor: &str) -> Option<String> {
    (!next_cursor.is_empty()).then(|| next_cursor.to_owned())
}

/// The part of `items` one answer shows: at most `shown` of them from the `from`-th on, and how many come after
/// (for the `more_...` count beside them).
pub fn window<T>(items: &[T], from: usize, shown: usize) -> (&[T], usize) {
    let rest = items.get(from..).unwrap_or_default();
    let (shown, after) = rest.split_at(rest.len().min(shown));
    (shown, after.len())
}

/// For `skip_serializing_if`: a count of things not shown is left out when there are none.
pub fn is_zero(n: &usize) -> bool {
    *n == 0
}

pub fn money(m: Option<&catalog::Money>) -> String {
    m.map(|m| tokshop_platform::money::format(m.amount_minor, &m.currency))
        .unwrap_or_default()
}

/// Option names and values ("colour: blue, size: 42"), as data from the seller.
pub fn options(values: &[catalog::OptionValue]) -> String {
    let text = values
        .iter()
        .map(|o| format!("{}: {}", o.name, o.value))
        .collect::<Vec<_>>()
        .join(", ");
    seller_text(&text, TITLE_CHARS)
}

pub fn status_name(status: order::OrderStatus) -> String {
    status.label().unwrap_or("unspecified").to_owned()
}

/// A price as a model writes it: a decimal number in major units. Kept as text and converted exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount(String);

impl Amount {
    /// Minor units of `currency`: "79.9" USD -> 7990. More decimals than the currency has is an error.
    pub fn to_minor(&self, currency: &str, field: &str) -> Result<i64, ToolError> {
        let digits = tokshop_platform::money::minor_digits(currency).unwrap_or(2) as usize;
        let bad = || {
            ToolError::invalid_arguments(format!(
                "{field} must be a non-negative price like 80 or 79.90"
            ))
            .with_param(field)
        };
        let (whole, fraction) = self.0.split_once('.').unwrap_or((&self.0, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > digits {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let fraction: i64 = format!("{fraction:0<digits$}").parse().unwrap_or(0);
        whole
            .checked_mul(10_i64.pow(digits as u32))
            .and_then(|w| w.checked_add(fraction))
            .ok_or_else(bad)
    }

    /// The price as the model wrote it ("79.9"), for showing it back.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Number(n) => Ok(Self(n.to_string())),
            Value::String(s) => Ok(Self(s.trim().to_owned())),
            other => Err(de::Error::custom(format!(
                "expected a price like 79.90, got {other}"
            ))),
        }
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "number", "minimum": 0})
    }
}

/// An order status in Chinese, for descriptions rendered in Chinese.
pub fn status_name_zh(label: &str) -> &str {
    match label {
        "pending_payment" => "待付款",
        "paid" => "已付款",
        "shipped" => "已发货",
        "delivered" => "已送达",
        "completed" => "已完成",
        "cancelled" => "已取消",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_shows_some_and_counts_the_rest() {
        let items = [1, 2, 3, 4, 5];
        assert_eq!(window(&items, 0, 3), (&items[..3], 2));
        assert_eq!(window(&items, 3, 3), (&items[3..], 0));
        assert_eq!(window(&items, 9, 3), (&items[..0], 0));
        assert_eq!(window(&items, 0, 9), (&items[..], 0));
    }

    /// Whatever the entries' sizes, the page kept is within the budget as the one JSON array the model reads
    /// (brackets and commas included), or is a single entry.
    #[test]
    fn a_fitted_page_is_within_the_budget_as_one_array() {
        for words in 1..120 {
            let entry = serde_json::json!({
                "id": format!("msg_{words:04}"),
                "text": "the laces stayed tied all day long ".repeat(words),
            });
            let entries = vec![entry; 40];
            let kept = &entries[..fitting(&entries)];
            let json = serde_json::to_string(kept).unwrap();
            assert!(
                kept.len() == 1 || tokens_at_most(&json) <= LIST_TOKENS,
                "{words} words: {} entries, {} tokens",
                kept.len(),
                tokens_at_most(&json)
            );
        }
    }

    #[test]
    fn prices_convert_exactly() {
        let a = |s: &str| Amount(s.into());
        assert_eq!(a("80").to_minor("USD", "p").unwrap(), 8000);
        assert_eq!(a("79.9").to_minor("USD", "p").unwrap(), 7990);
        assert_eq!(a("79.90").to_minor("USD", "p").unwrap(), 7990);
        assert_eq!(a("1000").to_minor("JPY", "p").unwrap(), 1000);
        assert!(a("79.999").to_minor("USD", "p").is_err());
        assert!(a("-5").to_minor("USD", "p").is_err());
        assert!(a("1e3").to_minor("USD", "p").is_err());
    }
}
