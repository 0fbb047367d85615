//! Social requests: relations (following people and sellers, followers), profiles, likes, favorites, comments,
//! feeds and direct messages. Their journeys are in `journey::social`, their replies in `reply::social`.
//! Detection is pure, like the rest of the planner, and reads only the shopper's own message: a name or
//! a comment text comes from what the shopper typed, never from a tool result.
//!
//! Writing requests ("comment 'great shoes' on the trail runner", "tell bruno 'see you'") are detected first,
//! before any other intent, because the quoted text is the shopper's to say and must not be read as a request
//! of its own ("tell bruno 'check out now'" sends a message; it does not check out).

use super::slots::{self, ItemRequest, Reference};
use super::text::{Re, captures, cut, found};

/// A social request.
#[derive(Debug, Clone, PartialEq)]
pub enum Social {
    Follow(Person),
    Unfollow(Person),
    /// Whom the shopper follows.
    Following,
    /// Who follows the shopper.
    Followers,
    Profile(Person),
    /// Like a post of the feed shown ("like the second post").
    Like(Option<Reference>),
    Favorite(ItemRequest),
    Unfavorite(ItemRequest),
    /// The shopper's favorite products.
    Favorites,
    /// Comments on a product, or on a post of the feed when `post` is set.
    Comments {
        on: ItemRequest,
        post: bool,
    },
    /// Comment on a product (or a post) with the shopper's text.
    Comment {
        on: ItemRequest,
        post: bool,
        text: String,
    },
    /// "comment on the trail runner" without saying what: ask for the text.
    CommentWithoutText,
    Feed {
        discover: bool,
    },
    Message {
        to: String,
        text: String,
    },
    /// The conversation with one user, or the list of conversations.
    Messages {
        with: Option<String>,
    },
}

/// Whom a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    /// A username or shop name as the shopper typed it.
    Named(String),
    /// The shopper.
    Me,
    /// The seller of the product in focus ("follow this seller").
    SellerInFocus,
}

