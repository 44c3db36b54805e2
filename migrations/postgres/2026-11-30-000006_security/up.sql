-- Security review (issue 11).
-- Failed password logins are counted per normalised address (a hash of it), whether or not an
-- account has that address, so a lockout tells nothing about who has an account. `attempts`
-- counts the checks started in the window (taken before hashing, so concurrent guesses cannot
-- overtake the lock), `failures` the wrong ones.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    attempts INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    window_start TIMESTAMP,
    lockouts INTEGER NOT NULL,
    locked_until TIMESTAMP
);
ALTER TABLE customers DROP COLUMN failed_logins;
ALTER TABLE customers DROP COLUMN failed_window_start;
ALTER TABLE customers DROP COLUMN lockouts;
ALTER TABLE customers DROP COLUMN locked_until;
-- An email-change token carries the address it confirms; nothing changes until it is used.
ALTER TABLE login_tokens ADD COLUMN new_email TEXT;
