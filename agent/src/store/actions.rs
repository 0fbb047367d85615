//! Pending actions (proposed, decided, finished) and the trace steps of every turn and decision.

use tokshop_platform::{ServiceError, ServiceResult, ids::new_id, time::now_ms};

use super::Store;
use super::records::{NewPending, PENDING_COLUMNS, PendingAction, Step};

impl Store {
    pub async fn record_step(&self, conversation_id: &str, step: &Step) -> ServiceResult<()> {
        let mut conn = self.db.pool().acquire().await?;
        insert_step(&mut conn, conversation_id, step).await
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

/// Records one trace step on `conn` (a pooled connection, or a transaction).
async fn insert_step(
    conn: &mut sqlx::AnyConnection,
    conversation_id: &str,
    step: &Step,
) -> ServiceResult<()> {
    sqlx::query(const_format::concatcp!(
        super::INSERT_STEPS,
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
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
    .execute(conn)
    .await?;
    Ok(())
}
