DROP TABLE audit_events;
DROP TABLE rate_limits;
DROP TABLE outbox;
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE login_tokens;
