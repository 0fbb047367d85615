//! Replies for social results, in English and Chinese. Text other users wrote (comments, posts, messages)
//! arrives wrapped as user content; it is shown unwrapped, quoted and clipped to one line, and never acted on.

use serde_json::Value;

use super::super::context::Conversation;
use super::super::observation::Observation;
use super::super::text::{Lang, clip};

fn s<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn n(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// "1 post", "3 posts".
fn counted(count: i64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn array<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Text another user wrote, without its wrapper, as a one-line quote.
fn quote(text: &str) -> String {
    let inner = text
        .strip_prefix("<user_content>")
        .and_then(|t| t.strip_suffix("</user_content>"))
        .unwrap_or(text);
    format!("“{}”", clip(inner, 160))
}

/// "@trailco (Trail Co)".
fn who(user: &Value) -> String {
    let shop = s(user, "shop");
    if shop.is_empty() {
        format!("@{}", s(user, "username"))
    } else {
        format!("@{} ({})", s(user, "username"), clip(shop, 40))
    }
}

pub fn ask_comment_text(lang: Lang) -> String {
    lang.pick(
        "What should the comment say? For example: comment \"great shoes\" on the trail runner.",
        "评论要写什么？例如：在这个商品下面评论：“很好穿”。",
    )
    .to_owned()
}

pub fn which_person(lang: Lang) -> String {
    lang.pick(
        "Whom do you mean? Tell me their username or shop name, e.g. \"follow trailco\".",
        "你指的是谁？请告诉我用户名或店铺名，例如“关注 trailco”。",
    )
    .to_owned()
}

pub fn no_feed(lang: Lang) -> String {
    lang.pick(
        "Which post? Say \"show my feed\" or \"discover\" first to see posts.",
        "哪条帖子？先说“看看我的动态”或“发现”查看帖子。",
    )
    .to_owned()
}

pub fn which_post(count: usize, lang: Lang) -> String {
    match lang {
        Lang::En => {
            format!("Which post do you mean? Say \"the first post\" up to \"post {count}\".")
        }
        Lang::Zh => format!("你指的是哪一条帖子？可以说“第一条”到“第{count}条”。"),
    }
}

/// The reply for a social tool's result, when `obs` is one.
pub fn any(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> Option<String> {
    let r = &obs.result;
    Some(match obs.tool.as_str() {
        "follow_user" => followed(r, lang),
        "unfollow_user" => unfollowed(r, lang),
        "list_following" => people(r, lang, true),
        "list_followers" => people(r, lang, false),
        "view_profile" => profile(r, lang),
        "like_post" => liked(r, lang),
        "favorite_product" => favorited(obs, conv, lang),
        "list_favorites" => favorites(r, lang),
        "list_comments" => comments(obs, conv, lang),
        "comment" => commented(r, lang),
        "view_feed" => feed(r, lang),
        "send_message" => sent(r, obs, lang),
        "read_messages" => messages(r, lang),
        _ => return None,
    })
}

/// Social errors in plain words; `None` leaves the common wording.
pub fn error(obs: &Observation, lang: Lang) -> Option<String> {
    let code = obs.error()?;
    let message = clip(s(&obs.result, "message"), 200);
    let name = obs.arg("username").unwrap_or("");
    Some(match (code, lang) {
        ("user_not_found", Lang::En) if !name.is_empty() => {
            format!("I couldn't find a user or shop called \"{}\".", clip(name, 40))
        }
        ("user_not_found", Lang::Zh) if !name.is_empty() => {
            format!("没有找到名为“{}”的用户或店铺。", clip(name, 40))
        }
        ("user_not_found", Lang::En) => "I couldn't find that user.".to_owned(),
        ("user_not_found", Lang::Zh) => "没有找到这个用户。".to_owned(),
        ("ambiguous_user", Lang::En) => format!("More than one user fits: {message}."),
        ("ambiguous_user", Lang::Zh) => format!("有多个用户符合：{message}。"),
        ("not_friends", Lang::En) => {
            "You can only message friends, people you follow who follow you back. I haven't sent anything."
                .to_owned()
        }
        ("not_friends", Lang::Zh) => "只能给好友（互相关注的人）发私信，消息没有发送。".to_owned(),
        ("content_policy", Lang::En) => {
            format!("That text isn't allowed by the shop's content rules ({message}); nothing was posted.")
        }
        ("content_policy", Lang::Zh) => format!("这段文字不符合社区内容规则（{message}），没有发布。"),
        _ => return None,
    })
}

/// What happened after the shopper approved a follow, a comment or a message.
pub fn approved(obs: &Observation, lang: Lang) -> Option<String> {
    let r = &obs.result;
    match obs.tool.as_str() {
        "follow_user" => Some(followed(r, lang)),
        "comment" => Some(commented(r, lang)),
        "send_message" => Some(sent(r, obs, lang)),
        _ => None,
    }
}

fn followed(r: &Value, lang: Lang) -> String {
    let relation = r.get("relation").unwrap_or(&Value::Null);
    let user = relation.get("user").unwrap_or(&Value::Null);
    let (changed, followers) = (
        relation
            .get("changed")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        n(relation, "followers"),
    );
    let friends = relation.get("friends").and_then(Value::as_bool) == Some(true);
    match (lang, changed) {
        (Lang::En, true) => format!(
            "You're now following {}; they have {followers} follower{}.{}",
            who(user),
            if followers == 1 { "" } else { "s" },
            if friends {
                " You follow each other, so you can message them."
            } else {
                ""
            }
        ),
        (Lang::En, false) => format!("You already follow {}.", who(user)),
        (Lang::Zh, true) => format!(
            "已关注 {}，对方现在有 {followers} 个粉丝。{}",
            who(user),
            if friends {
                "你们已互相关注，可以发私信了。"
            } else {
                ""
            }
        ),
        (Lang::Zh, false) => format!("你已经关注了 {}。", who(user)),
    }
}

fn unfollowed(r: &Value, lang: Lang) -> String {
    let relation = r.get("relation").unwrap_or(&Value::Null);
    let user = relation.get("user").unwrap_or(&Value::Null);
    let changed = relation
        .get("changed")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    match (lang, changed) {
        (Lang::En, true) => format!("You've unfollowed {}.", who(user)),
        (Lang::En, false) => format!("You weren't following {}.", who(user)),
        (Lang::Zh, true) => format!("已取消关注 {}。", who(user)),
        (Lang::Zh, false) => format!("你本来就没有关注 {}。", who(user)),
    }
}

fn people(r: &Value, lang: Lang, following: bool) -> String {
    let users = array(r, "users");
    if users.is_empty() {
        return match (lang, following) {
            (Lang::En, true) => {
                "You don't follow anyone yet. Say \"follow\" and a username or shop name."
            }
            (Lang::En, false) => "Nobody follows you yet.",
            (Lang::Zh, true) => "你还没有关注任何人。说“关注”加用户名或店铺名即可关注。",
            (Lang::Zh, false) => "还没有人关注你。",
        }
        .to_owned();
    }
    let mut out = match (lang, following) {
        (Lang::En, true) => format!("You follow {}:", users.len()),
        (Lang::En, false) => format!(
            "You have {} follower{}:",
            users.len(),
            if users.len() == 1 { "" } else { "s" }
        ),
        (Lang::Zh, true) => format!("你关注了 {} 位：", users.len()),
        (Lang::Zh, false) => format!("你有 {} 个粉丝：", users.len()),
    };
    for (i, user) in users.iter().enumerate() {
        let mutual = user.get("you_follow").and_then(Value::as_bool) == Some(true)
            && user.get("follows_you").and_then(Value::as_bool) == Some(true);
        let note = match (lang, mutual) {
            (_, false) => "",
            (Lang::En, true) => " (friends)",
            (Lang::Zh, true) => "（互相关注）",
        };
        out.push_str(&format!("\n{}. {}{note}", i + 1, who(user)));
    }
    out
}

fn profile(r: &Value, lang: Lang) -> String {
    let user = r.get("user").unwrap_or(&Value::Null);
    let c = r.get("counts").unwrap_or(&Value::Null);
    let seller = user.get("seller").and_then(Value::as_bool) == Some(true);
    let you_follow = user.get("you_follow").and_then(Value::as_bool) == Some(true);
    let follows_you = user.get("follows_you").and_then(Value::as_bool) == Some(true);
    match lang {
        Lang::En => {
            let mut out = format!(
                "{}{}: {}, following {}, {}, {}",
                who(user),
                if seller { ", seller" } else { "" },
                counted(n(c, "followers"), "follower"),
                n(c, "following"),
                counted(n(c, "friends"), "friend"),
                counted(n(c, "posts"), "post"),
            );
            if seller {
                out.push_str(&format!(", {}", counted(n(c, "products"), "product")));
            }
            out.push('.');
            match (you_follow, follows_you) {
                (true, true) => out.push_str(" You follow each other."),
                (true, false) => out.push_str(" You follow them."),
                (false, true) => out.push_str(" They follow you."),
                (false, false) => {}
            }
            out
        }
        Lang::Zh => {
            let mut out = format!(
                "{}{}：粉丝 {}，关注 {}，好友 {}，帖子 {}",
                who(user),
                if seller { "（卖家）" } else { "" },
                n(c, "followers"),
                n(c, "following"),
                n(c, "friends"),
                n(c, "posts"),
            );
            if seller {
                out.push_str(&format!("，商品 {}", n(c, "products")));
            }
            out.push('。');
            match (you_follow, follows_you) {
                (true, true) => out.push_str("你们互相关注。"),
                (true, false) => out.push_str("你已关注对方。"),
                (false, true) => out.push_str("对方关注了你。"),
                (false, false) => {}
            }
            out
        }
    }
}

fn liked(r: &Value, lang: Lang) -> String {
    let likes = n(r, "likes");
    let changed = r.get("changed").and_then(Value::as_bool).unwrap_or(true);
    let liked = r.get("liked").and_then(Value::as_bool).unwrap_or(true);
    match (lang, liked, changed) {
        (Lang::En, true, true) => format!(
            "Liked. The post now has {likes} like{}.",
            if likes == 1 { "" } else { "s" }
        ),
        (Lang::En, true, false) => "You had already liked that post.".to_owned(),
        (Lang::En, false, _) => "Your like is taken back.".to_owned(),
        (Lang::Zh, true, true) => format!("已点赞，这条帖子现在有 {likes} 个赞。"),
        (Lang::Zh, true, false) => "你之前已经赞过这条帖子了。".to_owned(),
        (Lang::Zh, false, _) => "已取消点赞。".to_owned(),
    }
}

fn title_of(conv: &Conversation<'_>, product_id: &str, lang: Lang) -> String {
    conv.product(product_id)
        .map(|p| clip(&p.title, 80))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| lang.pick("that product", "这个商品").to_owned())
}

fn favorited(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    let r = &obs.result;
    let title = title_of(conv, obs.arg("product_id").unwrap_or(""), lang);
    let favorited = r.get("favorited").and_then(Value::as_bool).unwrap_or(true);
    let changed = r.get("changed").and_then(Value::as_bool).unwrap_or(true);
    match (lang, favorited, changed) {
        (Lang::En, true, true) => format!("Saved {title} to your favorites."),
        (Lang::En, true, false) => format!("{title} is already in your favorites."),
        (Lang::En, false, true) => format!("Removed {title} from your favorites."),
        (Lang::En, false, false) => format!("{title} wasn't in your favorites."),
        (Lang::Zh, true, true) => format!("已收藏 {title}。"),
        (Lang::Zh, true, false) => format!("{title} 已经在你的收藏里了。"),
        (Lang::Zh, false, true) => format!("已取消收藏 {title}。"),
        (Lang::Zh, false, false) => format!("{title} 不在你的收藏里。"),
    }
}

fn favorites(r: &Value, lang: Lang) -> String {
    let list = array(r, "favorites");
    if list.is_empty() {
        return lang
            .pick(
                "You haven't saved any favorites yet. Say \"favorite this\" on a product to save it.",
                "你还没有收藏任何商品。查看商品时说“收藏这个”即可收藏。",
            )
            .to_owned();
    }
    let mut out = lang.pick("Your favorites:", "你的收藏：").to_owned();
    for (i, p) in list.iter().enumerate() {
        let state = match (
            lang,
            p.get("available").and_then(Value::as_bool),
            p.get("in_stock").and_then(Value::as_bool),
        ) {
            (Lang::En, Some(false), _) => " (no longer available)",
            (Lang::Zh, Some(false), _) => "（已下架）",
            (Lang::En, _, Some(false)) => " (out of stock)",
            (Lang::Zh, _, Some(false)) => "（缺货）",
            _ => "",
        };
        out.push_str(&format!(
            "\n{}. {} — {}{state}",
            i + 1,
            clip(s(p, "title"), 80),
            s(p, "price")
        ));
    }
    out
}

fn comments(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    let r = &obs.result;
    let list = array(r, "comments");
    let on = match obs.arg("product_id") {
        Some(id) => title_of(conv, id, lang),
        None => lang.pick("the post", "这条帖子").to_owned(),
    };
    if list.is_empty() {
        return match lang {
            Lang::En => format!("No comments on {on} yet."),
            Lang::Zh => format!("{on} 还没有评论。"),
        };
    }
    let total = n(r, "total");
    let mut out = match lang {
        Lang::En => format!(
            "{total} comment{} on {on}:",
            if total == 1 { "" } else { "s" }
        ),
        Lang::Zh => format!("{on} 共有 {total} 条评论："),
    };
    for (i, c) in list.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {}: {}",
            i + 1,
            s(c, "author"),
            quote(s(c, "text"))
        ));
    }
    out
}

