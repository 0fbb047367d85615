-- Uploaded media (named by content hash), who uploaded what, and posts. A post's media and linked product ids are
-- JSON arrays in upload/link order.
CREATE TABLE media (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    size              BIGINT NOT NULL,
    cover_id          TEXT NOT NULL DEFAULT '',
    cover_placeholder BIGINT NOT NULL DEFAULT 0,
    created_at_ms     BIGINT NOT NULL
);

CREATE TABLE media_uploads (
    user_id       TEXT NOT NULL,
    media_id      TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, media_id)
);

CREATE TABLE posts (
    id            TEXT PRIMARY KEY,
    author_id     TEXT NOT NULL,
    text          TEXT NOT NULL,
    media_ids     TEXT NOT NULL DEFAULT '[]',
    product_ids   TEXT NOT NULL DEFAULT '[]',
    notices       TEXT NOT NULL DEFAULT '[]',
    like_count    BIGINT NOT NULL DEFAULT 0,
    comment_count BIGINT NOT NULL DEFAULT 0,
    request_id    TEXT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX posts_by_time ON posts (created_at_ms, id);
CREATE INDEX posts_by_author ON posts (author_id, created_at_ms, id);
CREATE UNIQUE INDEX posts_request ON posts (author_id, request_id);
