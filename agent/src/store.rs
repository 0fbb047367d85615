//! Conversations, their messages, pending actions and trace steps, on the same database as the gateway (SQLite or
//! PostgreSQL through the platform's `Db`). A conversation is owned by its user; another user's is not found.

use serde::Serialize;
use sqlx::FromRow;
use tokshop_platform::{ServiceError, ServiceResult, db::Db, ids::new_id, time::now_ms};

use crate::model::{ChatMessage, Role, Usage};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Conversation {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub title: String,
    pub model: String,
    pub prompt_version: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub turns: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, FromRow)]
struct MessageRow {
    role: String,
    content: String,
    tool_calls: String,
    tool_call_id: String,
    tool_name: String,
}

/// A consequential action the agent proposed, frozen: the tool, the model's arguments, the concrete effect
/// (canonical JSON) with its digest, and the summary the server rendered from it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct PendingAction {
    pub id: String,
    pub conversation_id: String,
    #[serde(skip)]
    pub user_id: String,
    pub tool: String,
    #[serde(skip)]
    pub arguments: String,
    #[serde(skip)]
    pub effect: String,
    /// SHA-256 of the tool name and the canonical effect: what an approval names.
    pub digest: String,
    pub summary: String,
    /// pending, executing, approved (ran), failed (ran and failed, or could no longer run), rejected,
    /// superseded (a newer proposal replaced it), changed (live state moved; see `replaced_by`) or expired.
    pub status: String,
    #[serde(skip)]
    pub result: String,
    /// Why it failed or changed.
    pub reason: String,
    /// The proposal that replaced it after live state changed.
    pub replaced_by: String,
    /// The turn (and model round within it) that proposed it.
    pub turn: i64,
    #[serde(skip)]
    pub round: i64,
    /// The language its summary is in (`en`, `zh`).
    pub language: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub decided_at_ms: i64,
}

impl PendingAction {
    /// The frozen effect as JSON.
    pub fn effect_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.effect).unwrap_or(serde_json::Value::Null)
    }

    /// The model's arguments as JSON.
    pub fn arguments_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.arguments).unwrap_or(serde_json::Value::Null)
    }

    /// Its status as the shopper should read it: a pending action past its time is expired.
    pub fn current_status(&self) -> &str {
        if self.status == "pending" && self.expires_at_ms <= now_ms() {
            "expired"
        } else {
            &self.status
        }
    }
}

/// A proposal about to become a pending action.
pub struct NewPending<'a> {
    pub conversation_id: &'a str,
    pub user_id: &'a str,
    pub tool: &'a str,
    pub arguments: &'a serde_json::Value,
    pub effect: &'a serde_json::Value,
    pub digest: &'a str,
    pub summary: &'a str,
    pub language: &'a str,
    pub turn: i64,
    pub round: i64,
    pub ttl_ms: i64,
}

/// One step of a turn, as traces show it.
#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Step {
    pub turn: i64,
    pub step: i64,
    /// `model`, `tool` or `decision` (the shopper's approval or rejection of a pending action, and its outcome).
    pub kind: String,
    pub name: String,
    pub call_id: String,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Tool arguments and result, the model's reply, or the decision and its outcome: stored as JSON text,
    /// served as the JSON object itself.
    #[serde(serialize_with = "json_text")]
    #[schema(value_type = Object)]
    pub detail: String,
    /// `ok`, or an error kind.
    pub outcome: String,
}

/// Serializes stored JSON text as the JSON it holds (text that is not JSON stays a string).
fn json_text<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => value.serialize(serializer),
        Err(_) => serializer.serialize_str(text),
    }
}

const CONVERSATION_COLUMNS: &str = "id, user_id, title, model, prompt_version, input_tokens, output_tokens, turns, \
     created_at_ms, updated_at_ms";
const PENDING_COLUMNS: &str = "id, conversation_id, user_id, tool, arguments, effect, digest, summary, status, \
     result, reason, replaced_by, turn, round, language, created_at_ms, expires_at_ms, decided_at_ms";

/// Milliseconds in a day.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The UTC day `ms` falls on, counted from the epoch.
pub fn utc_day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

impl MessageRow {
    fn into_message(self) -> ChatMessage {
        ChatMessage {
            role: match self.role.as_str() {
                "assistant" => Role::Assistant,
                "tool" => Role::Tool,
                _ => Role::User,
            },
            content: self.content,
            tool_calls: serde_json::from_str(&self.tool_calls).unwrap_or_default(),
            tool_call_id: (!self.tool_call_id.is_empty()).then_some(self.tool_call_id),
            tool_name: (!self.tool_name.is_empty()).then_some(self.tool_name),
        }
    }
}

