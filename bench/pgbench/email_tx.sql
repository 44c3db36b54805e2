-- POST /v1/customers/email-token, the whole transaction patron runs for a known address: two
-- per-address rate-limit upserts, the customer by email, void older tokens, a new token, the
-- outbox message (status 'pgbench' so patron's mail worker leaves it alone) and an audit event.
\set i random(1, 100000)
BEGIN;
INSERT INTO rate_limits (bucket, window_start, hits) VALUES ('pgbench:1m:' || :i, date_trunc('minute', (now() AT TIME ZONE 'UTC')), 1) ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits;
INSERT INTO rate_limits (bucket, window_start, hits) VALUES ('pgbench:1h:' || :i, date_trunc('hour', (now() AT TIME ZONE 'UTC')), 1) ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits;
SELECT * FROM customers WHERE email_normalized = 'customer' || :i || '@example.com' LIMIT 1;
DELETE FROM login_tokens WHERE customer_id = 'cstmr_b' || lpad(:i::text, 13, '0') AND purpose = 'login' AND used_at IS NULL;
INSERT INTO login_tokens (token_hash, customer_id, purpose, created_at, expires_at) VALUES (md5(random()::text) || md5(random()::text), 'cstmr_b' || lpad(:i::text, 13, '0'), 'login', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC') + interval '15 minutes');
INSERT INTO outbox (id, recipient, subject, body_text, body_html, status, attempts, next_attempt_at, created_at) VALUES ('msg_' || substr(md5(random()::text), 1, 20), 'customer' || :i || '@example.com', 'Your login link', repeat('x', 260), repeat('x', 560), 'pgbench', 0, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC'));
INSERT INTO audit_events (id, at, event, customer_id, ip, user_agent, request_id) VALUES ('evt_' || substr(md5(random()::text), 1, 20), (now() AT TIME ZONE 'UTC'), 'authn_token_created', 'cstmr_b' || lpad(:i::text, 13, '0'), '127.0.0.1', 'pgbench', 'req_' || substr(md5(random()::text), 1, 20));
COMMIT;
