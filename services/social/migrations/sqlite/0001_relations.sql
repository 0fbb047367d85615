-- Who follows whom, and every user's stored counts (kept exact in the transaction of each change; the repair
-- command recomputes them from the rows).
CREATE TABLE follows (
    follower_id   TEXT NOT NULL,
    followee_id   TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_by_follower ON follows (follower_id, created_at_ms, followee_id);
CREATE INDEX follows_by_followee ON follows (followee_id, created_at_ms, follower_id);

CREATE TABLE user_counts (
    user_id        TEXT PRIMARY KEY,
    following      BIGINT NOT NULL DEFAULT 0,
    followers      BIGINT NOT NULL DEFAULT 0,
    posts          BIGINT NOT NULL DEFAULT 0,
    likes_received BIGINT NOT NULL DEFAULT 0,
    favorites      BIGINT NOT NULL DEFAULT 0
);