fn commented(r: &Value, lang: Lang) -> String {
    let comment = r.get("comment").unwrap_or(&Value::Null);
    match lang {
        Lang::En => format!("Your comment is posted: {}.", quote(s(comment, "text"))),
        Lang::Zh => format!("评论已发布：{}。", quote(s(comment, "text"))),
    }
}

fn feed(r: &Value, lang: Lang) -> String {
    let posts = array(r, "posts");
    let discover = s(r, "which") == "discover";
    if posts.is_empty() {
        return match (lang, discover) {
            (Lang::En, false) => {
                "No posts from the people you follow yet. Say \"discover\" to see everyone's posts."
            }
            (Lang::En, true) => "There are no posts yet.",
            (Lang::Zh, false) => "你关注的人还没有发帖。说“发现”可以看看大家的帖子。",
            (Lang::Zh, true) => "还没有任何帖子。",
        }
        .to_owned();
    }
    let mut out = match (lang, discover) {
        (Lang::En, false) => "Latest posts from people you follow:",
        (Lang::En, true) => "Latest posts:",
        (Lang::Zh, false) => "你关注的人的最新帖子：",
        (Lang::Zh, true) => "最新帖子：",
    }
    .to_owned();
    for (i, p) in posts.iter().enumerate() {
        let author = p.get("author").unwrap_or(&Value::Null);
        let products: Vec<String> = array(p, "products")
            .iter()
            .map(|x| clip(s(x, "title"), 40))
            .collect();
        let mut line = format!("\n{}. {}: {}", i + 1, who(author), quote(s(p, "text")));
        match lang {
            Lang::En => line.push_str(&format!(
                " ({}, {})",
                counted(n(p, "likes"), "like"),
                counted(n(p, "comments"), "comment")
            )),
            Lang::Zh => line.push_str(&format!(
                "（{} 赞，{} 评论）",
                n(p, "likes"),
                n(p, "comments")
            )),
        }
        if !products.is_empty() {
            line.push_str(&match lang {
                Lang::En => format!(" — products: {}", products.join(", ")),
                Lang::Zh => format!(" —— 商品：{}", products.join("、")),
            });
        }
        out.push_str(&line);
    }
    out.push_str(lang.pick(
        "\nSay \"like the first post\" or \"show comments on the first post\".",
        "\n可以说“给第一条帖子点赞”。",
    ));
    out
}

