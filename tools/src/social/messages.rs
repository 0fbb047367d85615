//! Direct messages between friends (mutual follows).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::social as pb;

use super::relations::{UserArgs, profile};
use super::{PageArgs, Person, USER_CONTENT_NOTE, User, handle, note_if, user_text, written};
use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    guard::{Effect, GuardedTool, Lang, block},
    untrusted::{self, Source},
    view,
};

pub fn register(registry: &mut Registry) {
    registry.add_guarded(SendMessage);
    registry.add(ReadMessages);
}

/// Longest message, in characters.
const MESSAGE_CHARS: usize = 1000;

/// How much of a conversation's latest message its listing shows: a preview, so that twenty conversations stay
/// within the result budget; the conversation itself shows the message.
const PREVIEW_CHARS: usize = 60;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    pub user_id: Option<String>,
    /// Or their username.
    pub username: Option<String>,
    /// Up to 1000 characters.
    pub text: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    pub user_id: Option<String>,
    /// Or their username.
    pub username: Option<String>,
    /// 1 to 20; default 10.
    pub limit: Option<u8>,
    pub cursor: Option<String>,
}

pub struct SendMessage;

fn not_friends(message: &str) -> ToolError {
    ToolError::new("not_friends", message).with_param("user_id")
}
pub struct ReadMessages;

fn who(user_id: &Option<String>, username: &Option<String>) -> UserArgs {
    UserArgs {
        user_id: user_id.clone(),
        username: username.clone(),
    }
}

/// Who wrote a message: "me" (the shopper) or "them".
fn from(mine: bool) -> String {
    if mine { "me" } else { "them" }.to_owned()
}

/// A direct message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Message {
    pub id: String,
    /// "me" or "them".
    pub from: String,
    /// The words, as data.
    pub text: String,
    pub sent_at_ms: i64,
}

impl Message {
    fn of(m: &pb::Message, mine: bool) -> Self {
        Self {
            id: m.id.clone(),
            from: from(mine),
            text: user_text(&m.text),
            sent_at_ms: m.sent_at_ms,
        }
    }
}

/// `send_message`: the message as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SentMessage {
    pub message: Message,
    pub note: String,
}

/// The latest message of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LastMessage {
    /// "me" or "them".
    pub from: String,
    pub text: String,
    pub sent_at_ms: i64,
}

/// One of the shopper's conversations: with whom ("@bruno", and their id) and a preview of its latest message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ConversationSummary {
    pub with: String,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message: Option<LastMessage>,
}

impl ConversationSummary {
    pub fn of(c: &pb::Conversation) -> Self {
        let with = c.with.as_ref();
        Self {
            with: handle(with),
            user_id: with.map(|w| w.id.clone()).unwrap_or_default(),
            last_message: c.last_message.as_ref().map(|last| LastMessage {
                from: from(with.is_some_and(|w| last.from_user_id != w.id)),
                text: untrusted::wrap(Source::User, &last.text, PREVIEW_CHARS),
                sent_at_ms: last.sent_at_ms,
            }),
        }
    }
}

/// The shopper's conversations, latest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
    /// There are older conversations than fit in one answer: name the user to read theirs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The shopper's conversation with one user, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct MessageThread {
    pub with: User,
    pub messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `read_messages`: the list of conversations, or one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Messages {
    /// Read first: only this one has `conversations`.
    Conversations(ConversationList),
    With(MessageThread),
}

/// A direct message as approved: to whom, and the exact words.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SendEffect {
    pub to: Person,
    pub text: String,
}

