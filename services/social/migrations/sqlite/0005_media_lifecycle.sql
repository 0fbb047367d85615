-- What keeps a media object alive: the posts that carry it (post_refs) and, while none does, how long it has been
-- unused (idle_since_ms: its latest upload, or when its last post let go of it). The sweep deletes media with no
-- post that stayed idle past the grace period. Existing rows are counted from the posts' JSON arrays.
ALTER TABLE media ADD COLUMN post_refs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN idle_since_ms BIGINT NOT NULL DEFAULT 0;

UPDATE media SET post_refs = (
    SELECT COUNT(*) FROM posts p, json_each(p.media_ids) j WHERE j.value = media.id
);
UPDATE media SET idle_since_ms = MAX(
    created_at_ms,
    COALESCE((SELECT MAX(u.created_at_ms) FROM media_uploads u WHERE u.media_id = media.id), 0)
);

CREATE INDEX media_unused ON media (post_refs, idle_since_ms);
CREATE INDEX media_by_cover ON media (cover_id);
CREATE INDEX media_uploads_by_media ON media_uploads (media_id);
CREATE INDEX media_uploads_by_time ON media_uploads (user_id, created_at_ms);
