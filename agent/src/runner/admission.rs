//! Who may start a turn, and when: bounds on each turn and on each user (turns per minute, turns at once,
//! tokens per day), and one turn or decision at a time per conversation.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use tokshop_platform::{ServiceError, ServiceResult, redis::Unavailable, time::now_ms};

use super::{
    Agent, Caller,
    shared_turns::{Refusal, SharedSlot, SharedTurns},
};
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

/// The window the per-minute limit counts turns in.
const MINUTE: Duration = Duration::from_secs(60);

/// Users tracked before the first sweep of idle ones.
const SWEEP_FLOOR: usize = 1024;

/// What one user has under way in this process: turns running, and when their turns of the last minute started.
#[derive(Debug, Default)]
struct Activity {
    running: u32,
    started: VecDeque<Instant>,
}

impl Activity {
    /// Forgets turns that started a minute or more before `now`.
    fn expire(&mut self, now: Instant) {
        while self
            .started
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            self.started.pop_front();
        }
    }

    fn idle(&self) -> bool {
        self.running == 0 && self.started.is_empty()
    }
}

/// Every user's activity in this process. A user's entry outlives their last turn while that turn still counts
/// against the per-minute limit, so users who never come back are swept out: whenever the map has doubled since the
/// last sweep (and is past [`SWEEP_FLOOR`]), entries with nothing running and nothing left in the window go. The
/// map stays within about twice the users active in the last minute, at an amortised constant cost per admission.
#[derive(Debug)]
pub(super) struct Users {
    by_user: HashMap<String, Activity>,
    sweep_at: usize,
}

impl Default for Users {
    fn default() -> Self {
        Self {
            by_user: HashMap::new(),
            sweep_at: SWEEP_FLOOR,
        }
    }
}

impl Users {
    /// `user_id`'s activity as of `now`, sweeping out idle users first when the map has grown enough.
    fn at(&mut self, user_id: &str, now: Instant) -> &mut Activity {
        if self.by_user.len() >= self.sweep_at {
            self.sweep(now);
        }
        let activity = self.by_user.entry(user_id.to_owned()).or_default();
        activity.expire(now);
        activity
    }

    fn sweep(&mut self, now: Instant) {
        self.by_user.retain(|_, activity| {
            activity.expire(now);
            !activity.idle()
        });
        self.sweep_at = (self.by_user.len() * 2).max(SWEEP_FLOOR);
    }

    /// A turn of `user_id` ended.
    fn finished(&mut self, user_id: &str) {
        if let Some(activity) = self.by_user.get_mut(user_id) {
            activity.running = activity.running.saturating_sub(1);
            if activity.idle() {
                self.by_user.remove(user_id);
            }
        }
    }
}

/// A running turn counted against its user; dropping it (however the turn ends) gives the slot back.
pub(super) enum Slot {
    /// Counted in this process.
    Local {
        users: Arc<std::sync::Mutex<Users>>,
        user_id: String,
    },
    /// Counted in Redis for every replica; released in the background (should that fail, its hold runs out).
    Shared(Arc<SharedTurns>, Option<SharedSlot>),
}

impl Drop for Slot {
    fn drop(&mut self) {
        match self {
            Self::Local { users, user_id } => {
                let mut users = users.lock().unwrap_or_else(|e| e.into_inner());
                users.finished(user_id);
            }
            Self::Shared(turns, slot) => {
                if let (Some(slot), Ok(runtime)) =
                    (slot.take(), tokio::runtime::Handle::try_current())
                {
                    let turns = turns.clone();
                    runtime.spawn(async move {
                        if !turns.release_with_retries(&slot).await {
                            tracing::warn!(
                                "releasing a shared turn slot failed; its hold will run out"
                            );
                        }
                    });
                }
            }
        }
    }
}

