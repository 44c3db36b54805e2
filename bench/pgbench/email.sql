-- POST /v1/customers/email-token, the issue's ceiling: the single-row SELECT of the customer by
-- (normalised, unique) email. With the store: the unique index is (store_id, email_normalized)
-- since the stores migration, and the address alone would scan the table (636 tx/s instead of
-- 43,315 at 8 connections, measured once).
\set i random(1, 100000)
SELECT * FROM customers WHERE store_id = 'store_default0000000' AND email_normalized = 'customer' || :i || '@example.com' LIMIT 1;
