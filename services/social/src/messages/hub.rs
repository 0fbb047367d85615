//! Live delivery of direct messages: a broadcast channel per recipient, made when their first stream subscribes
//! and dropped when the last one leaves. The hub is only a doorbell; the database is the truth. A stream replays
//! from the database, then forwards live messages in seq order, and whenever it sees a gap (a lagging receiver, or
//! two commits published out of order) it reads the database again, so a stream never misses or repeats a message.
//!
//! With Redis (`redis.url`), every social replica's hub also rings the others: a sent message is published on one
//! Redis channel and each replica rings its own streams with what it hears. A doorbell lost on the way (Redis
//! down) costs latency, not messages: streams then also read the database every [`RECHECK`].

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use prost::Message as _;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::{CancellationToken, DropGuard};
use tokshop_platform::{ServiceResult, redis::Redis};
use tokshop_proto::social as pb;

/// Messages a receiver may fall behind by before it lags and catches up from the database.
pub const CHANNEL_CAPACITY: usize = 64;
/// With several replicas, how often a stream reads the database even without a doorbell.
pub const RECHECK: Duration = Duration::from_secs(10);

type Channels = HashMap<String, broadcast::Sender<pb::Message>>;

#[derive(Clone, Debug)]
pub struct Hub {
    channels: Arc<Mutex<Channels>>,
    capacity: usize,
    remote: Option<Remote>,
}

/// The other replicas' hubs, reached through one Redis channel.
#[derive(Clone)]
struct Remote {
    redis: Redis,
    channel: String,
    /// Stops the listener when the last clone of the hub goes.
    _listening: Arc<DropGuard>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(CHANNEL_CAPACITY)
    }
}

impl Hub {
    pub fn new(capacity: usize) -> Self {
        Self {
            channels: Arc::default(),
            capacity: capacity.max(1),
            remote: None,
        }
    }

    /// A hub that also rings, and is rung by, the hubs of the other replicas sharing `redis`.
    pub fn shared(redis: Redis) -> Self {
        let local = Self::default();
        let channel = redis.key(&["social", "messages"]);
        let stop = CancellationToken::new();
        let ringer = local.clone();
        let listener = redis.clone();
        let listening = channel.clone();
        let token = stop.clone();
        tokio::spawn(async move {
            listener
                .listen(
                    listening,
                    move |payload| match pb::Message::decode(payload) {
                        Ok(message) => ringer.ring(&message),
                        Err(err) => tracing::warn!(error = %err, "an undecodable message doorbell"),
                    },
                    token,
                )
                .await;
        });
        Self {
            remote: Some(Remote {
                redis,
                channel,
                _listening: Arc::new(stop.drop_guard()),
            }),
            ..local
        }
    }

    /// How often a stream should read the database without a doorbell: only when doorbells come from elsewhere.
    pub fn recheck(&self) -> Option<Duration> {
        self.remote.as_ref().map(|_| RECHECK)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Channels> {
        // The map stays consistent even if a holder panicked: every change is a single insert or remove.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts receiving the messages published to `user_id` from now on.
    pub fn subscribe(&self, user_id: &str) -> Subscription {
        let mut channels = self.lock();
        let receiver = match channels.get(user_id) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(self.capacity);
                channels.insert(user_id.to_owned(), sender);
                receiver
            }
        };
        Subscription {
            hub: self.clone(),
            user_id: user_id.to_owned(),
            receiver: Some(receiver),
        }
    }

    /// Hands a committed message to every live stream of its recipient (none listening is fine), here and, with
    /// Redis, on the other replicas.
    pub fn publish(&self, message: &pb::Message) {
        self.ring(message);
        if let Some(remote) = &self.remote {
            let remote = remote.clone();
            let payload = message.encode_to_vec();
            tokio::spawn(async move {
                // Lost doorbells are covered by the streams' periodic reads.
                let _ = remote.redis.publish(&remote.channel, &payload).await;
            });
        }
    }

    /// Rings this process's streams of the message's recipient.
    fn ring(&self, message: &pb::Message) {
        if let Some(sender) = self.lock().get(&message.to_user_id) {
            let _ = sender.send(message.clone());
        }
    }

    /// How many users have a live stream open.
    #[cfg(test)]
    pub fn listening(&self) -> usize {
        self.lock().len()
    }
}

/// One live stream's place in the hub; leaving (dropping it) removes the user's channel with its last stream.
#[derive(Debug)]
pub struct Subscription {
    hub: Hub,
    user_id: String,
    receiver: Option<broadcast::Receiver<pb::Message>>,
}

