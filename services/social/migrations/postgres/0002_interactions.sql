-- Likes on posts, favorite products, comments with one level of replies, and per-product counts.
CREATE TABLE post_likes (
    post_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX post_likes_by_user ON post_likes (user_id, created_at_ms);

CREATE TABLE favorites (
    user_id       TEXT NOT NULL,
    product_id    TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX favorites_by_user_time ON favorites (user_id, created_at_ms, product_id);
CREATE INDEX favorites_by_product ON favorites (product_id);

CREATE TABLE product_counts (
    product_id TEXT PRIMARY KEY,
    favorites  BIGINT NOT NULL DEFAULT 0,
    comments   BIGINT NOT NULL DEFAULT 0
);

-- Exactly one of product_id / post_id is set ('' for the other); parent_id is '' for a top-level comment.
CREATE TABLE comments (
    id            TEXT PRIMARY KEY,
    product_id    TEXT NOT NULL DEFAULT '',
    post_id       TEXT NOT NULL DEFAULT '',
    parent_id     TEXT NOT NULL DEFAULT '',
    author_id     TEXT NOT NULL,
    text          TEXT NOT NULL,
    reply_count   BIGINT NOT NULL DEFAULT 0,
    request_id    TEXT,
    created_at_ms BIGINT NOT NULL,
    CHECK ((product_id = '') <> (post_id = ''))
);
CREATE INDEX comments_on_product ON comments (product_id, parent_id, created_at_ms, id);
CREATE INDEX comments_on_post ON comments (post_id, parent_id, created_at_ms, id);
CREATE INDEX comments_replies ON comments (parent_id, created_at_ms, id);
CREATE UNIQUE INDEX comments_request ON comments (author_id, request_id);
