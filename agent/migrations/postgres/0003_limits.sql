-- Limits on the agent: each user's model tokens per UTC day, and which messages the model is shown again. The
-- messages of a turn that timed out, or whose client went away, stay in the conversation for the shopper but are
-- not replayed to the model in later turns.
CREATE TABLE agent_usage (
    user_id       TEXT NOT NULL,
    day           BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);
ALTER TABLE agent_messages ADD COLUMN in_history BIGINT NOT NULL DEFAULT 1;