/// A turn allowed to start: it holds its conversation and its user's slot until it is run and dropped.
pub struct Admitted {
    pub(super) caller: Caller,
    pub(super) conversation: Conversation,
    pub(super) text: String,
    /// The user's tokens of the day when the turn was admitted.
    pub(super) tokens_today: u64,
    _claim: Claim,
    _slot: Slot,
}

/// A conversation claimed for one turn or decision, in this process and (through the lease on its row) across
/// every process sharing the database; dropping it frees the conversation.
pub(super) struct Claim {
    busy: Arc<std::sync::Mutex<std::collections::HashSet<(String, String)>>>,
    /// Who claimed it: another user naming the same id never holds (or waits on) the owner's claim.
    user_id: String,
    conversation_id: String,
    /// The lease token, once the lease is taken.
    lease: Option<(crate::store::Store, String)>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&(
                std::mem::take(&mut self.user_id),
                self.conversation_id.clone(),
            ));
        }
        // Released in the background; until it lands, only this process may take the lease again (and it keeps
        // its own turns apart), and should the process die first, the lease runs out on its own.
        if let (Some((store, token)), Ok(runtime)) =
            (self.lease.take(), tokio::runtime::Handle::try_current())
        {
            let conversation_id = self.conversation_id.clone();
            runtime.spawn(async move {
                if let Err(err) = store.release_turn_lease(&conversation_id, &token).await {
                    tracing::warn!(error = ?err, %conversation_id, "releasing a turn lease failed; it will run out");
                }
            });
        }
    }
}

/// How long a turn lease outlives the turn's own deadline, should its process die without releasing it.
const LEASE_MARGIN_SECS: u64 = 30;

fn too_many_at_once(running: u32) -> ServiceError {
    ServiceError::limited(
        "agent_concurrent_turns",
        format!(
            "the assistant is already answering {running} of your messages; wait for one to finish"
        ),
        1,
    )
}

fn too_many_a_minute(retry_after_secs: u64) -> ServiceError {
    ServiceError::limited(
        "agent_turns_per_minute",
        "too many messages to the assistant in a minute; wait a moment",
        retry_after_secs.max(1),
    )
}

fn turn_in_progress() -> ServiceError {
    ServiceError::conflict_on(
        "turn_in_progress",
        "conversation_id",
        "the assistant is still answering in this conversation; wait for that answer, then try again",
    )
}

