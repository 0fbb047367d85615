//! Direct messages between friends: send, a conversation's history, the conversation list, and the signed-in
//! user's live inbox as server-sent events (`id` is the message's seq, so `Last-Event-ID` resumes exactly).

use std::convert::Infallible;

use axum::{
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt as _};
use tokshop_platform::non_empty;
use tokshop_proto::social as pb;

use crate::{
    error::ApiError,
    handler::prelude::*,
    shapes::{PageQuery, UserCard},
};

/// One direct message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: String,
    /// The recipient's inbox position: 1, 2, 3, ... per recipient, in the order messages were sent.
    pub seq: i64,
    pub from_user_id: String,
    pub to_user_id: String,
    pub text: String,
    pub sent_at_ms: i64,
}

impl From<pb::Message> for Message {
    fn from(m: pb::Message) -> Self {
        Self {
            id: m.id,
            seq: m.seq,
            from_user_id: m.from_user_id,
            to_user_id: m.to_user_id,
            text: m.text,
            sent_at_ms: m.sent_at_ms,
        }
    }
}

/// A message to a friend (someone who follows you and whom you follow).
/// A direct message to a friend.
// Named apart in the document: the chat's `SendMessage` would otherwise take this schema's place.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = SendDirectMessage)]
pub struct SendMessage {
    /// A friend's user id.
    #[schema(min_length = 1, max_length = 64)]
    pub to_user_id: String,
    /// Plain text, counted after trimming.
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    /// Newest first.
    pub messages: Vec<Message>,
    /// Pass as `cursor` for older messages; null when there are none.
    pub next_cursor: Option<String>,
}

/// A conversation: the other user and the last message either of you sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub with: Option<UserCard>,
    pub last_message: Option<Message>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConversationList {
    /// Most recent first.
    pub conversations: Vec<Conversation>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationsQuery {
    /// 1..=100, default 20.
    pub limit: Option<i32>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The last seq already seen, for clients that cannot set the `Last-Event-ID` header (which wins).
    pub last_event_id: Option<i64>,
}

const LAST_EVENT_ID: &str = "last-event-id";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(list_messages))
        .routes(routes!(list_conversations))
        .routes(routes!(stream_messages))
}

/// Send a message to a friend. With an `Idempotency-Key`, a retry returns the first message instead of sending
/// another.
#[utoipa::path(post, path = "/api/v1/messages", tag = "messages", security(("bearer" = [])),
    request_body = SendMessage,
    responses((status = 201, description = "The message, with its seq in the recipient's inbox", body = Message),
        (status = 403, description = "Not friends: you can message only people who follow you back", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Empty, too long or against the content policy; or yourself", body = ErrorBody)))]
async fn send_message(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    ApiJson(body): ApiJson<SendMessage>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let request = pb::SendMessageRequest {
        to_user_id: body.to_user_id,
        text: body.text,
        request_id,
    };
    let request = authorized(request, user.token());
    created(state.messages().send_message(request)).await
}

/// The conversation with one user, newest first.
#[utoipa::path(get, path = "/api/v1/messages/with/{user_id}", tag = "messages", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The other user"), PageQuery),
    responses((status = 200, description = "One page of messages", body = MessagePage)))]
async fn list_messages(
    State(state): State<AppState>,
    user: AuthUser,
    Path(user_id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<MessagePage>> {
    let request = pb::ListMessagesRequest {
        with_user_id: user_id,
        limit: page.limit(),
        cursor: page.cursor(),
    };
    let found = state
        .messages()
        .list_messages(authorized(request, user.token()))
        .await?
        .into_inner();
    Ok(Json(MessagePage {
        messages: found.messages.into_iter().map(Message::from).collect(),
        next_cursor: non_empty(found.next_cursor),
    }))
}

/// The signed-in user's conversations, most recent first, each with the other user and the last message.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "messages", security(("bearer" = [])),
    params(ConversationsQuery),
    responses((status = 200, description = "The conversations", body = ConversationList)))]
async fn list_conversations(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ConversationsQuery>,
) -> ApiResult<Json<ConversationList>> {
    let request = pb::ListConversationsRequest {
        limit: query.limit.unwrap_or(0),
    };
    let found = state
        .messages()
        .list_conversations(authorized(request, user.token()))
        .await?
        .into_inner();
    let conversations = found
        .conversations
        .into_iter()
        .map(|c| Conversation {
            with: c.with.map(UserCard::from),
            last_message: c.last_message.map(Message::from),
        })
        .collect();
    Ok(Json(ConversationList { conversations }))
}

/// The signed-in user's inbox, live, as server-sent events: first every message after `Last-Event-ID` (all of
/// them without it), then each new one as it is sent. Each is an event `message` with `id` = its seq and the
/// message JSON as data; a reconnect with the last id seen misses nothing and repeats nothing.
#[utoipa::path(get, path = "/api/v1/messages/stream", tag = "messages", security(("bearer" = [])),
    params(StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "The last seq already seen")),
    responses((status = 200, description = "A text/event-stream of `message` events", content_type = "text/event-stream", body = Message),
        (status = 422, description = "A Last-Event-ID that is not a seq", body = ErrorBody)))]
async fn stream_messages(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let after_seq = match headers.get(LAST_EVENT_ID) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| {
                ApiError::invalid(
                    "Last-Event-ID",
                    "Last-Event-ID must be the seq of a message",
                )
            })?,
        None => query.last_event_id.unwrap_or(0),
    };
    // Errors before the stream starts (a bad token, say) are plain JSON errors.
    let inbox = state
        .messages()
        .subscribe(authorized(pb::SubscribeRequest { after_seq }, user.token()))
        .await?
        .into_inner();
    let events = inbox
        .map(|item| match item {
            Ok(message) => {
                let id = message.seq.to_string();
                Event::default()
                    .event("message")
                    .id(id)
                    .json_data(Message::from(message))
                    .unwrap_or_else(|_| Event::default().event("error").data("unencodable message"))
            }
            // The service ends the stream after an error; the client reconnects with its last id.
            Err(status) => Event::default().event("error").data(status.message()),
        })
        .map(Ok::<_, Infallible>);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
