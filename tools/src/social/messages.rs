//! Direct messages between friends (mutual follows).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokshop_proto::social as pb;

use super::people::{UserArgs, profile};
use super::{PageArgs, Person, USER_CONTENT_NOTE, user, user_text, with_next, written};
use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    guard::{Effect, GuardedTool, Lang, block},
};

pub fn register(registry: &mut Registry) {
    registry.add_guarded(SendMessage);
    registry.add(ReadMessages);
}

/// Longest message, in characters.
const MESSAGE_CHARS: usize = 1000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    /// The friend's usr_... id.
    pub user_id: Option<String>,
    /// Or their username.
    pub username: Option<String>,
    /// 1 to 1000 characters of plain text.
    pub text: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// The conversation with this user; leave out (with username) for the list of conversations.
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

fn message(m: &pb::Message, mine: bool) -> Value {
    let from = if mine { "me" } else { "them" };
    json!({"id": m.id, "from": from, "text": user_text(&m.text), "sent_at_ms": m.sent_at_ms})
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
    type Output = Value;
    const NAME: &'static str = "send_message";
    const DESCRIPTION: &'static str = "Send a direct message to a friend (someone who follows the shopper back). \
         Needs the shopper's confirmation.";

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
        Ok(json!({"message": message(&sent, true), "note": USER_CONTENT_NOTE}))
    }
}

#[async_trait::async_trait]
impl TypedTool for ReadMessages {
    type Args = ReadArgs;
    type Output = Value;
    const NAME: &'static str = "read_messages";
    const DESCRIPTION: &'static str = "The shopper's conversation with one user (newest first), or their conversations when no user is given.";

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
            let conversations: Vec<Value> = list
                .conversations
                .iter()
                .map(|c| {
                    let with = c.with.as_ref();
                    let mut value = json!({});
                    if let Some(card) = with {
                        value["with"] = user(card);
                    }
                    if let Some(last) = &c.last_message {
                        let mine = with.is_some_and(|w| last.from_user_id != w.id);
                        value["last_message"] = json!({
                            "from": if mine { "me" } else { "them" }, "text": user_text(&last.text),
                            "sent_at_ms": last.sent_at_ms,
                        });
                    }
                    value
                })
                .collect();
            let mut value = json!({"conversations": conversations});
            if !conversations.is_empty() {
                value["note"] = json!(USER_CONTENT_NOTE);
            }
            return Ok(value);
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
        let messages: Vec<Value> = list
            .messages
            .iter()
            .map(|m| message(m, m.from_user_id != with.id))
            .collect();
        let mut value = json!({"with": user(&with), "messages": messages});
        if !messages.is_empty() {
            value["note"] = json!(USER_CONTENT_NOTE);
        }
        Ok(with_next(value, &list.next_cursor))
    }
}
