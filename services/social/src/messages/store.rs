//! Every SQL statement of direct messages: friendship checks, sending (with the recipient's inbox sequence),
//! conversation history, the conversation list and the inbox replay the live stream starts from.

use serde::Serialize;
use sqlx::FromRow;
use tokshop_platform::{
    ServiceError, ServiceResult, db::Db, error::is_unique_violation, events, ids::new_id,
    page::Cursor, time::now_ms,
};
use tokshop_proto::social as pb;

/// Most messages one inbox read returns; the live stream reads again until it has caught up.
pub const REPLAY_BATCH: i64 = 100;

const COLUMNS: &str = "id, recipient_id, seq, sender_id, text, sent_at_ms";

#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: String,
    pub recipient_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub text: String,
    pub sent_at_ms: i64,
}

impl From<MessageRow> for pb::Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            seq: row.seq,
            from_user_id: row.sender_id,
            to_user_id: row.recipient_id,
            text: row.text,
            sent_at_ms: row.sent_at_ms,
        }
    }
}

/// A message to store: who sends it to whom, its checked text and the sender's retry key (if any).
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub sender_id: &'a str,
    pub recipient_id: &'a str,
    pub text: &'a str,
    pub request_id: Option<&'a str>,
}

/// What `social.message_sent` carries: who, to whom and where in the inbox; never the text.
#[derive(Debug, Serialize)]
struct MessageSent<'a> {
    message_id: &'a str,
    from_user_id: &'a str,
    to_user_id: &'a str,
    seq: i64,
    sent_at_ms: i64,
}

/// The key both directions of a conversation share: the two ids sorted, joined by ':'.
pub fn pair_key(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}:{b}")
    } else {
        format!("{b}:{a}")
    }
}

pub const NOT_FRIENDS: &str = "you can message only friends (people who follow you back)";

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The message a sender already sent with this retry key, if any.
    pub async fn by_request(
        &self,
        sender_id: &str,
        request_id: &str,
    ) -> ServiceResult<Option<MessageRow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM messages WHERE sender_id = $1 AND request_id = $2");
        // Built only from the fixed column list.
        Ok(sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
            .bind(sender_id)
            .bind(request_id)
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// Stores a message between friends: bumps the recipient's inbox sequence and records `social.message_sent`
    /// in one transaction. A retry with the same request id returns the message sent the first time.
    pub async fn send(&self, message: &NewMessage<'_>) -> ServiceResult<MessageRow> {
        if let Some(request_id) = message.request_id
            && let Some(sent) = self.by_request(message.sender_id, request_id).await?
        {
            return Ok(sent);
        }
        match self.insert(message).await {
            Err(ServiceError::Internal(err))
                if err
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(is_unique_violation) =>
            {
                // A concurrent retry with the same request id won the race; answer with its message.
                let request_id = message.request_id.unwrap_or_default();
                self.by_request(message.sender_id, request_id)
                    .await?
                    .ok_or_else(|| ServiceError::Internal(err))
            }
            other => other,
        }
    }

    async fn insert(&self, message: &NewMessage<'_>) -> ServiceResult<MessageRow> {
        let mut tx = self.db.begin_write().await?;
        let (mutual,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM follows WHERE (follower_id = $1 AND followee_id = $2) \
             OR (follower_id = $2 AND followee_id = $1)",
        )
        .bind(message.sender_id)
        .bind(message.recipient_id)
        .fetch_one(&mut *tx)
        .await?;
        if mutual < 2 {
            return Err(ServiceError::forbidden(NOT_FRIENDS));
        }
        // The row lock on the inbox serialises senders to one recipient, so seqs follow commit order.
        let (seq,): (i64,) = sqlx::query_as(
            "INSERT INTO inboxes (user_id, last_seq) VALUES ($1, 1) \
             ON CONFLICT (user_id) DO UPDATE SET last_seq = inboxes.last_seq + 1 RETURNING last_seq",
        )
        .bind(message.recipient_id)
        .fetch_one(&mut *tx)
        .await?;
        let row = MessageRow {
            id: new_id("msg"),
            recipient_id: message.recipient_id.to_owned(),
            seq,
            sender_id: message.sender_id.to_owned(),
            text: message.text.to_owned(),
            sent_at_ms: now_ms(),
        };
        sqlx::query(
            "INSERT INTO messages (id, recipient_id, seq, sender_id, pair_key, text, request_id, sent_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.recipient_id)
        .bind(row.seq)
        .bind(&row.sender_id)
        .bind(pair_key(&row.sender_id, &row.recipient_id))
        .bind(&row.text)
        .bind(message.request_id)
        .bind(row.sent_at_ms)
        .execute(&mut *tx)
        .await?;
        let event = MessageSent {
            message_id: &row.id,
            from_user_id: &row.sender_id,
            to_user_id: &row.recipient_id,
            seq: row.seq,
            sent_at_ms: row.sent_at_ms,
        };
        events::record(&mut tx, "social.message_sent", &row.id, &event).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// One page of the conversation between `a` and `b`, newest first, after `cursor`; `limit` rows at most
    /// (ask for one more than a page to learn whether another follows).
    pub async fn conversation(
        &self,
        a: &str,
        b: &str,
        cursor: &Cursor,
        limit: i64,
    ) -> ServiceResult<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE pair_key = $1 \
             AND (sent_at_ms < $2 OR (sent_at_ms = $2 AND id < $3)) \
             ORDER BY sent_at_ms DESC, id DESC LIMIT $4"
        );
        // Built only from the fixed column list.
        Ok(sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
            .bind(pair_key(a, b))
            .bind(cursor.at_ms)
            .bind(&cursor.id)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// The last message of each of the user's conversations, most recent first.
    pub async fn latest_per_conversation(
        &self,
        user_id: &str,
        limit: i64,
    ) -> ServiceResult<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages m WHERE (m.sender_id = $1 OR m.recipient_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.pair_key = m.pair_key \
                 AND (n.sent_at_ms > m.sent_at_ms OR (n.sent_at_ms = m.sent_at_ms AND n.id > m.id))) \
             ORDER BY m.sent_at_ms DESC, m.id DESC LIMIT $2"
        );
        // Built only from the fixed column list.
        Ok(sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// Up to [`REPLAY_BATCH`] messages to `recipient_id` with a seq above `after_seq`, in seq order.
    pub async fn inbox_after(
        &self,
        recipient_id: &str,
        after_seq: i64,
    ) -> ServiceResult<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE recipient_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        // Built only from the fixed column list.
        Ok(sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
            .bind(recipient_id)
            .bind(after_seq)
            .bind(REPLAY_BATCH)
            .fetch_all(self.db.pool())
            .await?)
    }
}