patterns! {
    // Writing: run on the shopper's text with case kept; quotes folded to ASCII.
    MSG_TELL = r#"(?i)^(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:tell|message|dm|text)\s+@?([a-z0-9_.-]+)\s*(?::|,|saying|that)?\s*(.+)$"#;
    MSG_SEND = r#"(?i)^(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:send|write)\s+@?([a-z0-9_.-]+)\s+an?\s+(?:message|dm|note|text)\s*(?::|,|saying|that\s+says)?\s*(.+)$"#;
    MSG_SEND_TO = r#"(?i)^(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:send|write)\s+an?\s+(?:message|dm|note|text)\s+to\s+@?([a-z0-9_.-]+)\s*(?::|,|saying|that\s+says)?\s*(.+)$"#;
    MSG_ZH = r#"(?i)^(?:请|帮我)?\s*(?:给|跟|和|向)\s*@?([a-z0-9_.-]+)\s*(?:发(?:个|一条|条)?(?:消息|私信|信息)|说|留言)\s*(?:说)?\s*[:,]?\s*(.+)$"#;
    MSG_ZH_TELL = r#"(?i)^(?:请|帮我)?\s*(?:告诉|私信)\s*@?([a-z0-9_.-]+)\s*[:,]?\s*(.+)$"#;
    CMT_QUOTED_ON = r#"(?i)^(?:please\s+)?(?:comment|reply|write|post|leave|add)\s+(?:a\s+comment\s+)?("[^"]+"|'[^']+')\s+(?:on|under|to|for)\s+(.+?)[.!?]*$"#;
    CMT_ON_QUOTED = r#"(?i)^(?:please\s+)?(?:(?:leave|post|write|add|make)\s+)?(?:a\s+)?comment\s+(?:on|under|for)\s+(.+?)\s*(?::|,)?\s*(?:saying\s+)?("[^"]+"|'[^']+')[.!]*$"#;
    CMT_ON_SAYING = r#"(?i)^(?:please\s+)?(?:(?:leave|post|write|add|make)\s+)?(?:a\s+)?comment\s+(?:on|under|for)\s+(.+?)\s*(?::|\bsaying\b|\bthat\s+says\b)\s*(.+)$"#;
    CMT_ZH = r#"(?i)^(?:请|帮我)?\s*(?:在|给|对)\s*(.+?)\s*(?:下面|下边|下方|下|上)?\s*(?:发表评论|发评论|评论|留言|留个言)\s*(?:说|一下)?\s*[:,]?\s*(.+)$"#;
    CMT_ZH_ON = r#"(?i)^(?:请|帮我)?\s*评论\s*(.+?)\s*[:,]\s*(.+)$"#;
    CMT_WITHOUT_TEXT = r"^(?:please\s+)?(?:(?:leave|post|write|add|make)\s+)?(?:a\s+)?comment\s+(?:on|under)\b|^(?:我想|我要|帮我)?(?:评论一下|发(?:个|一条)?评论|留个?言)\s*$";

    // Reading and following: run on the normalised message.
    UNFOLLOW = r"\b(?:unfollow|stop\s+following|no\s+longer\s+follow)\s+@?(.+?)[.!?]*$|(?:取消关注|取关)\s*@?(.+?)[.!?]*$";
    FOLLOWERS_COUNT = r"\bhow\s+many\s+(?:followers|people\s+follow\s+me)\b|我有多少(?:个)?粉丝|我的粉丝数";
    FOLLOWING = r"\bwho\s+(?:do|am)\s+i\s+follow(?:ing)?\b|\b(?:people|users|sellers|shops|accounts|stores)\s+(?:that\s+|who\s+)?i(?:'m|\s+am)?\s+follow(?:ing)?\b|\bmy\s+(?:following|follows)\b|\bwho\s+i(?:'m|\s+am)?\s+follow(?:ing)?\b|我(?:都)?关注了?(?:谁|哪些|的人|的卖家|的店|的用户)|我的关注|关注列表";
    FOLLOWERS = r"\bmy\s+followers\b|\bwho\s+follows\s+me\b|\bwho(?:'s|\s+is)\s+following\s+me\b|我的粉丝|谁关注了我|关注我的人|粉丝列表";
    FOLLOW = r"^(?:please\s+|can\s+you\s+|could\s+you\s+|i\s+want\s+to\s+|i'd\s+like\s+to\s+|let's\s+)?follow\s+@?(.+?)(?:\s+for\s+me)?[.!?]*$|^(?:请|帮我|我要|我想)?\s*关注(?:一下)?\s*@?(.+?)[.!?]*$";
    MY_PROFILE = r"\bmy\s+(?:public\s+|social\s+)profile\b|\bmy\s+(?:follower|social)\s+(?:counts?|stats)\b|我的主页|我的个人主页";
    PROFILE_OF = r"\bprofile\s+(?:of|for)\s+@?(.+?)[.!?]*$|(?:^|\s)@?([a-z0-9_.-]+)'s\s+(?:public\s+)?(?:profile|page)\b|^(?:show|view|open)\s+(?:me\s+)?@([a-z0-9_.-]+)$|(?:^|看看|查看|打开)\s*@?([a-z0-9_. -]+?)\s*的(?:主页|个人主页|资料|个人资料)";
    SELLER_WORDS = r"^(?:the|this|that|its)\s+(?:seller|shop|store)$|^(?:seller|them|him|her)$|^(?:这个|该|这家|那个)?(?:卖家|店铺|商家|店)$";
    LIKE = r"\blike\s+(?:the\s+|this\s+|that\s+)?(?:[a-z0-9]+\s+)?post\b|点赞|点个赞|赞一下|赞一个";
    UNFAVORITE = r"\bunfavou?rite\b|\b(?:remove|delete|take)\b.*\bfrom\s+(?:my\s+)?(?:favou?rites|wish\s*list)\b|取消收藏";
    FAVORITE = r"\b(?:add|put|save)\b.*\bto\s+(?:my\s+)?(?:favou?rites|wish\s*list|saved(?:\s+items)?)\b|\b(?:favou?rite|bookmark)\s+(?:it|this|that|the|them)\b|\bsave\s+(?:it|this|that|the\s+.+?)\s+(?:for\s+later|to\s+(?:my\s+)?favou?rites)\b|\bsave\s+(?:it|this|that)(?:\s+(?:one|product|item))?[.!]*$|\bsave\s+the\s+(?:first|second|third|fourth|fifth|last|\d+(?:st|nd|rd|th))\s+one\b|^收藏[.!]*$|收藏(?:这个|那个|这款|它|第|一下)|把.+收藏|加(?:入|到)收藏";
    FAVORITE_WORDS = r"\b(?:add|put|save|favou?rite|bookmark|unfavou?rite|remove|delete|take)\b|\b(?:to|from)\s+(?:my\s+)?(?:favou?rites|wish\s*list|saved(?:\s+items)?)\b|\bfor\s+later\b|取消收藏|收藏|把|加入|加到|一下";
    FAVORITES = r"^(?:favou?rites|wish\s*list|saved)[.!?]*$|\bmy\s+(?:favou?rites|saved\s+(?:products|items)|wish\s*list)\b|\b(?:show|list|see|view|what(?:'s|\s+is|\s+are))\b.*\b(?:favou?rites|wish\s*list)\b|\bwhat\s+(?:have|did)\s+i\s+(?:saved|favou?rited)\b|我的收藏|收藏夹|收藏了(?:什么|哪些)|收藏列表|我收藏的";
    COMMENTS = r"\b(?:show|see|read|view|list|check|get)\b.*\bcomments\b|\bcomments\s+(?:on|for|about|of|under)\b|\bwhat\s+(?:are\s+)?(?:people|others|buyers|shoppers)\s+say(?:ing)?\b|\bany\s+comments\b|评论区|(?:看|查看|读)(?:看|一下)?.*评论|评论(?:有哪些|怎么样|都说了什么|说了什么)|大家怎么说";
    COMMENTS_WORDS = r"\b(?:show|see|read|view|list|check|get|me|any|the|comments|on|for|about|of|under|what|are|people|others|buyers|shoppers|say|saying)\b|评论区|评论|有哪些|怎么样|都说了什么|说了什么|大家怎么说|看看|查看|看一下|读|的";
    POST_WORD = r"\bposts?\b|帖子|动态";
    FEED = r"^(?:my\s+)?feed[.!?]*$|\b(?:my|the|show|open|see|view|check|following)\s+(?:(?:my|the)\s+)?feed\b|^(?:discover|explore)[.!]*$|\b(?:show|open|go\s+to|see|check)\s+(?:me\s+)?(?:the\s+)?(?:discover|explore)\b|\bdiscover(?:y)?\s+(?:feed|page|tab)\b|\b(?:latest|new|recent|trending)\s+posts\b|\bposts\s+from\b|\bwhat'?s\s+new\s+from\b|\bwhat\s+are\s+people\s+posting\b|动态|帖子|发现页|推荐页|广场";
    DISCOVER = r"\bdiscover\b|\bexplore\b|\btrending\b|\beveryone\b|\ball\s+posts\b|\bpeople\s+posting\b|发现|推荐|广场|大家";
    MESSAGES = r"\b(?:my|new|unread|any)\s+(?:messages|dms|inbox|chats|conversations)\b|\b(?:read|show|check|open|see|view|list)\b.*\b(?:messages|dms|inbox|chats?|conversations?)\b|\b(?:messages|chat|conversation|dms)\s+(?:from|with)\s+@?[a-z0-9_.-]+|我的(?:消息|私信)|(?:看|查看|读|打开)(?:看|一下)?.*(?:消息|私信|聊天)|收件箱|(?:和|跟|与)\s*@?[a-z0-9_.-]+\s*的(?:聊天|对话|消息|私信)|[a-z0-9_.-]+\s*(?:给我)?发(?:来)?的(?:消息|私信)";
    MESSAGES_WITH = r"\b(?:from|with)\s+@?([a-z0-9_.-]+)|(?:和|跟|与)\s*@?([a-z0-9_.-]+)\s*的|([a-z0-9_.-]+)\s*(?:给我)?发(?:来)?的";
}

