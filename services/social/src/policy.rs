//! The content policy every piece of user text passes (comments, post text, messages): a length in characters,
//! plain text only (no markup, no control characters), and none of the configured blocked words. A refusal is
//! a 422 with code `content_policy` that says which rule the text broke; nothing is stored.

use tokshop_platform::{ServiceError, ServiceResult};

pub const CODE: &str = "content_policy";

#[derive(Debug, Clone, Default)]
pub struct ContentPolicy {
    /// Lower-cased.
    blocked: Vec<String>,
}

impl ContentPolicy {
    pub fn new(blocked_words: &[String]) -> Self {
        Self {
            blocked: blocked_words
                .iter()
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
        }
    }

    /// The text, trimmed, if it is `min..=max` characters of acceptable plain text. `param` names the field in
    /// the error.
    pub fn check(&self, param: &str, text: &str, min: usize, max: usize) -> ServiceResult<String> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars < min || chars > max {
            return Err(ServiceError::invalid(
                param,
                format!("{param} must be {min} to {max} characters (it has {chars})"),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ServiceError::refused(
                CODE,
                param,
                format!("{param} must be plain text: control characters are not allowed"),
            ));
        }
        if has_markup(text) {
            return Err(ServiceError::refused(
                CODE,
                param,
                format!(
                    "{param} must be plain text: HTML tags are not allowed by the content policy"
                ),
            ));
        }
        if let Some(word) = self.blocked_word_in(text) {
            return Err(ServiceError::refused(
                CODE,
                param,
                format!(
                    "{param} breaks the content policy: it contains a blocked word (\"{word}\")"
                ),
            ));
        }
        Ok(text.to_owned())
    }

    /// The first blocked word the text contains: as a whole word for words of letters and digits, anywhere for
    /// words in scripts written without spaces (Chinese, say).
    fn blocked_word_in(&self, text: &str) -> Option<&str> {
        let lower = text.to_lowercase();
        self.blocked.iter().map(String::as_str).find(|word| {
            if word.is_ascii() {
                lower
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|token| token == *word)
                    || (word.contains(|c: char| !c.is_alphanumeric()) && lower.contains(*word))
            } else {
                lower.contains(*word)
            }
        })
    }
}

/// `<` followed by a letter, `/` or `!`: the start of an HTML tag, comment or doctype. "I <3 this" and "a < b"
/// are fine.
fn has_markup(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy() -> ContentPolicy {
        ContentPolicy::new(&["scam".into(), "Fake Deal".into(), "垃圾".into()])
    }

    #[test]
    fn accepts_plain_text_and_trims() {
        let text = policy()
            .check("text", "  I <3 these shoes, 2 < 3  ", 1, 500)
            .unwrap();
        assert_eq!(text, "I <3 these shoes, 2 < 3");
        // A blocked word inside another word is not that word.
        assert!(policy().check("text", "scampi for dinner", 1, 500).is_ok());
    }

    #[test]
    fn refuses_blocked_words_markup_and_bad_lengths() {
        let p = policy();
        for bad in [
            "what a SCAM!",
            "a fake deal here",
            "这是垃圾",
            "<script>alert(1)</script>",
            "x</b>",
        ] {
            let err = p.check("text", bad, 1, 500).unwrap_err();
            assert_eq!(err.code(), CODE, "{bad}");
        }
        assert_eq!(
            p.check("text", "   ", 1, 500).unwrap_err().code(),
            "invalid_parameter"
        );
        assert!(p.check("text", &"é".repeat(500), 1, 500).is_ok());
        assert!(p.check("text", &"é".repeat(501), 1, 500).is_err());
        assert!(p.check("text", "bell\u{7}", 1, 500).is_err());
    }
}
