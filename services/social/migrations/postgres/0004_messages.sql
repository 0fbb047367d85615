-- Direct messages. `seq` numbers each recipient's inbox 1, 2, 3, ... in commit order: `inboxes.last_seq` is
-- bumped in the sending transaction, which serialises senders to one recipient.
CREATE TABLE inboxes (
    user_id  TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    sender_id    TEXT NOT NULL,
    -- The two user ids in sorted order joined by ':', so one index serves a conversation in both directions.
    pair_key     TEXT NOT NULL,
    text         TEXT NOT NULL,
    request_id   TEXT,
    sent_at_ms   BIGINT NOT NULL,
    UNIQUE (recipient_id, seq)
);
CREATE INDEX messages_by_pair ON messages (pair_key, sent_at_ms, id);
CREATE UNIQUE INDEX messages_request ON messages (sender_id, request_id);