/// Words that are never a user's name in "tell X ...", "messages from X".
const NOT_A_NAME: &[&str] = &[
    "me", "us", "my", "myself", "i", "you", "him", "her", "them", "it", "everyone", "someone",
    "about", "the", "a", "an", "all", "up", "on", "to", "what", "how", "more",
];

/// The shopper's text with quotes and whitespace folded like [`super::text::normalize`], but case kept.
fn fold(raw: &str) -> String {
    let folded: String = raw
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '“' | '”' | '「' | '」' | '『' | '』' => '"',
            '‘' | '’' => '\'',
            _ => c,
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text the shopper wants written, without the quotes around it.
fn said(text: &str) -> String {
    let t = text.trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| t.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)))
        .unwrap_or(t);
    unquoted.trim().to_owned()
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && !NOT_A_NAME.contains(&name.to_lowercase().as_str())
}

fn groups<'t>(re: &Re, text: &'t str) -> Option<Vec<&'t str>> {
    let caps = captures(re, text)?;
    Some(
        caps.iter()
            .skip(1)
            .map(|g| g.map(|m| m.as_str()).unwrap_or(""))
            .collect(),
    )
}

/// The first non-empty group of a match.
fn first_group(re: &Re, text: &str) -> Option<String> {
    groups(re, text)?
        .into_iter()
        .find(|g| !g.trim().is_empty())
        .map(|g| g.trim().to_owned())
}

