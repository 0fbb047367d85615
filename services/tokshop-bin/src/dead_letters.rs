//! `tokshop events dlq list|replay`: the events Kafka consumers gave up on, and putting them back on their streams.

use tokshop_platform::config::Settings;

/// Lists the dead letters (or replays the waiting ones) and returns one line per letter, then a summary line.
#[cfg(feature = "kafka")]
pub async fn run(settings: &Settings, replay: bool) -> anyhow::Result<Vec<String>> {
    use anyhow::Context;
    use tokshop_platform::events::kafka::Kafka;

    let brokers = settings
        .kafka
        .brokers
        .as_deref()
        .context("dead letters live on Kafka: set kafka.brokers (TOKSHOP_KAFKA_BROKERS)")?;
    let kafka = Kafka::connect(&settings.kafka, brokers).await?;
    let letters = if replay {
        kafka.replay().await?
    } else {
        kafka.dead_letters().await?
    };
    let mut lines: Vec<String> = letters
        .iter()
        .map(|stored| {
            let letter = &stored.letter;
            let state = if replay {
                "replayed now"
            } else if stored.replayed {
                "replayed"
            } else {
                "waiting"
            };
            format!(
                "{}/{} {} {} {} consumer={} attempts={} {state}: {}",
                stored.partition,
                stored.offset,
                letter.event.id,
                letter.event.topic,
                letter.event.aggregate_id,
                letter.consumer,
                letter.attempts,
                letter.error.replace('\n', " "),
            )
        })
        .collect();
    let waiting = letters.iter().filter(|s| !s.replayed).count();
    lines.push(if replay {
        format!("{} dead letters put back on their streams", letters.len())
    } else {
        format!("{} dead letters, {waiting} waiting", letters.len())
    });
    Ok(lines)
}

/// Without Kafka support there are no dead letters to read.
#[cfg(not(feature = "kafka"))]
pub async fn run(_settings: &Settings, _replay: bool) -> anyhow::Result<Vec<String>> {
    anyhow::bail!(
        "dead letters live on Kafka, and this build has no Kafka support: build tokshop with `--features kafka`"
    )
}
