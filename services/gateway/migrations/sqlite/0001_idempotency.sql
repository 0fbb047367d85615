-- Idempotency-Key records: one per (caller, key), holding the request's fingerprint and, once done, the response.
CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    -- 'in_flight' while the first request runs, 'done' once its response is stored
    state           TEXT NOT NULL,
    response_status INTEGER,
    response_type   TEXT,
    response_body   TEXT,
    created_at_ms   INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at_ms);