/// A product (or post) named in a comment request, as an item request: "the trail runner", "this", "第二个".
fn target(text: &str) -> (ItemRequest, bool) {
    let lowered = super::text::normalize(text);
    let post = found(&POST_WORD, &lowered);
    let text = if post {
        lowered
            .replace("posts", "one")
            .replace("post", "one")
            .replace("帖子", "")
    } else {
        lowered
    };
    let text = text
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_owned();
    (ItemRequest::parse(&text), post)
}

/// A message or a comment with the shopper's text, read from the raw message.
pub fn writing(raw: &str) -> Option<Social> {
    let t = fold(raw);
    let forms: [(&Re, bool); 5] = [
        (&MSG_SEND, false),
        (&MSG_SEND_TO, false),
        (&MSG_TELL, true),
        (&MSG_ZH, false),
        (&MSG_ZH_TELL, false),
    ];
    for (re, tell) in forms {
        if let Some(g) = groups(re, &t) {
            let (to, text) = (
                g.first().copied().unwrap_or(""),
                said(g.get(1).copied().unwrap_or("")),
            );
            // "tell me about the trail runner" is not a message to anyone.
            if is_name(to) && !text.is_empty() && (!tell || tell_has_text(&t)) {
                return Some(Social::Message {
                    to: to.to_owned(),
                    text,
                });
            }
        }
    }
    if let Some(g) = groups(&CMT_QUOTED_ON, &t) {
        let (on, post) = target(g.get(1).copied().unwrap_or(""));
        return Some(Social::Comment {
            on,
            post,
            text: said(g.first().copied().unwrap_or("")),
        });
    }
    for re in [&CMT_ON_QUOTED, &CMT_ON_SAYING, &CMT_ZH, &CMT_ZH_ON] {
        if let Some(g) = groups(re, &t) {
            let text = said(g.get(1).copied().unwrap_or(""));
            if !text.is_empty() {
                let (on, post) = target(g.first().copied().unwrap_or(""));
                return Some(Social::Comment { on, post, text });
            }
        }
    }
    None
}

/// "tell bruno 'hi'", "tell bruno: hi", "tell bruno that ..." carry a message; "tell bruno about it" does not.
fn tell_has_text(t: &str) -> bool {
    let lower = t.to_lowercase();
    let Some(rest) = lower.split_whitespace().nth(2) else {
        return false;
    };
    lower.contains('"')
        || lower.contains('\'') && !lower.contains("'s ")
        || lower.contains(':')
        || lower.contains(',')
        || rest == "that"
        || rest == "saying"
}

