//! The lockout every password check goes through: login, and a customer's `current_password`.
//!
//! The count is kept per normalised address (a hash of it), whether or not an account has
//! that address, so a locked address says nothing about who has an account. An attempt is
//! counted before its password is hashed, in one statement with reading the lock: of any
//! number of concurrent guesses at most [`MAX_FAILURES`] are ever checked per window, the rest
//! are refused without a hash. A right password opens a session only if the address did not
//! get locked while it was being checked.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use super::audit::{self, Event, RequestMeta};
use super::passwords::{self, HashError, Verified};
use crate::clock::Clock;
use crate::db::login_throttle::{self as q, Counter};
use crate::db::scope::Scope;
use crate::db::{write_tx, Db, DbConnection, DbError};
use crate::domain::password::Password;
use crate::domain::{email, Email, StoreId};

/// Failures inside this window count towards a lockout.
pub const FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Wrong passwords per window before the address is locked.
pub const MAX_FAILURES: i32 = 10;
/// The longest a lockout grows to.
const MAX_LOCKOUT: TimeDelta = TimeDelta::hours(24);

/// The address a password is checked for, in its store, as its counter knows it: the same
/// address in two stores is two accounts with two lockouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardKey(String);

impl GuardKey {
    /// For whatever a client typed as its email: an address counts in its normalised form,
    /// anything else as typed, lower-cased, so both lock alike.
    pub fn for_login(scope: Scope<'_>, raw: &str) -> Self {
        match Email::parse(raw) {
            Ok(email) => Self::for_email(scope, &email),
            Err(_) => Self::hashed(scope, &raw.trim().to_lowercase()),
        }
    }

    pub fn for_email(scope: Scope<'_>, email: &Email) -> Self {
        Self::hashed(scope, email.normalized())
    }

    /// For a stored customer address (already normalised).
    pub fn for_normalized(scope: Scope<'_>, normalized: &str) -> Self {
        Self::hashed(scope, normalized)
    }

    fn hashed(scope: Scope<'_>, normalized: &str) -> Self {
        GuardKey(scope.counter_key(&format!("pw:{}", email::digest(normalized))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The address may not be checked now; try again at `until`, `retry_after_secs` from when
/// the lock was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub until: NaiveDateTime,
    pub retry_after_secs: u64,
}

impl Locked {
    /// The lock lasting until `until`, as found at `now`: at least a second to wait.
    pub fn found_at(until: NaiveDateTime, now: NaiveDateTime) -> Self {
        let secs = (until - now).num_seconds().max(1);
        Locked {
            until,
            retry_after_secs: u64::try_from(secs).unwrap_or(1),
        }
    }
}

/// Why a guarded check gave no verdict.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("locked until {}", .0.until)]
    Locked(Locked),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Whose password is checked, for the lockout and the audit trail of a failure.
#[derive(Debug, Clone)]
pub struct Check {
    pub store: StoreId,
    pub key: GuardKey,
    /// The customer whose stored hash is checked, when there is one.
    pub customer_id: Option<String>,
    pub lockout_base: Duration,
    pub meta: RequestMeta,
    /// What lockouts and their windows are measured with.
    pub clock: Clock,
}

impl Check {
    /// Checks `password` against `stored` (a dummy hash when there is none, so an unknown
    /// address costs the same) after counting the attempt. A wrong password is recorded, and
    /// audited, before this returns. A right one is not: the caller records it with
    /// [`record_success`] in the transaction that acts on it, or hands the turn back with
    /// [`Check::give_back`] when it will not act on it.
    pub async fn run(
        &self,
        db: &Db,
        password: Password,
        stored: Option<String>,
    ) -> Result<Verified, GuardError> {
        let (key, clock) = (self.key.clone(), self.clock.clone());
        let refused = db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    Ok::<_, DbError>(take_attempt(conn, clock.now(), &key)?)
                })
            })
            .await?;
        if let Some(locked) = refused {
            return Err(GuardError::Locked(locked));
        }
        let verified = match passwords::verify(password, stored).await {
            Ok(v) => v,
            Err(e) => {
                // Never checked: the attempt does not count.
                self.give_back(db).await?;
                return Err(e.into());
            }
        };
        if !verified.ok {
            self.record_failure(db).await?;
        }
        Ok(verified)
    }

    /// Hands back the turn of an attempt whose right password is not acted on.
    pub async fn give_back(&self, db: &Db) -> Result<(), GuardError> {
        let key = self.key.clone();
        Ok(db
            .run(move |conn| Ok::<_, DbError>(give_back(conn, &key)?))
            .await?)
    }

    async fn record_failure(&self, db: &Db) -> Result<(), GuardError> {
        let this = self.clone();
        // The count must commit although the request is refused.
        db.run(move |conn| {
            write_tx(conn, |conn| {
                let now = this.clock.now();
                let locked = record_failure(conn, now, &this.key, this.lockout_base)?;
                let customer_id = this.customer_id.as_deref();
                let scope = Scope::new(&this.store);
                audit::record(conn, now, scope, Event::LoginFail, customer_id, &this.meta)?;
                if locked.is_some() {
                    audit::record(conn, now, scope, Event::LoginLock, customer_id, &this.meta)?;
                }
                Ok::<_, DbError>(())
            })
        })
        .await?;
        Ok(())
    }
}

