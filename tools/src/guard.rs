//! Guarded tools: what a consequential call would do, frozen as a typed effect, described by the server in the
//! shopper's language and bound by a digest. A guarded tool never acts on the model's word: proposing reads live
//! state into an [`Effect`]; committing carries out exactly that effect, after the agent has checked that live
//! state still gives the same digest.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use tokshop_platform::sha256_hex;
use tokshop_proto::{catalog, identity, order};

use crate::{ToolContext, ToolError};

/// The language a description is rendered in: the conversation's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// Chinese when the text opens in Chinese or is at least a quarter Han characters, else English.
    pub fn of(text: &str) -> Self {
        let han = |c: &char| {
            ('\u{4e00}'..='\u{9fff}').contains(c) || ('\u{3400}'..='\u{4dbf}').contains(c)
        };
        let cjk = text.chars().filter(han).count();
        let latin = text.chars().filter(char::is_ascii_alphabetic).count();
        let opens_in_chinese = text.trim_start().chars().next().is_some_and(|c| han(&c));
        if cjk > 0 && (cjk * 3 >= latin || opens_in_chinese) {
            Self::Zh
        } else {
            Self::En
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh",
        }
    }

    pub fn from_label(label: &str) -> Self {
        if label == "zh" { Self::Zh } else { Self::En }
    }

    /// `en` or `zh`, whichever this is.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Self::En => en,
            Self::Zh => zh,
        }
    }
}

/// A frozen effect: everything that will happen, concrete (ids, titles, amounts, full address text, exact words).
pub trait Effect: Serialize + DeserializeOwned + Send + Sync {
    /// What the shopper approves, in their language, rendered from the effect alone.
    fn describe(&self, lang: Lang) -> String;
}

/// A tool that acts only on the shopper's approval of its frozen effect.
#[async_trait::async_trait]
pub trait GuardedTool: Send + Sync + 'static {
    type Args: DeserializeOwned + schemars::JsonSchema + Send + Sync;
    type Effect: Effect;
    /// What a commit answers. The model sees it serialized as it is; the rule planner reads it back as this type.
    type Output: Serialize + DeserializeOwned + schemars::JsonSchema + Send;
    const NAME: &'static str;
    const DESCRIPTION: &'static str;

    /// The concrete effect of `args` on live state now. An error means there is nothing to propose (no such order,
    /// no address on file, not friends...), and no pending action is made.
    async fn effect(&self, ctx: &ToolContext, args: &Self::Args)
    -> Result<Self::Effect, ToolError>;

    /// Carries out exactly `effect`. The pending action's id is `ctx.request_id`, so a retried service call acts
    /// once.
    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: Self::Effect,
    ) -> Result<Self::Output, ToolError>;
}

/// A proposal as the agent stores it: the effect as canonical JSON and its digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub effect: Value,
    pub digest: String,
}

impl Proposal {
    pub fn of(tool: &str, effect: &impl Serialize) -> Result<Self, ToolError> {
        let effect = serde_json::to_value(effect)
            .map_err(|err| ToolError::new("internal", err.to_string()))?;
        let digest = digest(tool, &effect);
        Ok(Self { effect, digest })
    }
}

/// SHA-256 (hex) of the tool name and the canonical JSON of its effect.
pub fn digest(tool: &str, effect: &Value) -> String {
    sha256_hex(&[tool.as_bytes(), b"\n", canonical(effect).as_bytes()])
}

/// JSON with object keys sorted at every level and no insignificant white space, so equal effects give equal
/// bytes whatever order their fields were built in.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// An amount of money as effects hold it: integer minor units and the currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub minor: i64,
    pub currency: String,
}

impl Amount {
    pub fn of(money: Option<&catalog::Money>) -> Self {
        money.map_or_else(
            || Self {
                minor: 0,
                currency: String::new(),
            },
            |m| Self {
                minor: m.amount_minor,
                currency: m.currency.clone(),
            },
        )
    }

    pub fn money(&self) -> catalog::Money {
        catalog::Money {
            amount_minor: self.minor,
            currency: self.currency.clone(),
        }
    }

    pub fn text(&self) -> String {
        tokshop_platform::money::format(self.minor, &self.currency)
    }
}

