//! Text helpers shared by intent detection, slot extraction and replies: normalisation (so full-width digits,
//! Chinese punctuation and curly quotes look like their ASCII forms), the reply language, numbers written as
//! digits, English words or Chinese numerals, and small regex helpers that never panic.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// A compiled-once pattern. Compilation failure yields `None` (the pattern then never matches); every pattern is
/// compiled by a unit test, so that can only happen to a pattern nobody tested.
pub type Re = LazyLock<Option<Regex>>;

/// The language a reply is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// Chinese when the text is mainly Chinese. One Chinese character carries about as much as three Latin
    /// letters, so "add 蓝色 42" stays English while "我要 iPhone 15" is Chinese. A message that opens in Chinese
    /// is Chinese whatever Latin name follows ("关注trailco").
    pub fn of(text: &str) -> Lang {
        let cjk = text.chars().filter(|c| is_cjk(*c)).count();
        let latin = text.chars().filter(char::is_ascii_alphabetic).count();
        let opens_in_chinese = text.trim_start().chars().next().is_some_and(is_cjk);
        if cjk > 0 && (cjk * 3 >= latin || opens_in_chinese) {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// The English or the Chinese text.
    pub fn pick<'s>(self, en: &'s str, zh: &'s str) -> &'s str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Lower case, full-width ASCII folded to ASCII, Chinese punctuation and curly quotes to their ASCII forms,
/// runs of whitespace to one space, trimmed. Every pattern runs on this form.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '、' => ',',
            '。' => '.',
            '“' | '”' | '「' | '」' | '『' | '』' | '《' | '》' | '【' | '】' => '"',
            '‘' | '’' | '`' => '\'',
            '—' | '–' => '-',
            _ => c,
        };
        out.extend(c.to_lowercase());
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the pattern matches anywhere in `text`.
pub fn found(re: &Re, text: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(text))
}

/// The first match's capture groups.
pub fn captures<'t>(re: &Re, text: &'t str) -> Option<Captures<'t>> {
    re.as_ref()?.captures(text)
}

/// Removes the first match from `text` (replacing it with a space so neighbouring words stay apart) and returns
/// its capture groups as owned strings, group 0 first; an unmatched group is an empty string.
pub fn cut(re: &Re, text: &mut String) -> Option<Vec<String>> {
    let caps = captures(re, text)?;
    let whole = caps.get(0)?.range();
    let groups = caps
        .iter()
        .map(|g| g.map(|m| m.as_str().to_owned()).unwrap_or_default())
        .collect();
    text.replace_range(whole, " ");
    Some(groups)
}

/// The group `i` of a [`cut`] result, `""` when absent.
pub fn group(groups: &[String], i: usize) -> &str {
    groups.get(i).map(String::as_str).unwrap_or("")
}

/// A count written as digits, an English word or Chinese numerals: "3", "three", "三", "两", "十二".
pub fn parse_count(word: &str) -> Option<u32> {
    let word = word.trim();
    if let Ok(n) = word.parse::<u32>() {
        return Some(n);
    }
    let english = match word {
        "a" | "an" | "one" | "single" => Some(1),
        "two" | "a couple" | "a couple of" | "a pair" | "couple" => Some(2),
        "three" => Some(3),
        "four" => Some(4),
        "five" => Some(5),
        "six" => Some(6),
        "seven" => Some(7),
        "eight" => Some(8),
        "nine" => Some(9),
        "ten" => Some(10),
        "eleven" => Some(11),
        "twelve" => Some(12),
        "a dozen" | "dozen" => Some(12),
        _ => None,
    };
    english.or_else(|| parse_cn_number(word).and_then(|n| u32::try_from(n).ok()))
}

/// An English ordinal word or "2nd"-style ordinal: "second" -> 2.
pub fn parse_ordinal_word(word: &str) -> Option<usize> {
    let n = match word {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "fifth" => 5,
        "sixth" => 6,
        "seventh" => 7,
        "eighth" => 8,
        "ninth" => 9,
        "tenth" => 10,
        _ => {
            let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            return digits.parse().ok().filter(|n| *n > 0);
        }
    };
    Some(n)
}