impl Subscription {
    async fn recv(&mut self) -> Result<pb::Message, broadcast::error::RecvError> {
        match self.receiver.as_mut() {
            Some(receiver) => receiver.recv().await,
            None => Err(broadcast::error::RecvError::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut channels = self.hub.lock();
        drop(self.receiver.take());
        if channels
            .get(&self.user_id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.user_id);
        }
    }
}

/// Feeds `out` every message after `after_seq`: first what `read_after` finds stored, then live messages from
/// `subscription` (which must have been made before this is called, so nothing falls between the two), reading
/// the database again every `recheck` when given. Ends when the receiving side of `out` is dropped (the client
/// hung up) or a read fails (the error is sent last).
pub async fn deliver<R, F>(
    mut subscription: Subscription,
    after_seq: i64,
    read_after: R,
    out: mpsc::Sender<ServiceResult<pb::Message>>,
    recheck: Option<Duration>,
) where
    R: Fn(i64) -> F,
    F: Future<Output = ServiceResult<Vec<pb::Message>>>,
{
    let mut last = after_seq;
    if !catch_up(&mut last, &read_after, &out).await {
        return;
    }
    let mut ticks =
        recheck.map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
    loop {
        let tick = async {
            match ticks.as_mut() {
                Some(ticks) => {
                    ticks.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        let received = tokio::select! {
            () = out.closed() => return,
            () = tick => {
                if !catch_up(&mut last, &read_after, &out).await {
                    return;
                }
                continue;
            }
            received = subscription.recv() => received,
        };
        let delivered = match received {
            Ok(message) if message.seq <= last => true,
            Ok(message) if message.seq == last + 1 => {
                last = message.seq;
                out.send(Ok(message)).await.is_ok()
            }
            // A gap: a message committed before this one is still on its way (or was lost to lag); the
            // database has both.
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                catch_up(&mut last, &read_after, &out).await
            }
            Err(broadcast::error::RecvError::Closed) => false,
        };
        if !delivered {
            return;
        }
    }
}

/// Sends every stored message after `last`, advancing it; false when the stream should end.
async fn catch_up<R, F>(
    last: &mut i64,
    read_after: &R,
    out: &mpsc::Sender<ServiceResult<pb::Message>>,
) -> bool
where
    R: Fn(i64) -> F,
    F: Future<Output = ServiceResult<Vec<pb::Message>>>,
{
    loop {
        let batch = match read_after(*last).await {
            Ok(batch) => batch,
            Err(err) => {
                let _ = out.send(Err(err)).await;
                return false;
            }
        };
        if batch.is_empty() {
            return true;
        }
        for message in batch {
            if message.seq > *last {
                *last = message.seq;
                if out.send(Ok(message)).await.is_err() {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Mutex as StdMutex;

    use super::*;

    fn message(seq: i64) -> pb::Message {
        pb::Message {
            id: format!("msg_{seq}"),
            seq,
            to_user_id: "usr_b".into(),
            ..Default::default()
        }
    }

    /// A stored inbox the test appends to, read like the database (seq order, in small batches).
    #[derive(Clone, Default)]
    struct Inbox(Arc<StdMutex<Vec<pb::Message>>>);

    impl Inbox {
        fn store(&self, seq: i64) -> pb::Message {
            let message = message(seq);
            self.0.lock().unwrap().push(message.clone());
            message
        }

        fn reader(self) -> impl Fn(i64) -> std::future::Ready<ServiceResult<Vec<pb::Message>>> {
            let inbox = self;
            move |after| {
                let stored = inbox.0.lock().unwrap();
                let batch = stored
                    .iter()
                    .filter(|m| m.seq > after)
                    .take(2)
                    .cloned()
                    .collect();
                std::future::ready(Ok(batch))
            }
        }
    }

    async fn next_seqs(rx: &mut mpsc::Receiver<ServiceResult<pb::Message>>, n: usize) -> Vec<i64> {
        let mut seqs = Vec::new();
        for _ in 0..n {
            let message = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .expect("a message in time")
                .expect("stream open")
                .expect("no error");
            seqs.push(message.seq);
        }
        seqs
    }

    #[tokio::test]
    async fn replays_then_forwards_live_without_repeats_or_gaps() {
        let hub = Hub::new(2);
        let inbox = Inbox::default();
        for seq in 1..=3 {
            inbox.store(seq);
        }
        let subscription = hub.subscribe("usr_b");
        // Committed after subscribing but published only later: replayed once, its live copy skipped.
        let late = inbox.store(4);
        let (tx, mut rx) = mpsc::channel(1);
        let task = tokio::spawn(deliver(subscription, 1, inbox.clone().reader(), tx, None));
        assert_eq!(next_seqs(&mut rx, 3).await, vec![2, 3, 4]);
        hub.publish(&late);
        // Published out of commit order: 6 before 5 makes the stream read the database, which has both.
        let five = inbox.store(5);
        let six = inbox.store(6);
        hub.publish(&six);
        hub.publish(&five);
        assert_eq!(next_seqs(&mut rx, 2).await, vec![5, 6]);
        // More than the channel holds at once: the receiver lags and catches up from the database.
        for seq in 7..=12 {
            let m = inbox.store(seq);
            hub.publish(&m);
        }
        assert_eq!(next_seqs(&mut rx, 6).await, (7..=12).collect::<Vec<_>>());
        let m = inbox.store(13);
        hub.publish(&m);
        assert_eq!(next_seqs(&mut rx, 1).await, vec![13]);
        // Hanging up ends the stream and frees the recipient's channel.
        drop(rx);
        task.await.unwrap();
        assert_eq!(hub.listening(), 0);
    }

    #[test]
    fn channels_live_as_long_as_their_streams() {
        let hub = Hub::default();
        let first = hub.subscribe("usr_b");
        let second = hub.subscribe("usr_b");
        assert_eq!(hub.listening(), 1);
        drop(first);
        assert_eq!(hub.listening(), 1);
        drop(second);
        assert_eq!(hub.listening(), 0);
        // Publishing with nobody listening is a no-op.
        hub.publish(&message(1));
    }
}