/// A postal address in full, as it will be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressText {
    /// The address book entry, when there is one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address_id: String,
    pub recipient: String,
    pub phone: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

impl AddressText {
    pub fn from_book(a: &identity::Address) -> Self {
        Self {
            address_id: a.id.clone(),
            recipient: a.recipient.clone(),
            phone: a.phone.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        }
    }

    pub fn from_order(a: &order::ShippingAddress) -> Self {
        Self {
            address_id: a.address_id.clone(),
            recipient: a.recipient.clone(),
            phone: a.phone.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        }
    }

    /// "Ann Lee, 1 Main St, Apt 2, Springfield, IL 12345, US (phone 555-0100)": every field that is set, without
    /// quotation marks or invisible formatting.
    pub fn text(&self) -> String {
        let text = self.joined();
        text.chars().filter(|c| !unsafe_in_label(*c)).collect()
    }

    fn joined(&self) -> String {
        let region_postal = [self.region.as_str(), self.postal_code.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let mut text = [
            self.recipient.as_str(),
            self.line1.as_str(),
            self.line2.as_str(),
            self.city.as_str(),
            region_postal.as_str(),
            self.country.as_str(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
        if !self.phone.is_empty() {
            text.push_str(&format!(" (phone {})", self.phone));
        }
        text
    }
}

/// Characters a label may not carry into a summary: quotation marks (which would let it close its own quotes and
/// add words that read as the shop's) and invisible formatting (bidirectional overrides, zero-width characters).
fn unsafe_in_label(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '"' | '\u{201c}'
                | '\u{201d}'
                | '\u{201e}'
                | '\u{00ab}'
                | '\u{00bb}'
                | '\u{2039}'
                | '\u{203a}'
                | '\u{300c}'
                | '\u{300d}'
                | '\u{300e}'
                | '\u{300f}'
        )
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A name someone else chose (a title, a shop name), as a summary quotes it: on one line, without quotation marks or
/// invisible formatting, clipped, in quotes.
pub fn quote(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !unsafe_in_label(*c))
        .collect();
    let one_line = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut clipped: String = one_line.chars().take(max).collect();
    if one_line.chars().count() > max {
        clipped.push('…');
    }
    format!("\u{201c}{clipped}\u{201d}")
}

/// Words that will be published or sent exactly as written (a message, a comment, a reason), shown in full as a
/// quoted block after the sentence that introduces them: every line starts with "> ", so nothing inside can pass
/// for the shop's own words.
pub fn block(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line: String = line
                .chars()
                .filter(|c| !unsafe_in_label(*c) || *c == '"')
                .collect();
            format!("> {line}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_ignores_key_order_but_not_values() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(canonical(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        assert_eq!(digest("pay_order", &a), digest("pay_order", &b));
        assert_ne!(digest("pay_order", &a), digest("checkout", &a));
        let c = json!({"a": {"x": "s", "y": [2, 1]}, "b": 1});
        assert_ne!(digest("pay_order", &a), digest("pay_order", &c));
    }

    #[test]
    fn labels_cannot_close_their_quotes_and_blocks_mark_every_line() {
        assert_eq!(
            quote(
                "Socks\u{201d} at 1.00 USD; total 1.00 USD \u{201c}x\u{202e}",
                80
            ),
            "\u{201c}Socks at 1.00 USD; total 1.00 USD x\u{201d}"
        );
        assert_eq!(
            block("Loved it!\nReply yes to go ahead"),
            "> Loved it!\n> Reply yes to go ahead"
        );
    }

    #[test]
    fn language_follows_the_text() {
        assert_eq!(Lang::of("好的，下单吧"), Lang::Zh);
        assert_eq!(Lang::of("yes, go ahead"), Lang::En);
    }

    #[test]
    fn an_address_is_written_out_in_full() {
        let a = AddressText {
            address_id: "adr_1".into(),
            recipient: "Ann Lee".into(),
            phone: "555-0100".into(),
            line1: "1 Main St".into(),
            line2: String::new(),
            city: "Springfield".into(),
            region: "IL".into(),
            postal_code: "12345".into(),
            country: "US".into(),
        };
        assert_eq!(
            a.text(),
            "Ann Lee, 1 Main St, Springfield, IL 12345, US (phone 555-0100)"
        );
    }
}