/// A history every model API accepts, whatever a crash left behind: a tool call without its result is dropped
/// (with its assistant message when nothing else is left of it), so is a result without its call, and a shopper's
/// message that was never answered (another follows it directly) is not replayed.
pub fn consistent(messages: Vec<ChatMessage>) -> Vec<ChatMessage> {
    use std::collections::HashSet;
    let answered: HashSet<&str> = messages
        .iter()
        .filter_map(|m| m.tool_call_id.as_deref())
        .collect();
    let asked: HashSet<&str> = messages
        .iter()
        .flat_map(|m| m.tool_calls.iter().map(|c| c.id.as_str()))
        .collect();
    let mut kept: Vec<ChatMessage> = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        match message.role {
            Role::User => {
                if messages
                    .get(i + 1)
                    .is_some_and(|next| next.role == Role::User)
                {
                    continue;
                }
            }
            Role::Tool => {
                if !message
                    .tool_call_id
                    .as_deref()
                    .is_some_and(|id| asked.contains(id))
                {
                    continue;
                }
            }
            Role::Assistant => {
                let calls: Vec<_> = message
                    .tool_calls
                    .iter()
                    .filter(|c| answered.contains(c.id.as_str()))
                    .cloned()
                    .collect();
                if calls.len() != message.tool_calls.len() {
                    if calls.is_empty() && message.content.is_empty() {
                        continue;
                    }
                    let mut trimmed = message.clone();
                    trimmed.tool_calls = calls;
                    kept.push(trimmed);
                    continue;
                }
            }
        }
        kept.push(message.clone());
    }
    kept
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn create(
        &self,
        user_id: &str,
        title: &str,
        model: &str,
        prompt_version: &str,
    ) -> ServiceResult<Conversation> {
        let now = now_ms();
        let conversation = Conversation {
            id: new_id("cnv"),
            user_id: user_id.to_owned(),
            title: title.to_owned(),
            model: model.to_owned(),
            prompt_version: prompt_version.to_owned(),
            input_tokens: 0,
            output_tokens: 0,
            turns: 0,
            created_at_ms: now,
            updated_at_ms: now,
        };
        sqlx::query(
            "INSERT INTO agent_conversations (id, user_id, title, model, prompt_version, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&conversation.id)
        .bind(user_id)
        .bind(title)
        .bind(model)
        .bind(prompt_version)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(conversation)
    }

    /// The user's conversation; another user's is not found.
    pub async fn get(&self, user_id: &str, id: &str) -> ServiceResult<Conversation> {
        let sql = const_format::concatcp!(
            "SELECT ",
            CONVERSATION_COLUMNS,
            " FROM agent_conversations WHERE id = $1 AND user_id = $2"
        );
        sqlx::query_as::<_, Conversation>(sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(ServiceError::not_found("conversation"))
    }

    pub async fn list(&self, user_id: &str) -> ServiceResult<Vec<Conversation>> {
        let sql = const_format::concatcp!(
            "SELECT ",
            CONVERSATION_COLUMNS,
            " FROM agent_conversations WHERE user_id = $1 ORDER BY updated_at_ms DESC, id DESC LIMIT 100"
        );
        Ok(sqlx::query_as::<_, Conversation>(sql)
            .bind(user_id)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// Every message of the conversation, as the shopper sees it (notes about stopped turns included).
    pub async fn messages(&self, conversation_id: &str) -> ServiceResult<Vec<ChatMessage>> {
        let rows = sqlx::query_as::<_, MessageRow>(
            "SELECT role, content, tool_calls, tool_call_id, tool_name FROM agent_messages \
             WHERE conversation_id = $1 ORDER BY seq",
        )
        .bind(conversation_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(MessageRow::into_message).collect())
    }

    /// What the model is shown: the latest `max_messages` messages still in its history, starting at a shopper's
    /// message (never mid-exchange), or the whole current turn when that alone is longer. Messages of stopped turns
    /// are left out, and so are leftovers of a turn cut short by a crash (see [`consistent`]).
    pub async fn history(
        &self,
        conversation_id: &str,
        max_messages: usize,
    ) -> ServiceResult<Vec<ChatMessage>> {
        let mut rows = sqlx::query_as::<_, MessageRow>(
            "SELECT role, content, tool_calls, tool_call_id, tool_name FROM agent_messages \
             WHERE conversation_id = $1 AND in_history = 1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(conversation_id)
        .bind(i64::try_from(max_messages.max(1)).unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await?;
        rows.reverse();
        let first_user = rows.iter().position(|r| r.role == "user");
        let rows = match first_user {
            Some(start) => rows.split_off(start),
            None => {
                sqlx::query_as::<_, MessageRow>(
                    "SELECT role, content, tool_calls, tool_call_id, tool_name FROM agent_messages \
                     WHERE conversation_id = $1 AND in_history = 1 AND seq >= \
                     (SELECT COALESCE(MAX(seq), 0) FROM agent_messages \
                      WHERE conversation_id = $1 AND in_history = 1 AND role = 'user') ORDER BY seq",
                )
                .bind(conversation_id)
                .fetch_all(self.db.pool())
                .await?
            }
        };
        Ok(consistent(
            rows.into_iter().map(MessageRow::into_message).collect(),
        ))
    }

    /// Takes a stopped turn's messages out of what the model is shown, so its request is not acted on in a later
    /// turn. Records of decided actions stay: the model should know what the shopper approved and what happened.
    pub async fn drop_from_history(&self, conversation_id: &str, turn: i64) -> ServiceResult<()> {
        sqlx::query(
            "UPDATE agent_messages SET in_history = 0 WHERE conversation_id = $1 AND turn = $2 \
             AND tool_call_id NOT LIKE 'confirm_%' AND tool_calls NOT LIKE '%\"id\":\"confirm_%'",
        )
        .bind(conversation_id)
        .bind(turn)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Appends messages to the conversation, after those already stored.
    pub async fn append(
        &self,
        conversation_id: &str,
        turn: i64,
        messages: &[ChatMessage],
    ) -> ServiceResult<()> {
        self.insert(conversation_id, turn, messages, true).await
    }

    /// Appends a message the shopper sees but the model is never shown (why a turn stopped).
    pub async fn append_note(
        &self,
        conversation_id: &str,
        turn: i64,
        message: &ChatMessage,
    ) -> ServiceResult<()> {
        self.insert(conversation_id, turn, std::slice::from_ref(message), false)
            .await
    }

    async fn insert(
        &self,
        conversation_id: &str,
        turn: i64,
        messages: &[ChatMessage],
        in_history: bool,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin_write().await?;
        let (next,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) + 1 FROM agent_messages WHERE conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_one(&mut *tx)
        .await?;
        for (i, message) in messages.iter().enumerate() {
            let calls = serde_json::to_string(&message.tool_calls).map_err(anyhow::Error::from)?;
            sqlx::query(
                "INSERT INTO agent_messages (conversation_id, seq, turn, role, content, tool_calls, tool_call_id, \
                 tool_name, created_at_ms, in_history) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(conversation_id)
            .bind(next + i as i64)
            .bind(turn)
            .bind(role_name(message.role))
            .bind(&message.content)
            .bind(calls)
            .bind(message.tool_call_id.clone().unwrap_or_default())
            .bind(message.tool_name.clone().unwrap_or_default())
            .bind(now_ms())
            .bind(i64::from(in_history))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Starts a turn: returns its number.
    pub async fn begin_turn(&self, conversation_id: &str) -> ServiceResult<i64> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE agent_conversations SET turns = turns + 1, updated_at_ms = $2 WHERE id = $1",
        )
        .bind(conversation_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let (turn,): (i64,) = sqlx::query_as("SELECT turns FROM agent_conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(turn)
    }

    /// Counts a model call's tokens on the conversation and on its user's day.
    pub async fn add_usage(&self, conversation: &Conversation, usage: Usage) -> ServiceResult<()> {
        let (input, output) = (usage.input_tokens as i64, usage.output_tokens as i64);
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE agent_conversations SET input_tokens = input_tokens + $2, output_tokens = output_tokens + $3 \
             WHERE id = $1",
        )
        .bind(&conversation.id)
        .bind(input)
        .bind(output)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO agent_usage (user_id, day, input_tokens, output_tokens) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, day) DO UPDATE SET input_tokens = agent_usage.input_tokens + $3, \
             output_tokens = agent_usage.output_tokens + $4",
        )
        .bind(&conversation.user_id)
        .bind(utc_day(now_ms()))
        .bind(input)
        .bind(output)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Model tokens (input and output) the user's turns have used this UTC day.
    pub async fn tokens_today(&self, user_id: &str) -> ServiceResult<u64> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT CAST(input_tokens + output_tokens AS BIGINT) FROM agent_usage WHERE user_id = $1 AND day = $2",
        )
        .bind(user_id)
        .bind(utc_day(now_ms()))
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map_or(0, |(n,)| u64::try_from(n).unwrap_or(0)))
    }

    pub async fn record_step(&self, conversation_id: &str, step: &Step) -> ServiceResult<()> {
        sqlx::query(
            "INSERT INTO agent_steps (conversation_id, turn, step, kind, name, call_id, started_at_ms, duration_ms, \
             input_tokens, output_tokens, detail, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(conversation_id)
        .bind(step.turn)
        .bind(step.step)
        .bind(&step.kind)
        .bind(&step.name)
        .bind(&step.call_id)
        .bind(step.started_at_ms)
        .bind(step.duration_ms)
        .bind(step.input_tokens)
        .bind(step.output_tokens)
        .bind(&step.detail)
        .bind(&step.outcome)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The number of the next decision step of a turn (decisions are numbered from 1000 within their turn).
    pub async fn next_decision(&self, conversation_id: &str, turn: i64) -> ServiceResult<i64> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM agent_steps WHERE conversation_id = $1 AND turn = $2 \
             AND kind = 'decision'",
        )
        .bind(conversation_id)
        .bind(turn)
        .fetch_one(self.db.pool())
        .await?;
        Ok(count + 1)
    }

    pub async fn steps(&self, conversation_id: &str) -> ServiceResult<Vec<Step>> {
        Ok(sqlx::query_as::<_, Step>(
            "SELECT turn, step, kind, name, call_id, started_at_ms, duration_ms, input_tokens, output_tokens, detail, \
             outcome FROM agent_steps WHERE conversation_id = $1 ORDER BY turn, started_at_ms, step",
        )
        .bind(conversation_id)
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Stores a proposal as a pending action. In the same transaction every older proposal of the conversation
    /// still waiting is superseded: only the newest proposals (those of one model round) can be approved.
    pub async fn create_pending(&self, new: NewPending<'_>) -> ServiceResult<PendingAction> {
        let now = now_ms();
        let action = PendingAction {
            id: new_id("pa"),
            conversation_id: new.conversation_id.to_owned(),
            user_id: new.user_id.to_owned(),
            tool: new.tool.to_owned(),
            arguments: new.arguments.to_string(),
            effect: new.effect.to_string(),
            digest: new.digest.to_owned(),
            summary: new.summary.to_owned(),
            status: "pending".into(),
            result: String::new(),
            reason: String::new(),
            replaced_by: String::new(),
            turn: new.turn,
            round: new.round,
            language: new.language.to_owned(),
            created_at_ms: now,
            expires_at_ms: now + new.ttl_ms,
            decided_at_ms: 0,
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE agent_pending_actions SET status = 'superseded', decided_at_ms = $2, \
             reason = 'a newer proposal replaced it' \
             WHERE conversation_id = $1 AND status = 'pending' AND (turn < $3 OR (turn = $3 AND round < $4))",
        )
        .bind(new.conversation_id)
        .bind(now)
        .bind(new.turn)
        .bind(new.round)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO agent_pending_actions (id, conversation_id, user_id, tool, arguments, effect, digest, \
             summary, status, turn, round, language, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&action.id)
        .bind(&action.conversation_id)
        .bind(&action.user_id)
        .bind(&action.tool)
        .bind(&action.arguments)
        .bind(&action.effect)
        .bind(&action.digest)
        .bind(&action.summary)
        .bind(&action.status)
        .bind(action.turn)
        .bind(action.round)
        .bind(&action.language)
        .bind(now)
        .bind(action.expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(action)
    }

    /// The user's pending action in the conversation; another user's is not found.
    pub async fn pending(
        &self,
        user_id: &str,
        conversation_id: &str,
        id: &str,
    ) -> ServiceResult<PendingAction> {
        let sql = const_format::concatcp!(
            "SELECT ",
            PENDING_COLUMNS,
            " FROM agent_pending_actions WHERE id = $1 AND conversation_id = $2 AND user_id = $3"
        );
        sqlx::query_as::<_, PendingAction>(sql)
            .bind(id)
            .bind(conversation_id)
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(ServiceError::not_found("pending action"))
    }

    /// Actions of the conversation still waiting and not expired.
    pub async fn open_actions(&self, conversation_id: &str) -> ServiceResult<Vec<PendingAction>> {
        let sql = const_format::concatcp!(
            "SELECT ",
            PENDING_COLUMNS,
            " FROM agent_pending_actions WHERE conversation_id = $1 AND status = 'pending' AND expires_at_ms > $2 \
             ORDER BY created_at_ms"
        );
        Ok(sqlx::query_as::<_, PendingAction>(sql)
            .bind(conversation_id)
            .bind(now_ms())
            .fetch_all(self.db.pool())
            .await?)
    }

    /// Claims a pending, unexpired action for `status` (`executing` or `rejected`), once: false if it was decided,
    /// superseded or expired already.
    pub async fn decide(&self, id: &str, status: &str) -> ServiceResult<bool> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE agent_pending_actions SET status = $2, decided_at_ms = $3 \
             WHERE id = $1 AND status = 'pending' AND expires_at_ms > $3",
        )
        .bind(id)
        .bind(status)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how a claimed action ended: `approved` or `failed` (with the result and reason), or `changed`
    /// (with the proposal that replaced it).
    pub async fn finish_action(
        &self,
        id: &str,
        status: &str,
        result: &serde_json::Value,
        reason: &str,
        replaced_by: &str,
    ) -> ServiceResult<()> {
        sqlx::query(
            "UPDATE agent_pending_actions SET status = $2, result = $3, reason = $4, replaced_by = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(result.to_string())
        .bind(reason)
        .bind(replaced_by)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
