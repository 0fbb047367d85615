//! Events on Kafka, for shops whose parts run as several processes (`kafka.brokers`, TOKSHOP_KAFKA_BROKERS).
//!
//! The relay publishes each event to the topic of its stream (`order.paid` goes to `<prefix>.order`), keyed by
//! aggregate id so one aggregate's events keep their order, with the event id and type in headers, through an
//! idempotent producer that waits for every in-sync replica (`acks=all`). The message value is the event as JSON.
//!
//! Each subscribed handler consumes in its own consumer group (`<prefix>.<handler name>`), so every replica of a
//! part shares that handler's work and one slow handler holds up no other. An offset is committed only after the
//! handler's effect is stored; handlers apply each event once (`first_delivery` or an idempotent call), so
//! redelivery after a crash changes nothing. A handler that keeps failing is retried with growing pauses, then the
//! event goes to the dead-letter topic (`<prefix>.dlq`) with the error, and the consumer moves on. `tokshop events
//! dlq list|replay` reads that topic and puts events back on their stream.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{CommitMode, Consumer, StreamConsumer},
    error::RDKafkaErrorCode,
    message::{BorrowedMessage, Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
    util::Timeout,
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{Event, EventBus, EventHandler, STREAMS};
use crate::config::KafkaSettings;

/// How long a publish may wait for the brokers before the relay tries again.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often each consumer measures its lag.
const LAG_EVERY: Duration = Duration::from_secs(5);
/// How long reading the dead-letter topic waits for brokers and for messages that are not there.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the brokers: the producer, and what the consumers need to join their groups.
pub struct Kafka {
    settings: KafkaSettings,
    brokers: String,
    producer: FutureProducer,
}

impl std::fmt::Debug for Kafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kafka")
            .field("brokers", &self.brokers)
            .finish_non_exhaustive()
    }
}

/// An event that a handler could not apply, as the dead-letter topic keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event: Event,
    /// The handler that failed (its consumer name).
    pub consumer: String,
    /// The last error, with its causes.
    pub error: String,
    pub attempts: u32,
    pub failed_at_ms: i64,
}

/// A dead letter with its place in the dead-letter topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub partition: i32,
    pub offset: i64,
    pub letter: DeadLetter,
    /// Whether `replay` has already put it back on its stream.
    pub replayed: bool,
}

