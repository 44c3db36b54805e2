-- Stores: every key, customer, token, session, order, mail and audit event belongs to one.
-- Existing data and the environment's keys belong to the default store, made here with a fixed
-- id so that this migration and the code agree on it.
CREATE TABLE stores (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- Per-store settings; NULL means the deployment's value applies.
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
VALUES ('store_default0000000', 'Default store', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC');

-- The default fills existing rows only: dropped at once, so a write that forgets its store fails.
ALTER TABLE api_keys ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE api_keys ALTER COLUMN store_id DROP DEFAULT;
CREATE INDEX api_keys_store_idx ON api_keys (store_id, created_at);

ALTER TABLE customers ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE customers ALTER COLUMN store_id DROP DEFAULT;
ALTER TABLE customers DROP CONSTRAINT customers_email_normalized_key;
CREATE UNIQUE INDEX customers_store_email_idx ON customers (store_id, email_normalized);
DROP INDEX customers_external_id_idx;
DROP INDEX customers_created_idx;
DROP INDEX customers_updated_idx;
CREATE INDEX customers_external_id_idx ON customers (store_id, external_id);
CREATE INDEX customers_created_idx ON customers (store_id, created_at, id);
CREATE INDEX customers_updated_idx ON customers (store_id, updated_at, id);

ALTER TABLE login_tokens ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE login_tokens ALTER COLUMN store_id DROP DEFAULT;

ALTER TABLE sessions ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE sessions ALTER COLUMN store_id DROP DEFAULT;

ALTER TABLE orders ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE orders ALTER COLUMN store_id DROP DEFAULT;
ALTER TABLE orders DROP CONSTRAINT orders_customer_reference_key;
CREATE UNIQUE INDEX orders_store_reference_idx ON orders (store_id, customer_reference);
DROP INDEX orders_created_idx;
CREATE INDEX orders_created_idx ON orders (store_id, created_at, id);
-- A customer's orders, with both equalities before the order (see the SQLite twin).
DROP INDEX orders_customer_idx;
CREATE INDEX orders_customer_idx ON orders (customer_id, store_id, created_at, id);

ALTER TABLE outbox ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE outbox ALTER COLUMN store_id DROP DEFAULT;
-- The store's sender, fixed when the mail is queued; NULL: the deployment's PATRON_MAIL_FROM.
ALTER TABLE outbox ADD COLUMN sender TEXT;
CREATE INDEX outbox_store_idx ON outbox (store_id);

ALTER TABLE audit_events ADD COLUMN store_id TEXT NOT NULL DEFAULT 'store_default0000000' REFERENCES stores (id);
ALTER TABLE audit_events ALTER COLUMN store_id DROP DEFAULT;
CREATE INDEX audit_events_store_idx ON audit_events (store_id, at);

-- Throttle and rate-limit keys now start with the store id; the old unscoped counters would
-- never be read again.
DELETE FROM login_throttle;
DELETE FROM rate_limits;