/// Following, profiles, likes, favorites, comments, feeds and reading messages, from the normalised message.
pub fn reading(t: &str) -> Option<Social> {
    if let Some(name) = first_group(&UNFOLLOW, t) {
        return Some(Social::Unfollow(person(&name)));
    }
    if found(&FOLLOWERS_COUNT, t) || found(&MY_PROFILE, t) {
        return Some(Social::Profile(Person::Me));
    }
    if found(&FOLLOWING, t) {
        return Some(Social::Following);
    }
    if found(&FOLLOWERS, t) {
        return Some(Social::Followers);
    }
    if let Some(name) = first_group(&FOLLOW, t)
        && !name.starts_with("up")
        && !name.contains("order")
        && !name.starts_with('的')
    {
        return Some(Social::Follow(person(&name)));
    }
    if let Some(name) = first_group(&PROFILE_OF, t) {
        return Some(Social::Profile(person(&name)));
    }
    if found(&MESSAGES, t) {
        let with = first_group(&MESSAGES_WITH, t).filter(|n| is_name(n));
        return Some(Social::Messages { with });
    }
    if found(&LIKE, t) {
        let (request, _) = target(t);
        return Some(Social::Like(request.reference));
    }
    if found(&UNFAVORITE, t) {
        return Some(Social::Unfavorite(item(t, &FAVORITE_WORDS)));
    }
    if found(&FAVORITE, t) {
        return Some(Social::Favorite(item(t, &FAVORITE_WORDS)));
    }
    if found(&FAVORITES, t) {
        return Some(Social::Favorites);
    }
    if found(&CMT_WITHOUT_TEXT, t) {
        return Some(Social::CommentWithoutText);
    }
    if found(&COMMENTS, t) {
        let mut rest = t.to_owned();
        while cut(&COMMENTS_WORDS, &mut rest).is_some() {}
        let (on, post) = target(&rest);
        let post = post || found(&POST_WORD, t);
        return Some(Social::Comments { on, post });
    }
    if found(&FEED, t) {
        return Some(Social::Feed {
            discover: found(&DISCOVER, t),
        });
    }
    None
}

/// The product a favorite request is about, with the request's own words cut.
fn item(t: &str, words: &Re) -> ItemRequest {
    let mut rest = t.to_owned();
    while cut(words, &mut rest).is_some() {}
    let rest = rest.replace(" my ", " ");
    let mut request = ItemRequest::parse(rest.trim());
    if request.reference.is_none() && slots::search_filters(&request.text).query.is_empty() {
        request.reference = Some(Reference::This);
    }
    request
}