impl Kafka {
    /// Connects a producer and creates the stream topics and the dead-letter topic if they are missing.
    pub async fn connect(settings: &KafkaSettings, brokers: &str) -> anyhow::Result<Self> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", SEND_TIMEOUT.as_millis().to_string())
            .create()
            .context("creating the Kafka producer")?;
        let kafka = Self {
            settings: settings.clone(),
            brokers: brokers.to_owned(),
            producer,
        };
        kafka.create_topics().await?;
        Ok(kafka)
    }

    /// The topic of `stream` (`order`).
    pub fn topic(&self, stream: &str) -> String {
        format!("{}.{stream}", self.settings.topic_prefix)
    }

    /// The dead-letter topic.
    pub fn dead_letter_topic(&self) -> String {
        self.topic("dlq")
    }

    /// The topic an event of `event_topic` (`order.paid`) travels on.
    pub fn topic_of(&self, event_topic: &str) -> String {
        self.topic(stream_of(event_topic))
    }

    async fn create_topics(&self) -> anyhow::Result<()> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .context("creating the Kafka admin client")?;
        let names: Vec<String> = STREAMS
            .iter()
            .map(|s| self.topic(s))
            .chain([self.dead_letter_topic()])
            .collect();
        let topics: Vec<NewTopic> = names
            .iter()
            .map(|name| {
                NewTopic::new(
                    name,
                    self.settings.partitions,
                    TopicReplication::Fixed(self.settings.replication),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Timeout::After(READ_TIMEOUT)));
        let results = admin
            .create_topics(&topics, &options)
            .await
            .with_context(|| format!("creating Kafka topics on {}", self.brokers))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => anyhow::bail!("creating Kafka topic {topic}: {code}"),
            }
        }
        Ok(())
    }

    async fn send(
        &self,
        topic: &str,
        key: &str,
        value: &[u8],
        headers: OwnedHeaders,
    ) -> anyhow::Result<()> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(value)
            .headers(headers);
        self.producer
            .send(record, Timeout::After(SEND_TIMEOUT))
            .await
            .map(|_| ())
            .map_err(|(err, _)| anyhow::Error::new(err).context(format!("publishing to {topic}")))
    }

    /// Consumes the streams for `handler` in its consumer group until `shutdown`.
    pub async fn consume(
        self: Arc<Self>,
        handler: Arc<dyn EventHandler>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let group = format!("{}.{}", self.settings.topic_prefix, handler.name());
        let consumer: Arc<StreamConsumer> = Arc::new(
            self.consumer_config(&group, true)
                .create()
                .context("creating a Kafka consumer")?,
        );
        let topics: Vec<String> = STREAMS.iter().map(|s| self.topic(s)).collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .with_context(|| format!("subscribing {group} to {topics:?}"))?;
        tracing::info!(%group, "consuming events from Kafka");
        let mut measure = tokio::time::interval(LAG_EVERY);
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = measure.tick() => {
                    measure_lag(consumer.clone(), group.clone());
                    continue;
                }
                message = consumer.recv() => message,
            };
            let message = match message {
                Ok(message) => message,
                Err(err) => {
                    tracing::warn!(%group, error = %err, "reading from Kafka failed; will retry");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(self.backoff(1)) => continue,
                    }
                }
            };
            if !self.apply(handler.as_ref(), &message, &shutdown).await? {
                // Shutting down mid-retry: the offset stays uncommitted, so the event comes back.
                return Ok(());
            }
            consumer
                .commit_message(&message, CommitMode::Sync)
                .with_context(|| format!("{group} committing its offset"))?;
        }
    }

    /// Applies one message: true once it is handled, skipped or parked on the dead-letter topic (the offset may be
    /// committed); false when shutdown came first.
    async fn apply(
        &self,
        handler: &dyn EventHandler,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<bool> {
        let event = match message.payload().map(serde_json::from_slice::<Event>) {
            Some(Ok(event)) => event,
            // Nothing of ours wrote it and no handler could apply it: logged and passed over.
            other => {
                let error = match other {
                    Some(Err(err)) => format!("not an event: {err}"),
                    _ => "an empty message".to_owned(),
                };
                tracing::error!(topic = message.topic(), offset = message.offset(), %error, "unreadable message on an event topic");
                return Ok(true);
            }
        };
        if !handler.wants(&event.topic) {
            return Ok(true);
        }
        let mut attempt = 1;
        loop {
            let outcome = handler.handle(&event).await;
            let Err(err) = outcome else {
                return Ok(true);
            };
            if attempt >= self.settings.max_attempts {
                let letter = DeadLetter {
                    event,
                    consumer: handler.name().to_owned(),
                    error: format!("{err:#}"),
                    attempts: attempt,
                    failed_at_ms: crate::time::now_ms(),
                };
                tracing::error!(consumer = %letter.consumer, event = %letter.event.id, error = %letter.error, "event moved to the dead-letter topic");
                self.park(&letter).await?;
                return Ok(true);
            }
            tracing::warn!(consumer = handler.name(), event = %event.id, attempt, error = %format!("{err:#}"), "handling an event failed; will retry");
            tokio::select! {
                () = shutdown.cancelled() => return Ok(false),
                () = tokio::time::sleep(self.backoff(attempt)) => {}
            }
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = Duration::from_millis(self.settings.retry_backoff_ms);
        (base * 2u32.saturating_pow(attempt.saturating_sub(1))).min(Duration::from_secs(30))
    }

    /// Puts `letter` on the dead-letter topic.
    async fn park(&self, letter: &DeadLetter) -> anyhow::Result<()> {
        let value = serde_json::to_vec(letter).context("encoding a dead letter")?;
        let headers = event_headers(&letter.event).insert(Header {
            key: "consumer",
            value: Some(letter.consumer.as_str()),
        });
        self.send(
            &self.dead_letter_topic(),
            &letter.event.aggregate_id,
            &value,
            headers,
        )
        .await
    }

    /// A consumer of `group`; a member (`member`: one that subscribes) carries this replica's static id.
    fn consumer_config(&self, group: &str, member: bool) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            // Also the longest a rebalance waits for members that do not rejoin (a consumer that died): keep it
            // short, but above the longest a handler may take between two reads (its retries included).
            .set("max.poll.interval.ms", "20000");
        if let (true, Some(instance)) = (member, &self.settings.instance_id) {
            config.set("group.instance.id", instance);
        }
        config
    }

    /// The group that records which dead letters were replayed.
    fn replay_group(&self) -> String {
        format!("{}.dlq-replay", self.settings.topic_prefix)
    }

    /// Every dead letter, oldest first per partition, each marked replayed or not.
    pub async fn dead_letters(&self) -> anyhow::Result<Vec<Stored>> {
        let consumer: StreamConsumer =
            self.consumer_config(&self.replay_group(), false).create()?;
        let topic = self.dead_letter_topic();
        let metadata = consumer
            .fetch_metadata(Some(&topic), Timeout::After(READ_TIMEOUT))
            .with_context(|| format!("reading the partitions of {topic}"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let mut wanted = TopicPartitionList::new();
        for &partition in &partitions {
            wanted.add_partition(&topic, partition);
        }
        let committed = consumer
            .committed_offsets(wanted, Timeout::After(READ_TIMEOUT))
            .context("reading the replay position")?;
        let mut letters = Vec::new();
        for partition in partitions {
            let (low, high) = consumer
                .fetch_watermarks(&topic, partition, Timeout::After(READ_TIMEOUT))
                .with_context(|| format!("reading the extent of {topic}/{partition}"))?;
            if high <= low {
                continue;
            }
            let replayed_before = match committed
                .find_partition(&topic, partition)
                .map(|p| p.offset())
            {
                Some(Offset::Offset(offset)) => offset,
                _ => low,
            };
            let mut assignment = TopicPartitionList::new();
            assignment.add_partition_offset(&topic, partition, Offset::Offset(low))?;
            consumer.assign(&assignment)?;
            let mut next = low;
            while next < high {
                let message = tokio::time::timeout(READ_TIMEOUT, consumer.recv())
                    .await
                    .with_context(|| format!("reading {topic}/{partition} at {next}"))??;
                next = message.offset() + 1;
                let letter: DeadLetter = match message.payload().map(serde_json::from_slice) {
                    Some(Ok(letter)) => letter,
                    _ => continue,
                };
                letters.push(Stored {
                    partition,
                    offset: message.offset(),
                    replayed: message.offset() < replayed_before,
                    letter,
                });
            }
        }
        Ok(letters)
    }

    /// Puts every dead letter not yet replayed back on its stream, then records how far it got. Consumers apply
    /// each event once, so a handler that already applied one skips it. Returns the letters replayed.
    pub async fn replay(&self) -> anyhow::Result<Vec<Stored>> {
        let letters: Vec<Stored> = self
            .dead_letters()
            .await?
            .into_iter()
            .filter(|s| !s.replayed)
            .collect();
        let topic = self.dead_letter_topic();
        let mut reached = TopicPartitionList::new();
        for stored in &letters {
            self.publish(&stored.letter.event).await?;
            reached.add_partition_offset(
                &topic,
                stored.partition,
                Offset::Offset(stored.offset + 1),
            )?;
        }
        if reached.count() > 0 {
            let consumer: StreamConsumer =
                self.consumer_config(&self.replay_group(), false).create()?;
            consumer
                .commit(&reached, CommitMode::Sync)
                .context("recording the replay position")?;
        }
        Ok(letters)
    }
}

/// Sets `group`'s lag gauge: messages on its assigned partitions past its committed offsets. The broker calls
/// block, so it runs off the async threads; a failed measurement leaves the last value.
fn measure_lag(consumer: Arc<StreamConsumer>, group: String) {
    tokio::task::spawn_blocking(move || {
        let Some(metrics) = crate::metrics::events() else {
            return;
        };
        let Ok(committed) = consumer.committed(Timeout::After(READ_TIMEOUT)) else {
            return;
        };
        let mut lag = 0;
        for place in committed.elements() {
            let Ok((low, high)) = consumer.fetch_watermarks(
                place.topic(),
                place.partition(),
                Timeout::After(READ_TIMEOUT),
            ) else {
                return;
            };
            let at = match place.offset() {
                Offset::Offset(offset) => offset,
                _ => low,
            };
            lag += (high - at).max(0);
        }
        metrics.consumer_lag.with_label_values(&[&group]).set(lag);
    });
}

/// The stream an event topic belongs to: `order.paid` -> `order`.
pub fn stream_of(event_topic: &str) -> &str {
    event_topic.split('.').next().unwrap_or(event_topic)
}

fn event_headers(event: &Event) -> OwnedHeaders {
    OwnedHeaders::new()
        .insert(Header {
            key: "event_id",
            value: Some(event.id.as_str()),
        })
        .insert(Header {
            key: "event_type",
            value: Some(event.topic.as_str()),
        })
}

#[async_trait::async_trait]
impl EventBus for Kafka {
    async fn publish(&self, event: &Event) -> anyhow::Result<()> {
        let value = serde_json::to_vec(event).context("encoding an event")?;
        self.send(
            &self.topic_of(&event.topic),
            &event.aggregate_id,
            &value,
            event_headers(event),
        )
        .await
    }
}
