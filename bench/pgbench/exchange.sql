-- POST /v1/customers/exchange-token, the issue's ceiling: the single-row UPDATE that consumes a
-- token. It always writes (no "used_at IS NULL"), so every transaction costs a real write.
\set i random(1, 100000)
UPDATE login_tokens SET used_at = (now() AT TIME ZONE 'UTC') WHERE token_hash = 'pgb_' || :i AND purpose = 'pgbench' AND expires_at > (now() AT TIME ZONE 'UTC') RETURNING customer_id;
