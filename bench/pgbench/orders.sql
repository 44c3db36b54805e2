-- GET /v1/customers/{id}/orders with a customer JWT: the session check joined with the
-- customer, then the count and the first page of the customer's orders (2 each, seeded through
-- the API).
\set i random(1, 1000)
SELECT customers.* FROM sessions INNER JOIN customers ON customers.id = sessions.customer_id WHERE sessions.id = 'pgbsess' || lpad(:i::text, 17, '0') AND sessions.customer_id = 'cstmr_b' || lpad(:i::text, 13, '0') AND sessions.store_id = 'store_default0000000' AND sessions.revoked_at IS NULL AND sessions.expires_at > (now() AT TIME ZONE 'UTC') AND EXISTS (SELECT 1 FROM signing_keys WHERE signing_keys.kid = 'pgbkid' AND (signing_keys.retired_at IS NULL OR signing_keys.retired_at > (now() AT TIME ZONE 'UTC')));
SELECT COUNT(*) FROM orders WHERE store_id = 'store_default0000000' AND customer_id = 'cstmr_b' || lpad(:i::text, 13, '0');
SELECT * FROM orders WHERE store_id = 'store_default0000000' AND customer_id = 'cstmr_b' || lpad(:i::text, 13, '0') ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0;
