-- POST /v1/customers/email-token, the whole transaction patron runs for a known address: two
-- per-address rate-limit upserts, the customer by email, void older tokens, a new token, the
-- outbox message (status 'pgbench' so patron's mail worker leaves it alone) and an audit event,
-- all in the default store. The counters are named as patron names them (store id, window, a
-- 128-bit hex digest of the address) under 'pgbench' instead of 'email', so they stay apart from
-- patron's; the store id and the rest are two literals because pgbench would read ':pgbench'
-- inside one as a variable.
\set i random(1, 100000)
BEGIN;
INSERT INTO rate_limits (bucket, window_start, hits) VALUES ('store_default0000000:' || 'pgbench:1m:' || md5('customer' || :i::text || '@example.com'), date_trunc('minute', (now() AT TIME ZONE 'UTC')), 1) ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits;
INSERT INTO rate_limits (bucket, window_start, hits) VALUES ('store_default0000000:' || 'pgbench:1h:' || md5('customer' || :i::text || '@example.com'), date_trunc('hour', (now() AT TIME ZONE 'UTC')), 1) ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits;
SELECT * FROM customers WHERE store_id = 'store_default0000000' AND email_normalized = 'customer' || :i || '@example.com';
DELETE FROM login_tokens WHERE store_id = 'store_default0000000' AND customer_id = 'cstmr_b' || lpad(:i::text, 13, '0') AND purpose = 'login' AND used_at IS NULL;
INSERT INTO login_tokens (token_hash, customer_id, purpose, created_at, expires_at, store_id) VALUES (md5(random()::text) || md5(random()::text), 'cstmr_b' || lpad(:i::text, 13, '0'), 'login', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC') + interval '15 minutes', 'store_default0000000');
INSERT INTO outbox (id, recipient, subject, body_text, body_html, status, attempts, next_attempt_at, created_at, store_id) VALUES ('msg_' || substr(md5(random()::text), 1, 20), 'customer' || :i || '@example.com', 'Your login link', repeat('x', 260), repeat('x', 560), 'pgbench', 0, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC'), 'store_default0000000');
INSERT INTO audit_events (id, at, event, customer_id, ip, user_agent, request_id, store_id) VALUES ('evt_' || substr(md5(random()::text), 1, 20), (now() AT TIME ZONE 'UTC'), 'authn_token_created', 'cstmr_b' || lpad(:i::text, 13, '0'), '127.0.0.1', 'pgbench', 'req_' || substr(md5(random()::text), 1, 20), 'store_default0000000');
COMMIT;
