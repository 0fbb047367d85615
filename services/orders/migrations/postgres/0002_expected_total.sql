-- The total an approved checkout binds: the order opens only at exactly this total (-1: none bound).
ALTER TABLE orders ADD COLUMN expected_total BIGINT NOT NULL DEFAULT -1;
