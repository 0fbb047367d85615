//! Conversations, their messages, pending actions and trace steps, on the same database as the gateway (SQLite or
//! PostgreSQL through the platform's `Db`). A conversation is owned by its user; another user's is not found.
//!
//! [`records`] holds the rows and the history check; [`actions`] the pending actions and the trace.

mod actions;
mod records;
#[cfg(test)]
mod tests;

use serde::Serialize;
use tokshop_platform::{
    ServiceError, ServiceResult,
    db::{Backend, Db},
    ids::new_id,
    time::now_ms,
};

use crate::model::{ChatMessage, Role, Usage};
use records::{CONVERSATION_COLUMNS, MessageRow, role_name};
pub use records::{Conversation, DAY_MS, NewPending, PendingAction, Step, consistent, utc_day};

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
        insert_messages(&mut tx, conversation_id, turn, messages, in_history).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A model round's tool calls, done: their trace steps and the results the model reads next, in one
    /// transaction (one commit for the round's tools, however many).
    pub async fn record_tool_results(
        &self,
        conversation: &Conversation,
        turn: i64,
        steps: &[Step],
        messages: &[ChatMessage],
    ) -> ServiceResult<()> {
        self.record(conversation, Usage::default(), steps, turn, messages)
            .await?;
        Ok(())
    }

    /// Trace steps, the tokens of a model call (counted on the conversation and on its user's day) and messages,
    /// written together: one statement on PostgreSQL (each data-modifying part of one `WITH`), one batch of
    /// statements in a write transaction on SQLite; the rows are passed as JSON either way. Returns the user's
    /// tokens of the day after counting, when there were tokens to count.
    async fn record(
        &self,
        conversation: &Conversation,
        usage: Usage,
        steps: &[Step],
        turn: i64,
        messages: &[ChatMessage],
    ) -> ServiceResult<Option<u64>> {
        let (input, output) = (usage.input_tokens as i64, usage.output_tokens as i64);
        let now = now_ms();
        let sql = match self.db.backend() {
            Backend::Postgres => RECORD_POSTGRES,
            Backend::Sqlite => RECORD_SQLITE,
        };
        let query = sqlx::query_as::<_, (Option<i64>,)>(sql)
            .bind(&conversation.id)
            .bind(input)
            .bind(output)
            .bind(&conversation.user_id)
            .bind(utc_day(now))
            .bind(step_rows(steps)?)
            .bind(turn)
            .bind(now)
            .bind(message_rows(messages)?);
        let today = match self.db.backend() {
            Backend::Postgres => query.fetch_one(self.db.pool()).await?.0,
            Backend::Sqlite => {
                // The statements go to the connection's worker thread together, inside the write transaction:
                // three trips to that thread (begin, the batch, commit) instead of one per statement.
                let mut tx = self.db.begin_write().await?;
                let rows = query.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows.first().and_then(|(today,)| *today)
            }
        };
        Ok(today.map(|n| u64::try_from(n).unwrap_or(0)))
    }

    /// Takes the turn lease of `user_id`'s conversation for `token` of process `instance` until `until_ms`, and
    /// returns the conversation: when nobody holds the lease, the holder's lease ran out (its process died
    /// mid-turn), or `instance` itself holds it (a turn of this process that ended but whose release has not landed
    /// yet; the process keeps its own turns one at a time). None: the conversation is not theirs, or another
    /// process has a turn under way.
    pub async fn take_turn_lease(
        &self,
        user_id: &str,
        conversation_id: &str,
        instance: &str,
        token: &str,
        until_ms: i64,
    ) -> ServiceResult<Option<Conversation>> {
        let sql = const_format::concatcp!(
            "UPDATE agent_conversations SET turn_instance = $3, turn_token = $4, turn_until_ms = $5 \
             WHERE id = $1 AND user_id = $2 AND (turn_until_ms < $6 OR turn_instance = $3) RETURNING ",
            CONVERSATION_COLUMNS
        );
        Ok(sqlx::query_as::<_, Conversation>(sql)
            .bind(conversation_id)
            .bind(user_id)
            .bind(instance)
            .bind(token)
            .bind(until_ms)
            .bind(now_ms())
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// Gives the turn lease back if `token` still holds it.
    pub async fn release_turn_lease(
        &self,
        conversation_id: &str,
        token: &str,
    ) -> ServiceResult<()> {
        sqlx::query(
            "UPDATE agent_conversations SET turn_until_ms = 0 WHERE id = $1 AND turn_token = $2",
        )
        .bind(conversation_id)
        .bind(token)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Starts a turn with the shopper's message, in one transaction (one statement on PostgreSQL): returns the
    /// turn's number.
    pub async fn begin_turn(
        &self,
        conversation_id: &str,
        opening: &ChatMessage,
    ) -> ServiceResult<i64> {
        if self.db.backend() == Backend::Postgres {
            let sql = const_format::concatcp!(
                "WITH t AS (UPDATE agent_conversations SET turns = turns + 1, updated_at_ms = $2 WHERE id = $1 \
                 RETURNING turns) ",
                INSERT_MESSAGES,
                " SELECT $1, ",
                NEXT_SEQ,
                ", t.turns, m.role, m.content, m.tool_calls, m.tool_call_id, m.tool_name, $2, 1 \
                 FROM t, jsonb_to_recordset($3::jsonb) AS ",
                MESSAGE_RECORD,
                " RETURNING turn"
            );
            let (turn,): (i64,) = sqlx::query_as(sql)
                .bind(conversation_id)
                .bind(now_ms())
                .bind(message_rows(std::slice::from_ref(opening))?)
                .fetch_one(self.db.pool())
                .await?;
            return Ok(turn);
        }
        let mut tx = self.db.begin_write().await?;
        let (turn,): (i64,) = sqlx::query_as(
            "UPDATE agent_conversations SET turns = turns + 1, updated_at_ms = $2 WHERE id = $1 RETURNING turns",
        )
        .bind(conversation_id)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        insert_messages(
            &mut tx,
            conversation_id,
            turn,
            std::slice::from_ref(opening),
            true,
        )
        .await?;
        tx.commit().await?;
        Ok(turn)
    }

    /// A model call and what it said (its answer, or its tool calls): the trace step, the tokens counted on the
    /// conversation and on its user's day, and the assistant message, written together (see [`Store::record`]).
    /// Returns the user's tokens of the day after counting (None when the call used none): what the next round's
    /// allowance check reads, as fresh as a read would be, other turns of the user included.
    pub async fn record_model_reply(
        &self,
        conversation: &Conversation,
        usage: Usage,
        step: &Step,
        reply: &[ChatMessage],
    ) -> ServiceResult<Option<u64>> {
        self.record(
            conversation,
            usage,
            std::slice::from_ref(step),
            step.turn,
            reply,
        )
        .await
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
}

/// Keeps what [`Store::history`] would read back: the latest `max_messages` messages, starting at a shopper's
/// message, or the whole current turn when that alone is longer.
pub fn trim_history(history: &mut Vec<ChatMessage>, max_messages: usize) {
    let max = max_messages.max(1);
    if history.len() <= max {
        return;
    }
    let window = history.len() - max;
    let start = match history[window..].iter().position(|m| m.role == Role::User) {
        Some(offset) => window + offset,
        None => history
            .iter()
            .rposition(|m| m.role == Role::User)
            .unwrap_or(0),
    };
    history.drain(..start);
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Appends `messages` after those the conversation holds, inside `tx`.
async fn insert_messages(
    tx: &mut Tx,
    conversation_id: &str,
    turn: i64,
    messages: &[ChatMessage],
    in_history: bool,
) -> ServiceResult<()> {
    // Each row takes the next number after those stored, computed in the insert itself instead of read first.
    // Writers of one conversation take turns (its claim and turn lease); should two ever race (a lease that ran
    // out), the primary key refuses the second row rather than misorder them.
    for message in messages {
        let calls = serde_json::to_string(&message.tool_calls).map_err(anyhow::Error::from)?;
        sqlx::query(const_format::concatcp!(
            INSERT_MESSAGES,
            " SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9 \
             FROM agent_messages WHERE conversation_id = $1"
        ))
        .bind(conversation_id)
        .bind(turn)
        .bind(role_name(message.role))
        .bind(&message.content)
        .bind(calls)
        .bind(message.tool_call_id.clone().unwrap_or_default())
        .bind(message.tool_name.clone().unwrap_or_default())
        .bind(now_ms())
        .bind(i64::from(in_history))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// [`Store::record`] on PostgreSQL, one statement. $1 conversation, $2/$3 input/output tokens (counted when their
/// sum is positive), $4 user, $5 UTC day, $6 the steps as JSON, $7 the messages' turn, $8 now, $9 the messages as
/// JSON (numbered after those stored, in order). Every part sees the rows as they were before the statement, so
/// the messages' numbers come from one read of the highest stored.
const RECORD_POSTGRES: &str = const_format::concatcp!(
    "WITH \
     c AS (UPDATE agent_conversations SET input_tokens = input_tokens + $2, output_tokens = output_tokens + $3 \
           WHERE id = $1 AND $2::BIGINT + $3::BIGINT > 0), \
     u AS (INSERT INTO agent_usage (user_id, day, input_tokens, output_tokens) \
           SELECT $4, $5, $2, $3 WHERE $2::BIGINT + $3::BIGINT > 0 \
           ON CONFLICT (user_id, day) DO UPDATE SET input_tokens = agent_usage.input_tokens + EXCLUDED.input_tokens, \
           output_tokens = agent_usage.output_tokens + EXCLUDED.output_tokens \
           RETURNING input_tokens + output_tokens AS today), \
     s AS (",
    INSERT_STEPS,
    " SELECT $1, s.turn, s.step, s.kind, s.name, s.call_id, s.started_at_ms, s.duration_ms, s.input_tokens, \
           s.output_tokens, s.detail, s.outcome \
           FROM jsonb_to_recordset($6::jsonb) AS s(turn BIGINT, step BIGINT, kind TEXT, name TEXT, call_id TEXT, \
           started_at_ms BIGINT, duration_ms BIGINT, input_tokens BIGINT, output_tokens BIGINT, detail TEXT, \
           outcome TEXT)), \
     m AS (",
    INSERT_MESSAGES,
    " SELECT $1, ",
    NEXT_SEQ,
    ", $7, m.role, m.content, m.tool_calls, m.tool_call_id, m.tool_name, $8, 1 \
           FROM jsonb_to_recordset($9::jsonb) AS ",
    MESSAGE_RECORD,
    ") SELECT CAST((SELECT today FROM u) AS BIGINT)"
);

/// [`Store::record`] on SQLite: the same parameters as [`RECORD_POSTGRES`], as a batch of statements run inside a
/// write transaction (SQLite has no data-modifying `WITH`). The rows come from the same JSON, read with `json_each`;
/// the messages' numbers from one read of the highest stored, taken before the insert writes (SQLite evaluates an
/// insert's `SELECT` from its own table whole first). The last statement returns the day's total when tokens were
/// counted, and no row otherwise.
const RECORD_SQLITE: &str = const_format::concatcp!(
    "UPDATE agent_conversations SET input_tokens = input_tokens + $2, output_tokens = output_tokens + $3 \
     WHERE id = $1 AND $2 + $3 > 0; ",
    INSERT_STEPS,
    " SELECT $1, s.value ->> 'turn', s.value ->> 'step', s.value ->> 'kind', s.value ->> 'name', \
     s.value ->> 'call_id', s.value ->> 'started_at_ms', s.value ->> 'duration_ms', s.value ->> 'input_tokens', \
     s.value ->> 'output_tokens', s.value ->> 'detail', s.value ->> 'outcome' FROM json_each($6) AS s; ",
    INSERT_MESSAGES,
    " SELECT $1, ",
    HIGHEST_SEQ,
    " + (m.value ->> 'ord'), $7, m.value ->> 'role', m.value ->> 'content', m.value ->> 'tool_calls', \
     m.value ->> 'tool_call_id', m.value ->> 'tool_name', $8, 1 FROM json_each($9) AS m; \
     INSERT INTO agent_usage (user_id, day, input_tokens, output_tokens) SELECT $4, $5, $2, $3 WHERE $2 + $3 > 0 \
     ON CONFLICT (user_id, day) DO UPDATE SET input_tokens = agent_usage.input_tokens + excluded.input_tokens, \
     output_tokens = agent_usage.output_tokens + excluded.output_tokens \
     RETURNING CAST(input_tokens + output_tokens AS BIGINT)"
);

/// The message rows' insert, shared by every statement that adds messages.
const INSERT_MESSAGES: &str = "INSERT INTO agent_messages (conversation_id, seq, turn, role, content, tool_calls, \
     tool_call_id, tool_name, created_at_ms, in_history)";

/// The trace steps' insert, shared by every statement that adds steps.
pub(super) const INSERT_STEPS: &str = "INSERT INTO agent_steps (conversation_id, turn, step, kind, name, call_id, \
     started_at_ms, duration_ms, input_tokens, output_tokens, detail, outcome)";

/// The highest message number stored in conversation `$1` (read once, before the statement's own rows).
const HIGHEST_SEQ: &str =
    "(SELECT COALESCE(MAX(seq), 0) FROM agent_messages WHERE conversation_id = $1)";

/// A message's number on PostgreSQL: after the highest stored, in batch order.
const NEXT_SEQ: &str = const_format::concatcp!(HIGHEST_SEQ, " + m.ord");

/// How PostgreSQL reads one [`MessageIn`] from the JSON.
const MESSAGE_RECORD: &str = "m(ord BIGINT, role TEXT, content TEXT, tool_calls TEXT, tool_call_id TEXT, \
     tool_name TEXT)";

/// A message in the model's history as one row of the JSON the recording statements expand (PostgreSQL's
/// `jsonb_to_recordset` as [`MESSAGE_RECORD`], SQLite's `json_each`): `ord` numbers it within the batch.
#[derive(Serialize)]
struct MessageIn<'a> {
    ord: i64,
    role: &'static str,
    content: &'a str,
    tool_calls: String,
    tool_call_id: &'a str,
    tool_name: &'a str,
}

fn message_rows(messages: &[ChatMessage]) -> ServiceResult<String> {
    let mut rows = Vec::with_capacity(messages.len());
    for (ord, message) in (1..).zip(messages) {
        rows.push(MessageIn {
            ord,
            role: role_name(message.role),
            content: &message.content,
            tool_calls: serde_json::to_string(&message.tool_calls).map_err(anyhow::Error::from)?,
            tool_call_id: message.tool_call_id.as_deref().unwrap_or_default(),
            tool_name: message.tool_name.as_deref().unwrap_or_default(),
        });
    }
    Ok(serde_json::to_string(&rows).map_err(anyhow::Error::from)?)
}

/// A trace step as one row of the JSON the recording statements expand; its detail stays the text it is stored as.
#[derive(Serialize)]
struct StepIn<'a> {
    turn: i64,
    step: i64,
    kind: &'a str,
    name: &'a str,
    call_id: &'a str,
    started_at_ms: i64,
    duration_ms: i64,
    input_tokens: i64,
    output_tokens: i64,
    detail: &'a str,
    outcome: &'a str,
}

fn step_rows(steps: &[Step]) -> ServiceResult<String> {
    let rows: Vec<StepIn> = steps
        .iter()
        .map(|s| StepIn {
            turn: s.turn,
            step: s.step,
            kind: &s.kind,
            name: &s.name,
            call_id: &s.call_id,
            started_at_ms: s.started_at_ms,
            duration_ms: s.duration_ms,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            detail: &s.detail,
            outcome: &s.outcome,
        })
        .collect();
    Ok(serde_json::to_string(&rows).map_err(anyhow::Error::from)?)
}
