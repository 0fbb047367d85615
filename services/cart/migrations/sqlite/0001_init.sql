CREATE TABLE cart_lines (
    user_id       TEXT NOT NULL,
    variant_id    TEXT NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at_ms   INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, variant_id)
);