impl Agent {
    /// Claims `user_id`'s conversation for one turn or decision, and returns it as it stands; a second one at the
    /// same time is refused (409), so messages keep their order and a yes can never race the turn whose proposal it
    /// would approve. Another user's conversation is not found, whether or not it is busy.
    pub(super) async fn claim(
        &self,
        user_id: &str,
        conversation_id: &str,
    ) -> ServiceResult<(Conversation, Claim)> {
        let free = self
            .busy
            .lock()
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("turn registry poisoned")))?
            .insert((user_id.to_owned(), conversation_id.to_owned()));
        if !free {
            return Err(self.already_claimed(user_id, conversation_id).await);
        }
        let mut claim = Claim {
            busy: self.busy.clone(),
            user_id: user_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            lease: None,
        };
        let token = tokshop_platform::ids::new_id("turn");
        let lease_ms = (self.limits.max_seconds + LEASE_MARGIN_SECS) * 1000;
        let until = now_ms() + i64::try_from(lease_ms).unwrap_or(i64::MAX / 2);
        let Some(conversation) = self
            .store
            .take_turn_lease(user_id, conversation_id, &self.instance, &token, until)
            .await?
        else {
            return Err(self.already_claimed(user_id, conversation_id).await);
        };
        claim.lease = Some((self.store.clone(), token));
        Ok((conversation, claim))
    }

    /// Why a claim was refused: the turn under way (409) for the conversation's owner, not found for anyone else.
    async fn already_claimed(&self, user_id: &str, conversation_id: &str) -> ServiceError {
        match self.store.get(user_id, conversation_id).await {
            Ok(_) => turn_in_progress(),
            Err(err) => err,
        }
    }

    /// The user's slot for one more turn, and the tokens their turns have used today (0 when not limited).
    async fn admit(&self, user_id: &str) -> ServiceResult<(Slot, u64)> {
        let limits = &self.limits;
        let mut used = 0;
        if limits.tokens_per_day > 0 {
            used = self.store.tokens_today(user_id).await?;
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
        if limits.concurrent_turns == 0 && limits.turns_per_minute == 0 {
            return Ok((self.local_slot(user_id), used));
        }
        if let Some(shared) = &self.shared {
            let hold_ms = (limits.max_seconds + LEASE_MARGIN_SECS) * 1000;
            match shared
                .admit(
                    user_id,
                    limits.concurrent_turns,
                    limits.turns_per_minute,
                    hold_ms,
                )
                .await
            {
                Ok(Ok(slot)) => return Ok((Slot::Shared(shared.clone(), Some(slot)), used)),
                Ok(Err(Refusal::Concurrent(running))) => return Err(too_many_at_once(running)),
                Ok(Err(Refusal::PerMinute(ms))) => {
                    return Err(too_many_a_minute(ms.div_ceil(1000)));
                }
                // Redis is away: this process counts on its own, as the gateway's request limits do.
                Err(Unavailable) => {}
            }
        }
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let activity = users.at(user_id, now);
        if limits.concurrent_turns > 0 && activity.running >= limits.concurrent_turns {
            return Err(too_many_at_once(activity.running));
        }
        if limits.turns_per_minute > 0
            && activity.started.len() >= limits.turns_per_minute as usize
            && let Some(oldest) = activity.started.front()
        {
            let wait = MINUTE.saturating_sub(now.duration_since(*oldest));
            return Err(too_many_a_minute(
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            ));
        }
        activity.running += 1;
        if limits.turns_per_minute > 0 {
            activity.started.push_back(now);
        }
        drop(users);
        Ok((self.local_slot(user_id), used))
    }

    fn local_slot(&self, user_id: &str) -> Slot {
        Slot::Local {
            users: self.users.clone(),
            user_id: user_id.to_owned(),
        }
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
        let (conversation, claim) = self.claim(&caller.user_id, conversation_id).await?;
        let (slot, tokens_today) = self.admit(&caller.user_id).await?;
        Ok(Admitted {
            caller: caller.clone(),
            conversation,
            text: text.to_owned(),
            tokens_today,
            _claim: claim,
            _slot: slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{SWEEP_FLOOR, Users};

    /// One turn of `user_id` at `now` under a per-minute limit, admitted and run to its end.
    fn one_turn(users: &mut Users, user_id: &str, now: Instant) {
        let activity = users.at(user_id, now);
        activity.running += 1;
        activity.started.push_back(now);
        users.finished(user_id);
    }

    #[test]
    fn users_who_never_come_back_do_not_pile_up() {
        let mut users = Users::default();
        let start = Instant::now();
        // 100,000 users who each send one message, ten a second: about 600 of them within any minute.
        for i in 0..100_000u64 {
            one_turn(
                &mut users,
                &format!("usr_{i}"),
                start + Duration::from_millis(i * 100),
            );
            assert!(
                users.by_user.len() <= 2 * SWEEP_FLOOR,
                "{} users tracked after {i} turns",
                users.by_user.len()
            );
        }
    }

    #[test]
    fn a_sweep_keeps_every_user_a_limit_still_counts() {
        let mut users = Users::default();
        let start = Instant::now();
        one_turn(&mut users, "usr_gone", start);
        users.at("usr_busy", start).running += 1;
        one_turn(&mut users, "usr_recent", start + Duration::from_secs(30));

        users.sweep(start + Duration::from_secs(61));

        assert!(!users.by_user.contains_key("usr_gone"));
        assert_eq!(users.by_user.get("usr_busy").map(|a| a.running), Some(1));
        assert_eq!(
            users.by_user.get("usr_recent").map(|a| a.started.len()),
            Some(1)
        );
    }
}
