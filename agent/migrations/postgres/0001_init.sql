-- Conversations with the shopping agent, owned by their user: every message (with tool calls and results), the
-- pending consequential actions waiting for the shopper's yes, and each turn's steps for traces.

CREATE TABLE agent_conversations (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    title          TEXT NOT NULL,
    model          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_tokens   BIGINT NOT NULL DEFAULT 0,
    output_tokens  BIGINT NOT NULL DEFAULT 0,
    turns          BIGINT NOT NULL DEFAULT 0,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE INDEX agent_conversations_by_user ON agent_conversations (user_id, updated_at_ms);

CREATE TABLE agent_messages (
    conversation_id TEXT NOT NULL REFERENCES agent_conversations (id),
    seq             BIGINT NOT NULL,
    turn            BIGINT NOT NULL,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    tool_calls      TEXT NOT NULL,
    tool_call_id    TEXT NOT NULL,
    tool_name       TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE agent_pending_actions (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES agent_conversations (id),
    user_id         TEXT NOT NULL,
    tool            TEXT NOT NULL,
    arguments       TEXT NOT NULL,
    summary         TEXT NOT NULL,
    status          TEXT NOT NULL,
    result          TEXT NOT NULL DEFAULT '',
    created_at_ms   BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    decided_at_ms   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX agent_pending_by_conversation ON agent_pending_actions (conversation_id, status);

CREATE TABLE agent_steps (
    conversation_id TEXT NOT NULL REFERENCES agent_conversations (id),
    turn            BIGINT NOT NULL,
    step            BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    call_id         TEXT NOT NULL,
    started_at_ms   BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    detail          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    PRIMARY KEY (conversation_id, turn, step)
);
