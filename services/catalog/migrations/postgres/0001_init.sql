CREATE TABLE categories (
    id            TEXT PRIMARY KEY,
    parent_id     TEXT REFERENCES categories (id),
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL UNIQUE,
    depth         BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id);

CREATE TABLE products (
    id            TEXT PRIMARY KEY,
    seller_id     TEXT NOT NULL,
    category_id   TEXT NOT NULL REFERENCES categories (id),
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    -- JSON array of URLs
    image_urls    TEXT NOT NULL DEFAULT '[]',
    currency      TEXT NOT NULL,
    listed        BIGINT NOT NULL DEFAULT 1,
    -- lowest / highest price over listed variants; NULL when none is listed
    min_price     BIGINT,
    max_price     BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    -- weighted full-text document, kept by the store on every write
    search_doc    TSVECTOR NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX products_search ON products USING GIN (search_doc);
CREATE INDEX products_seller ON products (seller_id, created_at_ms);
CREATE INDEX products_category ON products (category_id);
CREATE INDEX products_listed_created ON products (listed, created_at_ms);
CREATE INDEX products_listed_price ON products (listed, min_price);

CREATE TABLE variants (
    id            TEXT PRIMARY KEY,
    product_id    TEXT NOT NULL REFERENCES products (id),
    sku           TEXT NOT NULL,
    -- JSON array of {"name", "value"}
    options       TEXT NOT NULL DEFAULT '[]',
    price_minor   BIGINT NOT NULL CHECK (price_minor >= 0),
    stock         BIGINT NOT NULL CHECK (stock >= 0),
    image_urls    TEXT NOT NULL DEFAULT '[]',
    listed        BIGINT NOT NULL DEFAULT 1,
    position      BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (product_id, sku)
);
CREATE INDEX variants_product ON variants (product_id, position);
CREATE INDEX variants_in_stock ON variants (product_id, listed, stock);

CREATE TABLE price_history (
    id            TEXT PRIMARY KEY,
    product_id    TEXT NOT NULL REFERENCES products (id),
    variant_id    TEXT NOT NULL REFERENCES variants (id),
    price_minor   BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    changed_at_ms BIGINT NOT NULL
);
CREATE INDEX price_history_product ON price_history (product_id, changed_at_ms);
