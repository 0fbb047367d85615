-- Domain events written in the same transaction as the change they describe, relayed to the bus afterwards.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    topic           TEXT NOT NULL,
    aggregate_id    TEXT NOT NULL,
    payload         TEXT NOT NULL,
    occurred_at_ms  INTEGER NOT NULL,
    published_at_ms INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_unpublished ON outbox (published_at_ms, seq);

-- Which consumer has handled which event: the dedupe key that makes consumers idempotent.
CREATE TABLE processed_events (
    consumer        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    processed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
