-- Orders, coupons, payments and the ledger share one database so that an order's state and the money behind it
-- always change in one transaction.

CREATE TABLE coupons (
    id             TEXT PRIMARY KEY,
    seller_id      TEXT NOT NULL,
    code           TEXT NOT NULL,
    title          TEXT NOT NULL,
    amount_off     BIGINT NOT NULL,
    percent_off    BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    min_spend      BIGINT NOT NULL,
    scope          TEXT NOT NULL,
    scope_id       TEXT NOT NULL,
    valid_from_ms  BIGINT NOT NULL,
    valid_until_ms BIGINT NOT NULL,
    total_quantity BIGINT NOT NULL,
    per_user_limit BIGINT NOT NULL,
    claimed        BIGINT NOT NULL DEFAULT 0 CHECK (claimed <= total_quantity),
    used           BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= claimed),
    created_at_ms  BIGINT NOT NULL,
    UNIQUE (seller_id, code)
);
CREATE INDEX coupons_by_scope ON coupons (scope, scope_id);

CREATE TABLE claimed_coupons (
    id            TEXT PRIMARY KEY,
    coupon_id     TEXT NOT NULL REFERENCES coupons (id),
    user_id       TEXT NOT NULL,
    status        TEXT NOT NULL,
    order_id      TEXT,
    claimed_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT
);
CREATE INDEX claimed_coupons_by_user ON claimed_coupons (user_id, coupon_id);

CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    buyer_id          TEXT NOT NULL,
    seller_id         TEXT NOT NULL,
    status            TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    currency          TEXT NOT NULL,
    subtotal          BIGINT NOT NULL DEFAULT 0,
    discount          BIGINT NOT NULL DEFAULT 0,
    shipping_fee      BIGINT NOT NULL DEFAULT 0,
    total             BIGINT NOT NULL DEFAULT 0,
    refunded          BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= total),
    address_id        TEXT NOT NULL,
    ship_recipient    TEXT NOT NULL,
    ship_phone        TEXT NOT NULL,
    ship_line1        TEXT NOT NULL,
    ship_line2        TEXT NOT NULL,
    ship_city         TEXT NOT NULL,
    ship_region       TEXT NOT NULL,
    ship_postal_code  TEXT NOT NULL,
    ship_country      TEXT NOT NULL,
    claimed_coupon_id TEXT NOT NULL,
    coupon_code       TEXT NOT NULL DEFAULT '',
    tracking_number   TEXT NOT NULL DEFAULT '',
    carrier           TEXT NOT NULL DEFAULT '',
    cancel_reason     TEXT NOT NULL DEFAULT '',
    payment_id        TEXT NOT NULL DEFAULT '',
    created_at_ms     BIGINT NOT NULL,
    updated_at_ms     BIGINT NOT NULL,
    expires_at_ms     BIGINT NOT NULL DEFAULT 0,
    paid_at_ms        BIGINT NOT NULL DEFAULT 0,
    shipped_at_ms     BIGINT NOT NULL DEFAULT 0,
    delivered_at_ms   BIGINT NOT NULL DEFAULT 0,
    completed_at_ms   BIGINT NOT NULL DEFAULT 0,
    cancelled_at_ms   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (buyer_id, request_id)
);
CREATE INDEX orders_by_buyer ON orders (buyer_id, created_at_ms, id);
CREATE INDEX orders_by_seller ON orders (seller_id, created_at_ms, id);
CREATE INDEX orders_by_status ON orders (status, expires_at_ms);

CREATE TABLE order_lines (
    order_id          TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    variant_id        TEXT NOT NULL,
    product_id        TEXT NOT NULL,
    category_id       TEXT NOT NULL,
    title             TEXT NOT NULL,
    sku               TEXT NOT NULL,
    quantity          BIGINT NOT NULL CHECK (quantity > 0),
    unit_price        BIGINT NOT NULL,
    discount          BIGINT NOT NULL DEFAULT 0,
    returned_quantity BIGINT NOT NULL DEFAULT 0 CHECK (returned_quantity <= quantity),
    refunded          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, variant_id)
);

CREATE TABLE order_returns (
    id            TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL REFERENCES orders (id),
    status        TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    refund_id     TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL,
    decided_at_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX order_returns_by_order ON order_returns (order_id);

CREATE TABLE order_return_lines (
    return_id  TEXT NOT NULL REFERENCES order_returns (id),
    variant_id TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    amount     BIGINT NOT NULL,
    PRIMARY KEY (return_id, variant_id)
);

-- A saved card: only the provider's token and the last four digits, never the number.
CREATE TABLE payment_methods (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    provider_token TEXT NOT NULL,
    brand          TEXT NOT NULL,
    last4          TEXT NOT NULL,
    exp_month      BIGINT NOT NULL,
    exp_year       BIGINT NOT NULL,
    removed        BIGINT NOT NULL DEFAULT 0,
    created_at_ms  BIGINT NOT NULL
);
CREATE INDEX payment_methods_by_user ON payment_methods (user_id);

-- The sandbox card provider's own vault: what each token does when charged.
CREATE TABLE sandbox_cards (
    token   TEXT PRIMARY KEY,
    outcome TEXT NOT NULL
);

CREATE TABLE wallets (
    user_id  TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance  BIGINT NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (user_id, currency)
);

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    method_id       TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    failure_code    TEXT NOT NULL DEFAULT '',
    failure_message TEXT NOT NULL DEFAULT '',
    created_at_ms   BIGINT NOT NULL,
    UNIQUE (user_id, request_id)
);
CREATE INDEX payments_by_order ON payments (order_id);
-- At most one successful payment per order, whatever the request ids.
CREATE UNIQUE INDEX payments_one_success ON payments (order_id) WHERE status = 'succeeded' AND purpose = 'order';

CREATE TABLE refunds (
    id            TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL,
    payment_id    TEXT NOT NULL REFERENCES payments (id),
    amount        BIGINT NOT NULL CHECK (amount > 0),
    currency      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (order_id);

-- Double entry: every money movement is one transaction whose entries sum to zero per currency.
CREATE TABLE ledger_transactions (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    reference_id  TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE ledger_entries (
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
    account        TEXT NOT NULL,
    currency       TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    PRIMARY KEY (transaction_id, account, currency)
);
CREATE INDEX ledger_entries_by_account ON ledger_entries (account, currency);
