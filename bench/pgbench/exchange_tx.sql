-- POST /v1/customers/exchange-token, the whole transaction patron runs for a valid token:
-- consume the token, read the signing key, open a session, two audit events in one INSERT.
\set i random(1, 100000)
BEGIN;
UPDATE login_tokens SET used_at = (now() AT TIME ZONE 'UTC') WHERE store_id = 'store_default0000000' AND token_hash = 'pgb_' || :i AND purpose = 'pgbench' AND expires_at > (now() AT TIME ZONE 'UTC') RETURNING customer_id \gset
SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1;
INSERT INTO sessions (id, customer_id, created_at, expires_at, store_id) VALUES (substr(md5(random()::text), 1, 24), :customer_id, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC') + interval '1 day', 'store_default0000000');
INSERT INTO audit_events (id, at, event, customer_id, ip, user_agent, request_id, store_id) VALUES ('evt_' || substr(md5(random()::text), 1, 20), (now() AT TIME ZONE 'UTC'), 'authn_login_success', :customer_id, '127.0.0.1', 'pgbench', 'req_' || substr(md5(random()::text), 1, 20), 'store_default0000000'), ('evt_' || substr(md5(random()::text), 1, 20), (now() AT TIME ZONE 'UTC'), 'session_created', :customer_id, '127.0.0.1', 'pgbench', 'req_' || substr(md5(random()::text), 1, 20), 'store_default0000000');
COMMIT;
