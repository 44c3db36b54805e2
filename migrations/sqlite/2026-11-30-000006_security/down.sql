ALTER TABLE login_tokens DROP COLUMN new_email;
ALTER TABLE customers ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN failed_window_start TIMESTAMP;
ALTER TABLE customers ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN locked_until TIMESTAMP;
DROP TABLE login_throttle;
