-- Stock taken for an order (or anything else that buys), given back once on release.
CREATE TABLE stock_reservations (
    id            TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE reservation_lines (
    reservation_id TEXT NOT NULL REFERENCES stock_reservations (id),
    variant_id     TEXT NOT NULL REFERENCES variants (id),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    unit_price     INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    PRIMARY KEY (reservation_id, variant_id)
);
