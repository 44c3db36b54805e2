//! Queries on `signing_keys`: the JWT keyring.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::signing_keys;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    pub private_key: String,
    pub public_key: String,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &SigningKeyRow) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Keys that still verify tokens (not retired, or retired in the future), newest first.
pub fn usable(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .filter(
            signing_keys::retired_at
                .is_null()
                .or(signing_keys::retired_at.gt(now)),
        )
        .order((signing_keys::created_at.desc(), signing_keys::kid.desc()))
        .select(SigningKeyRow::as_select())
        .load(conn)
}

/// The key that signs new tokens: the newest one not scheduled for retirement.
pub fn current(conn: &mut DbConnection) -> QueryResult<Option<SigningKeyRow>> {
    signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .order((signing_keys::created_at.desc(), signing_keys::kid.desc()))
        .select(SigningKeyRow::as_select())
        .first(conn)
        .optional()
}

/// Schedules every active key to stop verifying at `at`.
pub fn retire_active(conn: &mut DbConnection, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(signing_keys::table.filter(signing_keys::retired_at.is_null()))
        .set(signing_keys::retired_at.eq(Some(at)))
        .execute(conn)
}

/// Retires one key now: tokens it signed stop working.
pub fn retire(conn: &mut DbConnection, kid: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(signing_keys::table.filter(signing_keys::kid.eq(kid)))
        .set(signing_keys::retired_at.eq(Some(at)))
        .execute(conn)
}

/// Swaps a key's stored private part, if it is still `old` (encryption in place at start).
pub fn replace_private_key(
    conn: &mut DbConnection,
    kid: &str,
    old: &str,
    new: &str,
) -> QueryResult<usize> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::private_key.eq(old)),
    )
    .set(signing_keys::private_key.eq(new))
    .execute(conn)
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order(signing_keys::created_at.asc())
        .select(SigningKeyRow::as_select())
        .load(conn)
}

pub fn lock_table(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Pg(_) => {
            conn.batch_execute("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}
