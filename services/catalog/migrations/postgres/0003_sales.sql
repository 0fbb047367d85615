-- Units sold per product, kept by the order events (paid adds, cancelled after payment subtracts).
ALTER TABLE products ADD COLUMN sold_count BIGINT NOT NULL DEFAULT 0;
