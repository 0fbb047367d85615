//! Chat with the shopping agent: conversations, messages (a JSON reply with the turn's events, or the same events
//! streamed as server-sent events), the shopper's decisions on pending actions, and each turn's trace.

use std::convert::Infallible;
use tracing::Instrument as _;

use axum::{
    http::{HeaderMap, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::StreamExt;
use serde_json::Value;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_util::sync::CancellationToken;
use tokshop_agent::{
    runner::{AgentEvent, Caller, is_visible},
    store::{Conversation, PendingAction, Step},
};
use tokshop_platform::ServiceError;

use crate::{error::ApiError, handler::prelude::*};

fn api(err: ServiceError) -> ApiError {
    ApiError::from(tonic::Status::from(err))
}

fn caller(user: &AuthUser) -> Caller {
    Caller {
        user_id: user.principal.user_id.clone(),
        token: user.token.clone(),
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewConversation {
    #[serde(default)]
    #[schema(max_length = 200)]
    pub title: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: String,
    pub title: String,
    /// The model the agent runs with, and the system prompt's version.
    pub model: String,
    pub prompt_version: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub turns: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl From<Conversation> for ConversationView {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id,
            title: c.title,
            model: c.model,
            prompt_version: c.prompt_version,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            turns: c.turns,
            created_at_ms: c.created_at_ms,
            updated_at_ms: c.updated_at_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    /// user or assistant.
    pub role: String,
    pub text: String,
}

/// An action waiting for the shopper: the server's summary of its frozen effect, and the digest an approval names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingView {
    pub id: String,
    pub tool: String,
    pub summary: String,
    /// SHA-256 of the frozen effect; `POST .../confirmations/{id}` must send it back to approve.
    pub digest: String,
    #[schema(value_type = Object)]
    pub effect: Value,
    pub expires_at_ms: i64,
}

impl From<PendingAction> for PendingView {
    fn from(p: PendingAction) -> Self {
        Self {
            effect: p.effect_value(),
            id: p.id,
            tool: p.tool,
            summary: p.summary,
            digest: p.digest,
            expires_at_ms: p.expires_at_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationDetail {
    pub conversation: ConversationView,
    /// What the shopper and the assistant said (tool traffic is in the trace).
    pub messages: Vec<MessageView>,
    /// Actions waiting for the shopper's decision.
    pub pending_actions: Vec<PendingView>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SendMessage {
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TurnReply {
    pub reply: String,
    /// text, tool_call, tool_result, confirmation_required (with the server's summary and the digest to approve),
    /// action_result (how a decided action ended), done and error events, in order.
    pub events: Vec<AgentEvent>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DecisionBody {
    /// approve or reject.
    #[schema(pattern = "^(approve|reject)$", max_length = 7)]
    pub decision: String,
    /// To approve: the digest of the summary the shopper was shown (from the confirmation_required event or the
    /// conversation's pending actions).
    #[serde(default)]
    #[schema(min_length = 64, max_length = 64)]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub pending_action_id: String,
    /// approved (it ran), failed (with the reason), rejected, or changed (nothing ran: see replaced_by).
    pub status: String,
    #[schema(value_type = Object)]
    pub result: Value,
    pub reason: String,
    /// What happened, in the conversation's language.
    pub message: String,
    /// When live state had changed since the proposal: the new proposal, to approve instead.
    pub replaced_by: Option<PendingView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trace {
    pub steps: Vec<Step>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_conversation, list_conversations))
        .routes(routes!(get_conversation))
        .routes(routes!(send_message))
        .routes(routes!(decide))
        .routes(routes!(trace))
}

/// Start a conversation with the shopping agent.
#[utoipa::path(post, path = "/api/v1/chat/conversations", tag = "chat", security(("bearer" = [])),
    request_body = NewConversation,
    responses((status = 201, description = "The conversation", body = ConversationView)))]
async fn create_conversation(
    State(state): State<AppState>,
    user: AuthUser,
    body: Option<Json<NewConversation>>,
) -> ApiResult<(StatusCode, Json<ConversationView>)> {
    let title = body.map(|b| b.0.title).unwrap_or_default();
    let conversation = state
        .agent
        .start(&caller(&user), &title)
        .await
        .map_err(api)?;
    Ok((StatusCode::CREATED, Json(conversation.into())))
}

/// The caller's conversations, most recent first.
#[utoipa::path(get, path = "/api/v1/chat/conversations", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "Conversations", body = ConversationList)))]
async fn list_conversations(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<ConversationList>> {
    let list = state
        .agent
        .store()
        .list(&user.principal.user_id)
        .await
        .map_err(api)?;
    Ok(Json(ConversationList {
        conversations: list.into_iter().map(ConversationView::from).collect(),
    }))
}

/// One of the caller's conversations with its messages and waiting actions.
#[utoipa::path(get, path = "/api/v1/chat/conversations/{id}", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, description = "The conversation", body = ConversationDetail),
        (status = 404, description = "No such conversation of yours", body = ErrorBody)))]
async fn get_conversation(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationDetail>> {
    let store = state.agent.store();
    let conversation = store.get(&user.principal.user_id, &id).await.map_err(api)?;
    let messages = store.messages(&conversation.id).await.map_err(api)?;
    let pending = store.open_actions(&conversation.id).await.map_err(api)?;
    Ok(Json(ConversationDetail {
        conversation: conversation.into(),
        messages: messages
            .iter()
            .filter(|m| is_visible(m))
            .map(|m| MessageView {
                role: if m.role == tokshop_agent::model::Role::User {
                    "user"
                } else {
                    "assistant"
                }
                .into(),
                text: m.content.clone(),
            })
            .collect(),
        pending_actions: pending.into_iter().map(PendingView::from).collect(),
    }))
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

fn event_name(event: &AgentEvent) -> &'static str {
    match event {
        AgentEvent::Text { .. } => "text",
        AgentEvent::ToolCall { .. } => "tool_call",
        AgentEvent::ToolResult { .. } => "tool_result",
        AgentEvent::ConfirmationRequired { .. } => "confirmation_required",
        AgentEvent::ActionResult { .. } => "action_result",
        AgentEvent::Done { .. } => "done",
        AgentEvent::Error { .. } => "error",
    }
}

/// Send the shopper's message; the agent answers, calling tools as the shopper. With
/// `Accept: text/event-stream` the turn's events stream live; otherwise the reply comes with all its events.
#[utoipa::path(post, path = "/api/v1/chat/conversations/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = SendMessage,
    responses((status = 200, description = "The reply and the turn's events, or with `Accept: text/event-stream` the \
            events live, each an SSE event named by its `type` with the event as JSON data. A turn past \
            `agent.turn_timeout_secs`, or whose client left, ends with `stopped` set in its done event",
            content((TurnReply = "application/json"), (AgentEvent = "text/event-stream"))),
        (status = 404, description = "No such conversation of yours", body = ErrorBody),
        (status = 409, description = "A turn or decision is already under way in this conversation (`turn_in_progress`)", body = ErrorBody),
        (status = 422, description = "Text empty or over 4000 characters", body = ErrorBody),
        (status = 429, description = "A per-user limit: `agent_turns_per_minute`, `agent_concurrent_turns` or \
            `agent_daily_tokens`; Retry-After says when to try again", body = ErrorBody)))]
async fn send_message(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendMessage>,
) -> ApiResult<Response> {
    // Ownership, input, one turn at a time and the caller's limits are checked before anything streams, so they
    // fail as plain JSON errors.
    let admitted = state
        .agent
        .admit_turn(&caller(&user), &id, &body.text)
        .await
        .map_err(api)?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    // The turn runs on its own task, so neither a client that hangs up nor the request deadline can cut it off
    // between a tool call and its record. A client that goes away (the stream or this handler dropped) cancels
    // it instead: no further model calls, and the turn ends as stopped.
    let cancel = CancellationToken::new();
    let left = cancel.clone().drop_guard();
    let agent = state.agent.clone();
    // The turn stays in the request's trace.
    let request_span = tracing::Span::current();
    let streaming = wants_stream(&headers);
    let turn = tokio::spawn(
        async move {
            let result = agent.run_admitted(admitted, &sender, cancel).await;
            if streaming && let Err(err) = &result {
                let _ = sender.send(AgentEvent::Error {
                    kind: err.code(),
                    message: err.to_string(),
                });
            }
            result
        }
        .instrument(request_span),
    );
    if streaming {
        let metrics = state.metrics.clone();
        let stream = UnboundedReceiverStream::new(receiver).map(move |event| {
            // Held by the stream: dropped, with it, when the client disconnects.
            let _ = &left;
            metrics.observe_agent(&event);
            Ok::<_, Infallible>(
                Event::default()
                    .event(event_name(&event))
                    .json_data(&event)
                    .unwrap_or_else(|_| Event::default().event("error").data("unencodable event")),
            )
        });
        return Ok(Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let reply = turn
        .await
        .map_err(|err| ApiError::internal(format!("agent turn task: {err}")))?
        .map_err(api)?;
    left.disarm();
    let events: Vec<AgentEvent> = UnboundedReceiverStream::new(receiver).collect().await;
    for event in &events {
        state.metrics.observe_agent(event);
    }
    Ok(Json(TurnReply { reply, events }).into_response())
}

/// Approve (run) or reject an action the agent proposed. It runs at most once, and only if its effect, computed again
/// from live state, still has the digest the shopper approved.
#[utoipa::path(post, path = "/api/v1/chat/conversations/{id}/confirmations/{pending_id}", tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id"), ("pending_id" = String, Path, description = "Pending action id")),
    request_body = DecisionBody,
    responses((status = 200, description = "What happened: approved, failed (with the reason) or rejected", body = DecisionView),
        (status = 404, description = "No such action of yours", body = ErrorBody),
        (status = 409, description = "Nothing ran: the action changed since it was shown (the body is a DecisionView \
            with replaced_by), or the digest names another version, or it was already decided, superseded or expired \
            (the body is an error)", body = DecisionView),
        (status = 422, description = "Bad decision, or an approval without a digest", body = ErrorBody)))]
async fn decide(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, pending_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<Response> {
    let approve = match body.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(ApiError::invalid(
                "decision",
                "decision must be approve or reject",
            ));
        }
    };
    let digest = body
        .digest
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if approve && digest.is_none() {
        return Err(ApiError::invalid(
            "digest",
            "an approval names the digest of the summary the shopper saw",
        ));
    }
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let decision = state
        .agent
        .decide(&caller(&user), &id, &pending_id, approve, digest, &sender)
        .await
        .map_err(api)?;
    drop(sender);
    while let Some(event) = receiver.recv().await {
        state.metrics.observe_agent(&event);
    }
    // A changed action did not run: the shopper must look at the new summary.
    let status = if decision.status == "changed" {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let view = DecisionView {
        pending_action_id: decision.pending_action_id,
        status: decision.status,
        result: decision.result,
        reason: decision.reason,
        message: decision.message,
        replaced_by: decision.replaced_by.map(PendingView::from),
    };
    Ok((status, Json(view)).into_response())
}

/// Each turn's steps: model calls with token usage, tool calls with arguments, results and timings.
#[utoipa::path(get, path = "/api/v1/chat/conversations/{id}/trace", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, description = "The trace", body = Trace),
        (status = 404, description = "No such conversation of yours", body = ErrorBody)))]
async fn trace(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Trace>> {
    let store = state.agent.store();
    let conversation = store.get(&user.principal.user_id, &id).await.map_err(api)?;
    Ok(Json(Trace {
        steps: store.steps(&conversation.id).await.map_err(api)?,
    }))
}