/// A number written in Chinese numerals (or ASCII digits): "八十" -> 80, "一百零五" -> 105, "两千" -> 2000.
pub fn parse_cn_number(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    let (mut total, mut section, mut digit) = (0u64, 0u64, 0u64);
    for c in text.chars() {
        match c {
            '零' | '〇' => digit = 0,
            '一' => digit = 1,
            '二' | '两' => digit = 2,
            '三' => digit = 3,
            '四' => digit = 4,
            '五' => digit = 5,
            '六' => digit = 6,
            '七' => digit = 7,
            '八' => digit = 8,
            '九' => digit = 9,
            '十' | '百' | '千' => {
                let unit = match c {
                    '十' => 10,
                    '百' => 100,
                    _ => 1000,
                };
                section += digit.max(1) * unit;
                digit = 0;
            }
            '万' => {
                total += (section + digit).max(1) * 10_000;
                section = 0;
                digit = 0;
            }
            _ => return None,
        }
    }
    Some(total + section + digit)
}

/// A price amount: digits with an optional decimal part, or Chinese numerals.
pub fn parse_amount(text: &str) -> Option<f64> {
    let text = text.trim();
    text.parse::<f64>()
        .ok()
        .or_else(|| parse_cn_number(text).map(|n| n as f64))
        .filter(|n| n.is_finite() && *n >= 0.0)
}

/// The first decimal number in a formatted price such as "59.90 USD" or "from 49.90 USD".
pub fn price_value(price: &str) -> Option<f64> {
    let start = price.find(|c: char| c.is_ascii_digit())?;
    let rest = &price[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(rest.len());
    rest[..end].replace(',', "").parse().ok()
}

/// ASCII words of `text` (letters and digits), with English contractions ("'s", "'m") dropped so "men's" or
/// "i'm" never yield a stray "s" or "m" that could read as a size.
pub fn ascii_words(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Skip the contraction's letters.
            while chars.peek().is_some_and(char::is_ascii_alphabetic) {
                chars.next();
            }
            cleaned.push(' ');
        } else if c.is_ascii_alphanumeric() {
            cleaned.push(c.to_ascii_lowercase());
        } else {
            cleaned.push(' ');
        }
    }
    cleaned.split_whitespace().map(str::to_owned).collect()
}

/// A quoted, single-line, bounded excerpt of text that came from a tool (a title, a description).
pub fn clip(text: &str, max_chars: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max_chars {
        return one_line;
    }
    let mut clipped: String = one_line.chars().take(max_chars).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_cn_number("八十"), Some(80));
        assert_eq!(parse_cn_number("十二"), Some(12));
        assert_eq!(parse_cn_number("一百零五"), Some(105));
        assert_eq!(parse_cn_number("两百五十"), Some(250));
        assert_eq!(parse_cn_number("三万"), Some(30_000));
        assert_eq!(parse_cn_number("十"), Some(10));
        assert_eq!(parse_count("两"), Some(2));
        assert_eq!(parse_count("three"), Some(3));
        assert_eq!(parse_ordinal_word("2nd"), Some(2));
        assert_eq!(parse_ordinal_word("tenth"), Some(10));
        assert_eq!(price_value("from 49.90 USD"), Some(49.9));
        assert_eq!(price_value("1,249.00 USD"), Some(1249.0));
    }

    #[test]
    fn language_and_normalisation() {
        assert_eq!(Lang::of("找80元以下的跑鞋"), Lang::Zh);
        assert_eq!(Lang::of("add the blue 42"), Lang::En);
        assert_eq!(Lang::of("add 蓝色 42 to my cart"), Lang::En);
        assert_eq!(Lang::of("关注trailco"), Lang::Zh);
        assert_eq!(
            normalize("  Ｆｉｎｄ　８０元，“跑鞋”。"),
            "find 80元,\"跑鞋\"."
        );
        assert_eq!(
            ascii_words("Men's size-42 I'm"),
            vec!["men", "size", "42", "i"]
        );
    }
}