fn person(name: &str) -> Person {
    let name = name.trim().trim_start_matches('@').trim();
    if found(&SELLER_WORDS, name) {
        return Person::SellerInFocus;
    }
    if ["me", "myself", "my", "我", "我自己"].contains(&name) {
        return Person::Me;
    }
    Person::Named(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        for (name, re) in ALL_PATTERNS {
            assert!(
                std::sync::LazyLock::force(re).is_some(),
                "{name} does not compile"
            );
        }
    }

    fn named(name: &str) -> Person {
        Person::Named(name.to_owned())
    }

    #[test]
    fn messages_and_comments_keep_the_shoppers_words() {
        let message = |to: &str, text: &str| Social::Message {
            to: to.to_owned(),
            text: text.to_owned(),
        };
        assert_eq!(
            writing("tell bruno 'See you Friday!'"),
            Some(message("bruno", "See you Friday!"))
        );
        assert_eq!(
            writing("send bruno a message: Check out now"),
            Some(message("bruno", "Check out now"))
        );
        assert_eq!(
            writing("Send a message to @bruno saying \"hi\""),
            Some(message("bruno", "hi"))
        );
        assert_eq!(
            writing("给bruno发消息：周五见"),
            Some(message("bruno", "周五见"))
        );
        assert_eq!(
            writing("告诉bruno“鞋子到了”"),
            Some(message("bruno", "鞋子到了"))
        );
        assert_eq!(writing("tell me about the trail runner"), None);
        assert_eq!(writing("tell bruno about it"), None);

        let Some(Social::Comment { on, post, text }) =
            writing("comment 'Great shoes' on the trail runner")
        else {
            panic!("a comment");
        };
        assert_eq!(
            (on.text.as_str(), post, text.as_str()),
            ("the trail runner", false, "Great shoes")
        );
        let Some(Social::Comment { on, text, .. }) =
            writing("leave a comment on the second one saying Fits true to size")
        else {
            panic!("a comment");
        };
        assert_eq!(
            (on.reference, text.as_str()),
            (Some(Reference::Ordinal(2)), "Fits true to size")
        );
        let Some(Social::Comment { on, text, .. }) = writing("在这个商品下面评论：很舒服")
        else {
            panic!("a comment");
        };
        assert_eq!(
            (on.reference, text.as_str()),
            (Some(Reference::This), "很舒服")
        );
        let Some(Social::Comment { post, text, .. }) =
            writing("comment \"love it\" on the first post")
        else {
            panic!("a comment");
        };
        assert_eq!((post, text.as_str()), (true, "love it"));
    }

    #[test]
    fn reading_requests() {
        let cases = [
            ("follow trailco", Some(Social::Follow(named("trailco")))),
            ("关注trailco", Some(Social::Follow(named("trailco")))),
            (
                "please follow trail co",
                Some(Social::Follow(named("trail co"))),
            ),
            (
                "follow this seller",
                Some(Social::Follow(Person::SellerInFocus)),
            ),
            ("关注这个卖家", Some(Social::Follow(Person::SellerInFocus))),
            ("unfollow trailco", Some(Social::Unfollow(named("trailco")))),
            ("取消关注trailco", Some(Social::Unfollow(named("trailco")))),
            ("who do i follow?", Some(Social::Following)),
            ("我关注了谁", Some(Social::Following)),
            ("my followers", Some(Social::Followers)),
            ("谁关注了我", Some(Social::Followers)),
            (
                "how many followers do i have",
                Some(Social::Profile(Person::Me)),
            ),
            (
                "show me trailco's profile",
                Some(Social::Profile(named("trailco"))),
            ),
            (
                "show the profile of trail co",
                Some(Social::Profile(named("trail co"))),
            ),
            ("看看trailco的主页", Some(Social::Profile(named("trailco")))),
            ("my favorites", Some(Social::Favorites)),
            ("我的收藏", Some(Social::Favorites)),
            ("show my feed", Some(Social::Feed { discover: false })),
            ("discover", Some(Social::Feed { discover: true })),
            ("看看发现页", Some(Social::Feed { discover: true })),
            ("my messages", Some(Social::Messages { with: None })),
            (
                "read my messages from bruno",
                Some(Social::Messages {
                    with: Some("bruno".to_owned()),
                }),
            ),
            (
                "看看和bruno的聊天",
                Some(Social::Messages {
                    with: Some("bruno".to_owned()),
                }),
            ),
            ("follow up on my order", None),
            ("i like the first one", None),
            ("find trail shoes", None),
            ("find dog feed bowls", None),
            ("show me the product page for the trail runner", None),
            ("explore the feed", Some(Social::Feed { discover: true })),
        ];
        for (text, expected) in cases {
            assert_eq!(reading(text), expected, "{text}");
        }
        assert!(matches!(
            reading("like the second post"),
            Some(Social::Like(Some(Reference::Ordinal(2))))
        ));
        assert!(matches!(
            reading("给第一个帖子点赞"),
            Some(Social::Like(Some(Reference::Ordinal(1))))
        ));
        let Some(Social::Favorite(request)) = reading("favorite the trail runner") else {
            panic!("a favorite");
        };
        assert_eq!(request.text, "the trail runner");
        let Some(Social::Favorite(request)) = reading("save this for later") else {
            panic!("a favorite");
        };
        assert_eq!(request.reference, Some(Reference::This));
        assert!(matches!(reading("收藏这个"), Some(Social::Favorite(_))));
        assert!(matches!(
            reading("add it to my wishlist"),
            Some(Social::Favorite(_))
        ));
        assert!(matches!(
            reading("remove it from my favorites"),
            Some(Social::Unfavorite(_))
        ));
        let Some(Social::Comments { on, post }) = reading("show comments on the trail runner")
        else {
            panic!("comments");
        };
        assert_eq!((on.text.as_str(), post), ("trail runner", false));
        assert!(matches!(
            reading("看看这个商品的评论"),
            Some(Social::Comments { post: false, .. })
        ));
        assert_eq!(
            reading("comment on the trail runner"),
            Some(Social::CommentWithoutText)
        );
    }
}
