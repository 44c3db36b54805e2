-- GET /v1/customers/{id} with a customer JWT: the statements patron sends (see bench/README.md):
-- the session check, then the customer by primary key. Customers 1..1000 hold the bench JWTs.
\set i random(1, 1000)
SELECT COUNT(*) FROM sessions WHERE id = 'pgbsess' || lpad(:i::text, 17, '0') AND customer_id = 'cstmr_b' || lpad(:i::text, 13, '0') AND revoked_at IS NULL AND expires_at > (now() AT TIME ZONE 'UTC');
SELECT * FROM customers WHERE id = 'cstmr_b' || lpad(:i::text, 13, '0') LIMIT 1;
