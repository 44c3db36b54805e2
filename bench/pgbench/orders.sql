-- GET /v1/customers/{id}/orders with a customer JWT: session check, customer by primary key,
-- then the count and the first page of the customer's orders (2 each, seeded through the API).
\set i random(1, 1000)
SELECT COUNT(*) FROM sessions WHERE id = 'pgbsess' || lpad(:i::text, 17, '0') AND customer_id = 'cstmr_b' || lpad(:i::text, 13, '0') AND revoked_at IS NULL AND expires_at > (now() AT TIME ZONE 'UTC');
SELECT * FROM customers WHERE id = 'cstmr_b' || lpad(:i::text, 13, '0') LIMIT 1;
SELECT COUNT(*) FROM orders WHERE customer_id = 'cstmr_b' || lpad(:i::text, 13, '0');
SELECT * FROM orders WHERE customer_id = 'cstmr_b' || lpad(:i::text, 13, '0') ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0;
