//! Queries on `login_throttle`: the failed-password counter of one normalised address.
//!
//! Every step is one statement that reads and writes the counter together, so however many
//! requests for the same address arrive at once, each sees the count the others left.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use super::schema::login_throttle;
use super::{dialect, DbConnection};

/// The counter as one statement left it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Counter {
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub failures: i32,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub window_start: Option<NaiveDateTime>,
    #[diesel(sql_type = Integer)]
    pub lockouts: i32,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub locked_until: Option<NaiveDateTime>,
}

const RETURNING: &str = "RETURNING attempts, failures, window_start, lockouts, locked_until";

/// Counts one attempt about to be checked. While the address is locked nothing changes; when
/// its window (which began at or before `window_opened_before`) has passed, a new one starts.
/// Parameters: key, now, the oldest window start still open.
const TAKE: &str =
    "INSERT INTO login_throttle (key, attempts, failures, window_start, lockouts, locked_until) \
    VALUES ($1, 1, 0, $2, 0, NULL) \
    ON CONFLICT (key) DO UPDATE SET \
    attempts = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.attempts \
        WHEN login_throttle.window_start IS NULL OR login_throttle.window_start < $3 THEN 1 \
        ELSE login_throttle.attempts + 1 END, \
    failures = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.failures \
        WHEN login_throttle.window_start IS NULL OR login_throttle.window_start < $3 THEN 0 \
        ELSE login_throttle.failures END, \
    window_start = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.window_start \
        WHEN login_throttle.window_start IS NULL OR login_throttle.window_start < $3 THEN $2 \
        ELSE login_throttle.window_start END ";

pub fn take_attempt(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
    window_opened_before: NaiveDateTime,
) -> QueryResult<Counter> {
    let sql = dialect(conn, &format!("{TAKE}{RETURNING}"));
    one(diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(window_opened_before)
        .load(conn)?)
}

/// Gives back an attempt that was never checked (the hasher was busy, say).
pub fn give_back(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::update(
        login_throttle::table
            .find(key)
            .filter(login_throttle::attempts.gt(0)),
    )
    .set(login_throttle::attempts.eq(login_throttle::attempts - 1))
    .execute(conn)
    .map(|_| ())
}

/// Counts one wrong password; returns the counter after it.
pub fn add_failure(conn: &mut DbConnection, key: &str, now: NaiveDateTime) -> QueryResult<Counter> {
    // An upsert, so a counter pruned while the hash ran still counts this failure.
    let sql = dialect(
        conn,
        &format!(
            "INSERT INTO login_throttle (key, attempts, failures, window_start, lockouts, locked_until) \
             VALUES ($1, 1, 1, $2, 0, NULL) \
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1 {RETURNING}"
        ),
    );
    one(diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .load(conn)?)
}

/// Locks the address until `until` and starts counting afresh after it.
pub fn lock(conn: &mut DbConnection, key: &str, until: NaiveDateTime) -> QueryResult<()> {
    diesel::update(login_throttle::table.find(key))
        .set((
            login_throttle::attempts.eq(0),
            login_throttle::failures.eq(0),
            login_throttle::window_start.eq(None::<NaiveDateTime>),
            login_throttle::lockouts.eq(login_throttle::lockouts + 1),
            login_throttle::locked_until.eq(Some(until)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records a right password, unless the address got locked meanwhile (by wrong passwords
/// checked at the same time): then nothing changes and the lock's end is returned. The
/// attempt's own turn is given back and the failure streak ends, but the wrong passwords
/// already checked in this window still count against its budget, so a success in the middle
/// of a burst of guesses does not open room for more.
pub fn succeed_unless_locked(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    let sql = dialect(
        conn,
        "UPDATE login_throttle SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
         failures = 0, lockouts = 0, locked_until = NULL \
         WHERE key = $1 AND (locked_until IS NULL OR locked_until <= $2)",
    );
    let updated = diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .execute(conn)?;
    if updated > 0 {
        return Ok(None);
    }
    // Nothing updated: locked, or no counter at all (never counted, or pruned), which is no lock.
    Ok(locked_until(conn, key)?.filter(|until| *until > now))
}

/// Forgets the counter entirely (a password was reset or set by the merchant).
pub fn forget(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .map(|_| ())
}

pub fn locked_until(conn: &mut DbConnection, key: &str) -> QueryResult<Option<NaiveDateTime>> {
    Ok(login_throttle::table
        .find(key)
        .select(login_throttle::locked_until)
        .get_result::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten())
}

/// Deletes counters whose window and lock both ended before `before`.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        login_throttle::table
            .filter(
                login_throttle::window_start
                    .is_null()
                    .or(login_throttle::window_start.lt(before)),
            )
            .filter(
                login_throttle::locked_until
                    .is_null()
                    .or(login_throttle::locked_until.lt(before)),
            ),
    )
    .execute(conn)
}

fn one(mut rows: Vec<Counter>) -> QueryResult<Counter> {
    match rows.len() {
        1 => Ok(rows.remove(0)),
        _ => Err(diesel::result::Error::NotFound),
    }
}
