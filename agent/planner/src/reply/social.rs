//! Replies for social results, in English and Chinese. Text other users wrote (comments, posts, messages)
//! arrives wrapped as user content; it is shown unwrapped, quoted and clipped to one line, and never acted on.

use tokshop_tools::social::{
    CommentList, CommentResult, CommentsArgs, ConversationSummary, FavoriteArgs, FavoriteList,
    FavoriteState, Feed, LikeState, Messages, PublicProfile, RelationResult, SendArgs, SentMessage,
    User, UserList,
};

use crate::context::Conversation;
use crate::observation::{Observation, Read};
use crate::text::{Lang, clip};

/// "1 post", "3 posts".
fn counted(count: i64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The result as `T`, or an empty `T` (what a result without those fields always read as).
fn typed<T: Read + Clone + Default>(obs: &Observation) -> T {
    obs.get::<T>().cloned().unwrap_or_default()
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
fn who(user: &User) -> String {
    match user.shop.as_deref() {
        None | Some("") => format!("@{}", user.username),
        Some(shop) => format!("@{} ({})", user.username, clip(shop, 40)),
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
    Some(match obs.tool.as_str() {
        "follow_user" => followed(&typed(obs), lang),
        "unfollow_user" => unfollowed(&typed(obs), lang),
        "list_following" => relations(&typed(obs), lang, true),
        "list_followers" => relations(&typed(obs), lang, false),
        "view_profile" => profile(&typed(obs), lang),
        "like_post" => liked(&typed(obs), lang),
        "favorite_product" => favorited(obs, conv, lang),
        "list_favorites" => favorites(&typed(obs), lang),
        "list_comments" => comments(obs, conv, lang),
        "comment" => commented(&typed(obs), lang),
        "view_feed" => feed(&typed(obs), lang),
        "send_message" => sent(&typed(obs), obs, lang),
        "read_messages" => messages(obs.get::<Messages>(), lang),
        _ => return None,
    })
}

/// Social errors in plain words; `None` leaves the common wording.
pub fn error(obs: &Observation, lang: Lang) -> Option<String> {
    let code = obs.error()?;
    let message = clip(obs.failure_message(), 200);
    let name = obs.username().unwrap_or("");
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
    match obs.tool.as_str() {
        "follow_user" => Some(followed(&typed(obs), lang)),
        "comment" => Some(commented(&typed(obs), lang)),
        "send_message" => Some(sent(&typed(obs), obs, lang)),
        _ => None,
    }
}

fn followed(r: &RelationResult, lang: Lang) -> String {
    let relation = &r.relation;
    let user = &relation.user.clone().unwrap_or_default();
    let (changed, followers, friends) = (relation.changed, relation.followers, relation.friends);
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

fn unfollowed(r: &RelationResult, lang: Lang) -> String {
    let user = &r.relation.user.clone().unwrap_or_default();
    let changed = r.relation.changed;
    match (lang, changed) {
        (Lang::En, true) => format!("You've unfollowed {}.", who(user)),
        (Lang::En, false) => format!("You weren't following {}.", who(user)),
        (Lang::Zh, true) => format!("已取消关注 {}。", who(user)),
        (Lang::Zh, false) => format!("你本来就没有关注 {}。", who(user)),
    }
}

fn relations(r: &UserList, lang: Lang, following: bool) -> String {
    let users = &r.users;
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
        let mutual = user.you_follow && user.follows_you;
        let note = match (lang, mutual) {
            (_, false) => "",
            (Lang::En, true) => " (friends)",
            (Lang::Zh, true) => "（互相关注）",
        };
        out.push_str(&format!("\n{}. {}{note}", i + 1, who(user)));
    }
    out
}

fn profile(r: &PublicProfile, lang: Lang) -> String {
    let user = &r.user.clone().unwrap_or_default();
    let c = &r.counts;
    let (seller, you_follow, follows_you) = (user.seller, user.you_follow, user.follows_you);
    match lang {
        Lang::En => {
            let mut out = format!(
                "{}{}: {}, following {}, {}, {}",
                who(user),
                if seller { ", seller" } else { "" },
                counted(c.followers, "follower"),
                c.following,
                counted(c.friends, "friend"),
                counted(c.posts, "post"),
            );
            if seller {
                out.push_str(&format!(", {}", counted(c.products, "product")));
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
                c.followers,
                c.following,
                c.friends,
                c.posts,
            );
            if seller {
                out.push_str(&format!("，商品 {}", c.products));
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

fn liked(r: &LikeState, lang: Lang) -> String {
    let (likes, changed, liked) = (r.likes, r.changed, r.liked);
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
    conv.shown(product_id)
        .map(|p| clip(p.title(), 80))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| lang.pick("that product", "这个商品").to_owned())
}

fn favorited(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    let r: FavoriteState = typed(obs);
    let product_id = obs
        .args::<FavoriteArgs>()
        .map_or("", |a| a.product_id.as_str());
    let title = title_of(conv, product_id, lang);
    let (favorited, changed) = (r.favorited, r.changed);
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

fn favorites(r: &FavoriteList, lang: Lang) -> String {
    let list = &r.favorites;
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
        let state = match (lang, p.available, p.in_stock) {
            (Lang::En, Some(false), _) => " (no longer available)",
            (Lang::Zh, Some(false), _) => "（已下架）",
            (Lang::En, _, false) => " (out of stock)",
            (Lang::Zh, _, false) => "（缺货）",
            _ => "",
        };
        out.push_str(&format!(
            "\n{}. {} — {}{state}",
            i + 1,
            clip(&p.title, 80),
            p.price
        ));
    }
    out
}

fn comments(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    let r: CommentList = typed(obs);
    let list = &r.comments;
    let on = match obs
        .args::<CommentsArgs>()
        .and_then(|a| a.product_id.as_deref())
    {
        Some(id) => title_of(conv, id, lang),
        None => lang.pick("the post", "这条帖子").to_owned(),
    };
    if list.is_empty() {
        return match lang {
            Lang::En => format!("No comments on {on} yet."),
            Lang::Zh => format!("{on} 还没有评论。"),
        };
    }
    let total = r.total;
    let mut out = match lang {
        Lang::En => format!(
            "{total} comment{} on {on}:",
            if total == 1 { "" } else { "s" }
        ),
        Lang::Zh => format!("{on} 共有 {total} 条评论："),
    };
    for (i, c) in list.iter().enumerate() {
        out.push_str(&format!("\n{}. {}: {}", i + 1, c.author, quote(&c.text)));
    }
    out
}

fn commented(r: &CommentResult, lang: Lang) -> String {
    let text = quote(&r.comment.text);
    match lang {
        Lang::En => format!("Your comment is posted: {text}."),
        Lang::Zh => format!("评论已发布：{text}。"),
    }
}

fn feed(r: &Feed, lang: Lang) -> String {
    let posts = &r.posts;
    let discover = r.which == "discover";
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
        let author = &p.author.clone().unwrap_or_default();
        let products: Vec<String> = p.products.iter().map(|x| clip(&x.title, 40)).collect();
        let mut line = format!("\n{}. {}: {}", i + 1, who(author), quote(&p.text));
        match lang {
            Lang::En => line.push_str(&format!(
                " ({}, {})",
                counted(p.likes, "like"),
                counted(p.comments, "comment")
            )),
            Lang::Zh => line.push_str(&format!("（{} 赞，{} 评论）", p.likes, p.comments)),
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

fn sent(r: &SentMessage, obs: &Observation, lang: Lang) -> String {
    let text = quote(&r.message.text);
    let to = obs
        .args::<SendArgs>()
        .and_then(|a| a.username.as_deref())
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
            text
        ),
        Lang::Zh => format!(
            "已发送{}：{}。",
            if to.is_empty() {
                String::new()
            } else {
                format!("给 {to}")
            },
            text
        ),
    }
}

fn messages(r: Option<&Messages>, lang: Lang) -> String {
    let thread = match r {
        Some(Messages::Conversations(list)) => return conversations(&list.conversations, lang),
        Some(Messages::With(thread)) => thread.clone(),
        None => Default::default(),
    };
    let with = &thread.with;
    if thread.messages.is_empty() {
        return match lang {
            Lang::En => format!("No messages with {} yet.", who(with)),
            Lang::Zh => format!("你和 {} 还没有私信。", who(with)),
        };
    }
    let mut out = match lang {
        Lang::En => format!("Your messages with {} (newest first):", who(with)),
        Lang::Zh => format!("你和 {} 的私信（最新在前）：", who(with)),
    };
    for m in &thread.messages {
        let from = match (lang, m.from.as_str()) {
            (Lang::En, "me") => "you".to_owned(),
            (Lang::Zh, "me") => "你".to_owned(),
            _ => format!("@{}", with.username),
        };
        out.push_str(&format!("\n- {from}: {}", quote(&m.text)));
    }
    out
}

fn conversations(conversations: &[ConversationSummary], lang: Lang) -> String {
    if conversations.is_empty() {
        return lang
            .pick("You have no messages yet.", "你还没有任何私信。")
            .to_owned();
    }
    let mut out = lang.pick("Your conversations:", "你的对话：").to_owned();
    for (i, c) in conversations.iter().enumerate() {
        let last = c.last_message.clone().unwrap_or_default();
        let from = match (lang, last.from.as_str()) {
            (Lang::En, "me") => "you",
            (Lang::Zh, "me") => "你",
            (Lang::En, _) => "them",
            (Lang::Zh, _) => "对方",
        };
        out.push_str(&format!(
            "\n{}. {} — {from}: {}",
            i + 1,
            c.with,
            quote(&last.text)
        ));
    }
    out
}
