-- Orders: amounts in integer minor units; line items, addresses, references and meta as JSON text.
-- customer_id and the personal fields are cleared when the customer is erased.
CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT REFERENCES customers (id) ON DELETE SET NULL,
    customer_reference TEXT NOT NULL UNIQUE,
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
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at, id);
CREATE INDEX orders_created_idx ON orders (created_at, id);
