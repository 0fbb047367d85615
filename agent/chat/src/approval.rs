//! What a chat message says about the one action waiting: an approval, a rejection, or neither. A message
//! approves only when everything in it is affirmation ("yes", "sure, do it", "ok place the order", "好的，下单吧");
//! anything conditional, ambiguous or carrying a new request ("yes but use my other card", "yes and add socks") is
//! neither, and the agent handles it as an ordinary message. Words that name an action ("place the order", "pay",
//! "付款") approve only that kind of action.

/// What a message says about a pending action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Approve,
    Reject,
    Other,
}

/// Affirmations that approve any action.
const YES: &[&str] = &[
    "yes",
    "yeah",
    "yea",
    "yep",
    "yup",
    "y",
    "sure",
    "ok",
    "okay",
    "k",
    "alright",
    "all right",
    "confirm",
    "confirmed",
    "i confirm",
    "approve",
    "approved",
    "i approve",
    "go ahead",
    "go for it",
    "do it",
    "do that",
    "proceed",
    "that's right",
    "thats right",
    "that is right",
    "correct",
    "sounds good",
    "looks good",
    "perfect",
    "great",
    "absolutely",
    "definitely",
    "of course",
    "please do",
    "let's do it",
    "lets do it",
    "let's go",
    "fine",
    "agreed",
    "yes please",
    "是",
    "是的",
    "好",
    "好的",
    "好啊",
    "好呀",
    "行",
    "可以",
    "没问题",
    "确认",
    "确定",
    "对",
    "对的",
    "没错",
    "嗯",
    "同意",
    "就这样",
    "继续",
    "ok吧",
];

/// Affirmations that name an action: they approve only a pending action of one of these tools.
const YES_TO: &[(&str, &[&str])] = &[
    ("place the order", &["checkout"]),
    ("place my order", &["checkout"]),
    ("place it", &["checkout"]),
    ("order it", &["checkout"]),
    ("check out", &["checkout"]),
    ("checkout", &["checkout"]),
    ("buy it", &["checkout"]),
    ("下单", &["checkout"]),
    ("提交订单", &["checkout"]),
    ("买", &["checkout"]),
    ("pay", &["pay_order"]),
    ("pay it", &["pay_order"]),
    ("pay now", &["pay_order"]),
    ("pay for it", &["pay_order"]),
    ("付款", &["pay_order"]),
    ("支付", &["pay_order"]),
    ("付", &["pay_order"]),
    ("send it", &["send_message", "comment"]),
    ("post it", &["comment"]),
    ("发送", &["send_message", "comment"]),
    ("发", &["send_message", "comment"]),
    ("follow them", &["follow_user"]),
    ("follow", &["follow_user"]),
    ("关注", &["follow_user"]),
    ("add it", &["add_address"]),
    ("save it", &["add_address"]),
    ("添加", &["add_address"]),
    ("claim it", &["claim_coupon"]),
    ("领取", &["claim_coupon"]),
];

const NO: &[&str] = &[
    "no",
    "nope",
    "nah",
    "n",
    "no thanks",
    "no thank you",
    "don't",
    "dont",
    "do not",
    "don't do it",
    "stop",
    "cancel",
    "cancel that",
    "cancel it",
    "never mind",
    "nevermind",
    "forget it",
    "reject",
    "not now",
    "no way",
    "不",
    "不要",
    "不用",
    "不用了",
    "算了",
    "别",
    "取消",
    "不了",
    "先不",
    "先不要",
    "否",
    "不行",
];

/// Words that add nothing to a yes or a no.
const FILLER: &[&str] = &[
    "please", "pls", "now", "then", "it", "that", "this", "just", "and", "so", "oh", "well", "go",
    "right", "away", "请", "谢谢", "吧", "啊", "呀", "了", "呢", "那就", "那", "就", "现在",
    "马上", "哈", "哦", "的",
];

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// Lowercase words; every Han character is a word of its own, punctuation separates.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.to_lowercase().chars() {
        if is_han(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() || c == '\'' || c == '\u{2019}' {
            word.push(if c == '\u{2019}' { '\'' } else { c });
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A phrase as words (Han phrases split per character, like the text).
fn phrase_words(phrase: &str) -> Vec<String> {
    words(phrase)
}

/// What `text` says about a pending action of `tool`.
pub fn classify(text: &str, tool: &str) -> Reply {
    let words = words(text);
    if words.is_empty() || words.len() > 12 {
        return Reply::Other;
    }
    let mut phrases: Vec<(Vec<String>, Reply)> = Vec::new();
    phrases.extend(YES.iter().map(|p| (phrase_words(p), Reply::Approve)));
    phrases.extend(YES_TO.iter().map(|(p, tools)| {
        let reply = if tools.contains(&tool) {
            Reply::Approve
        } else {
            Reply::Other
        };
        (phrase_words(p), reply)
    }));
    phrases.extend(NO.iter().map(|p| (phrase_words(p), Reply::Reject)));
    phrases.extend(FILLER.iter().map(|p| (phrase_words(p), Reply::Other)));
    // Longest phrases first, so "no thanks" is one rejection and "yes please" one approval.
    phrases.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    let fillers: Vec<Vec<String>> = FILLER.iter().map(|p| phrase_words(p)).collect();
    let (mut yes, mut no) = (false, false);
    let mut at = 0;
    'scan: while at < words.len() {
        for (phrase, reply) in &phrases {
            if !phrase.is_empty() && words[at..].starts_with(phrase) {
                let filler = fillers.contains(phrase);
                match reply {
                    Reply::Approve => yes = true,
                    Reply::Reject => no = true,
                    // An action word for another kind of action: not an approval of this one.
                    Reply::Other if !filler => return Reply::Other,
                    Reply::Other => {}
                }
                at += phrase.len();
                continue 'scan;
            }
        }
        return Reply::Other;
    }
    match (yes, no) {
        (true, false) => Reply::Approve,
        (false, true) => Reply::Reject,
        _ => Reply::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affirmations_people_use_approve() {
        for text in [
            "yes",
            "Yes!",
            "yes, go ahead",
            "sure, do it",
            "ok place the order",
            "OK, please proceed.",
            "yes please",
            "确认",
            "好的，下单吧",
            "好",
            "可以的",
            "that's right, please",
        ] {
            assert_eq!(classify(text, "checkout"), Reply::Approve, "{text}");
        }
        assert_eq!(classify("pay now", "pay_order"), Reply::Approve);
        assert_eq!(classify("好的，付款", "pay_order"), Reply::Approve);
    }

    #[test]
    fn conditions_requests_and_other_actions_are_not_approvals() {
        for text in [
            "yes but use my other card",
            "yes and also add socks",
            "yes if it is under 50",
            "ok, what colours does it come in?",
            "yes no",
            "好的，但是换成蓝色",
            "show me more shoes",
            "maybe",
            "ok thanks",
        ] {
            assert_eq!(classify(text, "checkout"), Reply::Other, "{text}");
        }
        // An action word approves only its own kind of action.
        assert_eq!(classify("pay now", "checkout"), Reply::Other);
        assert_eq!(classify("ok place the order", "pay_order"), Reply::Other);
        assert_eq!(classify("下单吧", "follow_user"), Reply::Other);
    }

    #[test]
    fn rejections_drop_the_action() {
        for text in [
            "no",
            "No thanks.",
            "cancel that",
            "never mind",
            "算了",
            "不要了",
            "不用",
        ] {
            assert_eq!(classify(text, "checkout"), Reply::Reject, "{text}");
        }
    }
}