impl Effect for SendEffect {
    fn describe(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!(
                "Send {} this message, in your name:\n{}\n",
                self.to.label(),
                block(&self.text)
            ),
            Lang::Zh => format!(
                "以你的名义给 {} 发私信：\n{}\n",
                self.to.label(),
                block(&self.text)
            ),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for SendMessage {
    type Args = SendArgs;
    type Effect = SendEffect;
    type Output = SentMessage;
    const NAME: &'static str = "send_message";
    const DESCRIPTION: &'static str =
        "Send a direct message to a friend (someone who follows the shopper back).";

    /// Only friends can be messaged: a pending action is never made for someone else.
    async fn effect(&self, ctx: &ToolContext, args: &SendArgs) -> Result<SendEffect, ToolError> {
        let text = written(&args.text, MESSAGE_CHARS)?;
        let target = who(&args.user_id, &args.username);
        if !target.given() {
            return Err(
                ToolError::invalid_arguments("give user_id or username").with_param("user_id")
            );
        }
        let profile = profile(ctx, &target).await?;
        let card = profile.user.as_ref().ok_or_else(|| {
            ToolError::new("user_not_found", "no such user").with_param("user_id")
        })?;
        let to = Person::of(card);
        if !(card.viewer_follows && card.follows_viewer) {
            return Err(not_friends(&format!(
                "you can only message friends (people you follow who follow you back); {} is not one",
                to.label()
            )));
        }
        Ok(SendEffect { to, text })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: SendEffect,
    ) -> Result<Self::Output, ToolError> {
        let sent = ctx
            .clients
            .messages
            .clone()
            .send_message(ctx.request(pb::SendMessageRequest {
                to_user_id: effect.to.user_id,
                text: effect.text,
                request_id: format!("{}:send_message", ctx.request_id),
            }))
            .await
            // Friendship can end between the confirmation and the send: say so in the tool's own words.
            .map_err(|status| match ToolError::from(status) {
                err if err.code == "forbidden" => not_friends(&err.message),
                err => err,
            })?
            .into_inner();
        Ok(SentMessage {
            message: Message::of(&sent, true),
            note: USER_CONTENT_NOTE.to_owned(),
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for ReadMessages {
    type Args = ReadArgs;
    type Output = Messages;
    const NAME: &'static str = "read_messages";
    const DESCRIPTION: &'static str =
        "Messages with one user, newest first; with no user, the shopper's conversations.";

    async fn run(&self, ctx: &ToolContext, args: ReadArgs) -> Result<Self::Output, ToolError> {
        let page = PageArgs {
            limit: args.limit,
            cursor: args.cursor.clone(),
        };
        let target = who(&args.user_id, &args.username);
        let named = [&target.user_id, &target.username]
            .iter()
            .any(|s| s.as_deref().is_some_and(|s| !s.trim().is_empty()));
        let mut client = ctx.clients.messages.clone();
        if !named {
            let list = client
                .list_conversations(ctx.request(pb::ListConversationsRequest {
                    limit: page.limit()?,
                }))
                .await?
                .into_inner();
            let mut conversations: Vec<ConversationSummary> = list
                .conversations
                .iter()
                .map(ConversationSummary::of)
                .collect();
            let shown = view::fitting(&conversations);
            let more = shown < conversations.len();
            conversations.truncate(shown);
            let note = note_if(!conversations.is_empty());
            return Ok(Messages::Conversations(ConversationList {
                conversations,
                more,
                note,
            }));
        }
        let other = profile(ctx, &target).await?;
        let with = other.user.clone().unwrap_or_default();
        let list = client
            .list_messages(ctx.request(pb::ListMessagesRequest {
                with_user_id: with.id.clone(),
                limit: page.limit()?,
                cursor: page.cursor(),
            }))
            .await?
            .into_inner();
        // Whatever is not from them is from the shopper: a conversation has two sides.
        let messages: Vec<Message> = list
            .messages
            .iter()
            .map(|m| Message::of(m, m.from_user_id != with.id))
            .collect();
        let (messages, next_cursor) = view::fit_page(messages, &list.next_cursor, |m| {
            (m.sent_at_ms, m.id.clone())
        });
        Ok(Messages::With(MessageThread {
            with: User::of(&with),
            note: note_if(!messages.is_empty()),
            messages,
            next_cursor,
        }))
    }
}
