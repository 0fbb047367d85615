-- One turn or decision at a time per conversation across every gateway replica: the replica running one holds a
-- lease on the conversation row until the turn ends, or until turn_until_ms if that replica dies mid-turn.
ALTER TABLE agent_conversations ADD COLUMN turn_instance TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_conversations ADD COLUMN turn_token TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_conversations ADD COLUMN turn_until_ms BIGINT NOT NULL DEFAULT 0;
