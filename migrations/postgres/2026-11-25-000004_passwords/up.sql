-- Password accounts: an optional Argon2id hash, email verification, and the lockout counters.
ALTER TABLE customers ADD COLUMN password_hash TEXT;
ALTER TABLE customers ADD COLUMN email_verified_at TIMESTAMP;
ALTER TABLE customers ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN failed_window_start TIMESTAMP;
ALTER TABLE customers ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN locked_until TIMESTAMP;
-- Everyone so far was created by the merchant (secret key) or by an order: verified.
UPDATE customers SET email_verified_at = created_at;