/// How long the `n`th lockout in a row lasts: the base, doubling, at most a day.
pub fn lockout_length(base: Duration, lockouts: i32) -> TimeDelta {
    let base = TimeDelta::from_std(base).unwrap_or(TimeDelta::minutes(15));
    let doublings = u32::try_from(lockouts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    base.checked_mul(1i32 << doublings)
        .unwrap_or(MAX_LOCKOUT)
        .min(MAX_LOCKOUT)
}

/// Why an attempt may not go ahead, from the counter it left.
fn refusal(c: &Counter, now: NaiveDateTime) -> Option<Locked> {
    if let Some(until) = c.locked_until.filter(|u| *u > now) {
        return Some(Locked::found_at(until, now));
    }
    if c.attempts > MAX_FAILURES {
        // Ten checks are already running or done in this window: no more until it ends
        // (`take_attempt` has just opened a new window if the last one had ended).
        return Some(Locked::found_at(
            c.window_start.unwrap_or(now) + FAILURE_WINDOW,
            now,
        ));
    }
    None
}

/// Counts an attempt for `key` at `now`, or refuses it (without anything to hash) while
/// locked.
pub fn take_attempt(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    key: &GuardKey,
) -> diesel::QueryResult<Option<Locked>> {
    let counter = q::take_attempt(conn, key.as_str(), now, now - FAILURE_WINDOW)?;
    Ok(refusal(&counter, now))
}

/// Gives back an attempt that was not checked after all.
pub fn give_back(conn: &mut DbConnection, key: &GuardKey) -> diesel::QueryResult<()> {
    q::give_back(conn, key.as_str())
}

/// Counts a wrong password; the one that reaches [`MAX_FAILURES`] locks the address, for
/// longer each time. Returns the lock, if this failure set one.
pub fn record_failure(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    key: &GuardKey,
    base: Duration,
) -> diesel::QueryResult<Option<Locked>> {
    let counter = q::add_failure(conn, key.as_str(), now)?;
    if counter.failures < MAX_FAILURES {
        return Ok(None);
    }
    let until = now + lockout_length(base, counter.lockouts + 1);
    q::lock(conn, key.as_str(), until)?;
    Ok(Some(Locked::found_at(until, now)))
}

/// After a right password: ends the failure streak, or refuses if the address got locked
/// while the password was being checked.
pub fn record_success(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    key: &GuardKey,
) -> diesel::QueryResult<Option<Locked>> {
    Ok(
        q::succeed_unless_locked(conn, key.as_str(), now)?
            .map(|until| Locked::found_at(until, now)),
    )
}

/// Forgets the counter: the password was just set by someone who proved the address or by
/// the merchant, so earlier guesses no longer matter.
pub fn forget(conn: &mut DbConnection, key: &GuardKey) -> diesel::QueryResult<()> {
    q::forget(conn, key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_double_up_to_a_day() {
        let base = Duration::from_secs(900);
        assert_eq!(lockout_length(base, 1), TimeDelta::minutes(15));
        assert_eq!(lockout_length(base, 2), TimeDelta::minutes(30));
        assert_eq!(lockout_length(base, 3), TimeDelta::minutes(60));
        assert_eq!(lockout_length(base, 50), TimeDelta::hours(24));
    }

    #[test]
    fn addresses_count_in_their_normalised_form_and_junk_as_typed() {
        let (a, b) = (StoreId::default_store(), StoreId::generate());
        let s = Scope::new(&a);
        assert_ne!(
            GuardKey::for_login(s, "ann@example.com"),
            GuardKey::for_login(Scope::new(&b), "ann@example.com"),
            "one address in two stores counts twice"
        );
        assert_eq!(
            GuardKey::for_login(s, " Ann@Example.COM "),
            GuardKey::for_login(s, "ann@example.com")
        );
        assert_ne!(
            GuardKey::for_login(s, "ann@example.com"),
            GuardKey::for_login(s, "bob@example.com")
        );
        assert_eq!(
            GuardKey::for_login(s, "Not An Address"),
            GuardKey::for_login(s, "not an address")
        );
        let key = GuardKey::for_login(s, "ann@example.com");
        assert!(!key.as_str().contains("ann"), "the address is never stored");
    }

    #[test]
    fn the_eleventh_attempt_of_a_window_is_refused() {
        let now = Clock::system().now();
        let counter = |attempts, locked_until| Counter {
            attempts,
            failures: 0,
            window_start: Some(now),
            lockouts: 0,
            locked_until,
        };
        assert_eq!(refusal(&counter(MAX_FAILURES, None), now), None);
        assert_eq!(
            refusal(&counter(MAX_FAILURES + 1, None), now),
            Some(Locked {
                until: now + FAILURE_WINDOW,
                retry_after_secs: 15 * 60,
            })
        );
        let later = now + TimeDelta::minutes(3);
        assert_eq!(
            refusal(&counter(1, Some(later)), now),
            Some(Locked {
                until: later,
                retry_after_secs: 180,
            })
        );
        assert_eq!(
            refusal(&counter(1, Some(now)), now),
            None,
            "a lock that ended"
        );
    }
}
