-- Stores: every key, customer, token, session, order, mail and audit event belongs to one.
-- Existing data and the environment's keys belong to the default store, made here with a fixed
-- id so that this migration and the code agree on it. See the PostgreSQL twin.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE stores (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    support_email TEXT,
    currency TEXT,
    country TEXT,
    link_origins TEXT,
    mail_from TEXT,
    mail_subject TEXT,
    order_reference_prefix TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX stores_created_idx ON stores (created_at, id);

INSERT INTO stores (id, name, created_at, updated_at)
VALUES ('store_default0000000', 'Default store', strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now'));

ALTER TABLE api_keys ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
CREATE INDEX api_keys_store_idx ON api_keys (store_id, created_at);

CREATE TABLE customers_new (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    firstname TEXT,
    lastname TEXT,
    phone TEXT,
    external_id TEXT,
    meta TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    password_hash TEXT,
    email_verified_at TIMESTAMP,
    email_folded TEXT,
    firstname_folded TEXT,
    lastname_folded TEXT,
    store_id TEXT NOT NULL REFERENCES stores (id)
);
INSERT INTO customers_new (id, email, email_normalized, firstname, lastname, phone, external_id,
    meta, created_at, updated_at, password_hash, email_verified_at, email_folded,
    firstname_folded, lastname_folded, store_id)
SELECT id, email, email_normalized, firstname, lastname, phone, external_id,
    meta, created_at, updated_at, password_hash, email_verified_at, email_folded,
    firstname_folded, lastname_folded, 'store_default0000000'
FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
CREATE UNIQUE INDEX customers_store_email_idx ON customers (store_id, email_normalized);
CREATE INDEX customers_external_id_idx ON customers (store_id, external_id);
CREATE INDEX customers_created_idx ON customers (store_id, created_at, id);
CREATE INDEX customers_updated_idx ON customers (store_id, updated_at, id);
CREATE INDEX customers_unfolded_idx ON customers (id) WHERE email_folded IS NULL;

ALTER TABLE login_tokens ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE sessions ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);

CREATE TABLE orders_new (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT REFERENCES customers (id) ON DELETE SET NULL,
    customer_reference TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    status_payment TEXT NOT NULL,
    status_fulfillment TEXT NOT NULL,
    subtotal BIGINT NOT NULL,
    shipping_price BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    line_items TEXT NOT NULL,
    shipping TEXT,
    billing TEXT,
    customer_snapshot TEXT,
    merchant_references TEXT,
    meta TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    store_id TEXT NOT NULL REFERENCES stores (id)
);
INSERT INTO orders_new (id, customer_id, customer_reference, currency, status, status_payment,
    status_fulfillment, subtotal, shipping_price, tax, total, line_items, shipping, billing,
    customer_snapshot, merchant_references, meta, created_at, updated_at, store_id)
SELECT id, customer_id, customer_reference, currency, status, status_payment,
    status_fulfillment, subtotal, shipping_price, tax, total, line_items, shipping, billing,
    customer_snapshot, merchant_references, meta, created_at, updated_at, 'store_default0000000'
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE UNIQUE INDEX orders_store_reference_idx ON orders (store_id, customer_reference);
-- A customer's orders: both equalities before the order, so the planner (SQLite has no
-- statistics in a patron file) prefers it over orders_created_idx, which read every order of
-- the store for one customer's page.
CREATE INDEX orders_customer_idx ON orders (customer_id, store_id, created_at, id);
CREATE INDEX orders_created_idx ON orders (store_id, created_at, id);

ALTER TABLE outbox ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE outbox ADD COLUMN sender TEXT;
CREATE INDEX outbox_store_idx ON outbox (store_id);

ALTER TABLE audit_events ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
CREATE INDEX audit_events_store_idx ON audit_events (store_id, at);

DELETE FROM login_throttle;
DELETE FROM rate_limits;

COMMIT;
PRAGMA foreign_keys = ON;
