-- Approvals bound to effects: each pending action keeps its frozen effect (canonical JSON) and that effect's
-- digest, the turn and model round that proposed it (a plain "yes" approves only what the previous turn
-- proposed), the conversation's language for its summary, why it failed or changed, and the action that
-- replaced it when live state moved.
ALTER TABLE agent_pending_actions ADD COLUMN effect TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_pending_actions ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_pending_actions ADD COLUMN turn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_pending_actions ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_pending_actions ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE agent_pending_actions ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_pending_actions ADD COLUMN replaced_by TEXT NOT NULL DEFAULT '';
