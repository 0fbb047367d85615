//! Who may start a turn, and when: bounds on each turn and on each user (turns per minute, turns at once,
//! tokens per day), and one turn or decision at a time per conversation.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokshop_platform::{ServiceError, ServiceResult, time::now_ms};

use super::{Agent, Caller};
use crate::store::Conversation;

/// Bounds on one turn (reaching one ends the turn with an explanation instead of an error) and on each user (a
/// turn over one is refused with 429 before it starts). A user limit of 0 is no limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_steps: usize,
    pub max_tokens: u64,
    /// The turn's deadline: a model call still running then is abandoned, and the turn ends with a clean reply.
    pub max_seconds: u64,
    /// How long a pending action waits for the shopper.
    pub pending_ttl_secs: i64,
    /// Most messages of the conversation the model is shown (the current turn is always shown whole).
    pub history_messages: usize,
    /// Turns one user may start per minute, over all their conversations.
    pub turns_per_minute: u32,
    /// Model tokens (input and output) one user's turns may use per UTC day.
    pub tokens_per_day: u64,
    /// Turns one user may have running at once.
    pub concurrent_turns: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps: 8,
            max_tokens: 60_000,
            max_seconds: 90,
            pending_ttl_secs: 600,
            history_messages: 60,
            turns_per_minute: 0,
            tokens_per_day: 0,
            concurrent_turns: 0,
        }
    }
}

/// What each user has under way in this process: turns running, and when their recent turns started.
#[derive(Debug, Default)]
pub(super) struct Activity {
    running: u32,
    started: std::collections::VecDeque<Instant>,
}

/// A running turn counted against its user; dropping it (however the turn ends) gives the slot back.
pub(super) struct Slot {
    users: Arc<std::sync::Mutex<std::collections::HashMap<String, Activity>>>,
    user_id: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(activity) = users.get_mut(&self.user_id) {
            activity.running = activity.running.saturating_sub(1);
            if activity.running == 0 && activity.started.is_empty() {
                users.remove(&self.user_id);
            }
        }
    }
}

/// A turn allowed to start: it holds its conversation and its user's slot until it is run and dropped.
pub struct Admitted {
    pub(super) caller: Caller,
    pub(super) conversation: Conversation,
    pub(super) text: String,
    _claim: Claim,
    _slot: Slot,
}

/// A conversation claimed for one turn or decision; dropping it frees the conversation.
pub(super) struct Claim {
    busy: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    conversation_id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&self.conversation_id);
        }
    }
}

impl Agent {
    /// Claims the conversation for one turn or decision; a second one at the same time is refused (409), so
    /// messages keep their order and a yes can never race the turn whose proposal it would approve.
    pub(super) fn claim(&self, conversation_id: &str) -> ServiceResult<Claim> {
        let mut busy = self
            .busy
            .lock()
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("turn registry poisoned")))?;
        if !busy.insert(conversation_id.to_owned()) {
            return Err(ServiceError::conflict_on(
                "turn_in_progress",
                "conversation_id",
                "the assistant is still answering in this conversation; wait for that answer, then try again",
            ));
        }
        Ok(Claim {
            busy: self.busy.clone(),
            conversation_id: conversation_id.to_owned(),
        })
    }

    /// Counts a new turn against its user, or refuses it (429 with when to retry) if it would pass a limit.
    async fn admit(&self, user_id: &str) -> ServiceResult<Slot> {
        let limits = &self.limits;
        if limits.tokens_per_day > 0 {
            let used = self.store.tokens_today(user_id).await?;
            if used >= limits.tokens_per_day {
                let now = now_ms();
                let midnight = (crate::store::utc_day(now) + 1) * crate::store::DAY_MS;
                return Err(ServiceError::limited(
                    "agent_daily_tokens",
                    "you have used today's assistant allowance; it renews at midnight UTC",
                    u64::try_from(midnight - now).map_or(1, |ms| ms.div_ceil(1000)),
                ));
            }
        }
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let activity = users.entry(user_id.to_owned()).or_default();
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        while activity
            .started
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            activity.started.pop_front();
        }
        if limits.concurrent_turns > 0 && activity.running >= limits.concurrent_turns {
            return Err(ServiceError::limited(
                "agent_concurrent_turns",
                format!(
                    "the assistant is already answering {} of your messages; wait for one to finish",
                    activity.running
                ),
                1,
            ));
        }
        if limits.turns_per_minute > 0
            && activity.started.len() >= limits.turns_per_minute as usize
            && let Some(oldest) = activity.started.front()
        {
            let wait = minute.saturating_sub(now.duration_since(*oldest));
            return Err(ServiceError::limited(
                "agent_turns_per_minute",
                "too many messages to the assistant in a minute; wait a moment",
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            ));
        }
        activity.running += 1;
        if limits.turns_per_minute > 0 {
            activity.started.push_back(now);
        }
        Ok(Slot {
            users: self.users.clone(),
            user_id: user_id.to_owned(),
        })
    }

    /// Everything that may refuse a turn before it starts: the text, the conversation (the caller's own), one turn
    /// at a time per conversation, and the caller's limits. A refusal changes nothing.
    pub async fn admit_turn(
        &self,
        caller: &Caller,
        conversation_id: &str,
        text: &str,
    ) -> ServiceResult<Admitted> {
        let text = text.trim();
        tokshop_platform::check_len("text", text, 1, 4000)?;
        let conversation = self.store.get(&caller.user_id, conversation_id).await?;
        let claim = self.claim(&conversation.id)?;
        let slot = self.admit(&caller.user_id).await?;
        Ok(Admitted {
            caller: caller.clone(),
            conversation,
            text: text.to_owned(),
            _claim: claim,
            _slot: slot,
        })
    }
}
