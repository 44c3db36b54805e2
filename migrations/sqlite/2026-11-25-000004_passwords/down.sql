ALTER TABLE customers DROP COLUMN locked_until;
ALTER TABLE customers DROP COLUMN lockouts;
ALTER TABLE customers DROP COLUMN failed_window_start;
ALTER TABLE customers DROP COLUMN failed_logins;
ALTER TABLE customers DROP COLUMN email_verified_at;
ALTER TABLE customers DROP COLUMN password_hash;