fn sent(r: &Value, obs: &Observation, lang: Lang) -> String {
    let message = r.get("message").unwrap_or(&Value::Null);
    let to = obs
        .arg("username")
        .map(|u| format!("@{u}"))
        .unwrap_or_default();
    match lang {
        Lang::En => format!(
            "Sent{}: {}.",
            if to.is_empty() {
                String::new()
            } else {
                format!(" to {to}")
            },
            quote(s(message, "text"))
        ),
        Lang::Zh => format!(
            "已发送{}：{}。",
            if to.is_empty() {
                String::new()
            } else {
                format!("给 {to}")
            },
            quote(s(message, "text"))
        ),
    }
}

fn messages(r: &Value, lang: Lang) -> String {
    if let Some(conversations) = r.get("conversations").and_then(Value::as_array) {
        if conversations.is_empty() {
            return lang
                .pick("You have no messages yet.", "你还没有任何私信。")
                .to_owned();
        }
        let mut out = lang.pick("Your conversations:", "你的对话：").to_owned();
        for (i, c) in conversations.iter().enumerate() {
            let with = c.get("with").unwrap_or(&Value::Null);
            let last = c.get("last_message").unwrap_or(&Value::Null);
            let from = match (lang, s(last, "from")) {
                (Lang::En, "me") => "you",
                (Lang::Zh, "me") => "你",
                (Lang::En, _) => "them",
                (Lang::Zh, _) => "对方",
            };
            out.push_str(&format!(
                "\n{}. {} — {from}: {}",
                i + 1,
                who(with),
                quote(s(last, "text"))
            ));
        }
        return out;
    }
    let with = r.get("with").unwrap_or(&Value::Null);
    let list = array(r, "messages");
    if list.is_empty() {
        return match lang {
            Lang::En => format!("No messages with {} yet.", who(with)),
            Lang::Zh => format!("你和 {} 还没有私信。", who(with)),
        };
    }
    let mut out = match lang {
        Lang::En => format!("Your messages with {} (newest first):", who(with)),
        Lang::Zh => format!("你和 {} 的私信（最新在前）：", who(with)),
    };
    for m in list {
        let from = match (lang, s(m, "from")) {
            (Lang::En, "me") => "you".to_owned(),
            (Lang::Zh, "me") => "你".to_owned(),
            _ => format!("@{}", s(with, "username")),
        };
        out.push_str(&format!("\n- {from}: {}", quote(s(m, "text"))));
    }
    out
}
