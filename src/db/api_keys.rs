//! Queries on `api_keys`: merchant keys, stored only as hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::api_keys;
use super::scope::Scope;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub kind: String,
    pub key_prefix: String,
    pub key_hash: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub store_id: String,
}

pub fn insert(conn: &mut DbConnection, row: &ApiKeyRow) -> QueryResult<()> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The kind and store of the live (not revoked) key with this hash. The one lookup that is
/// not scoped: it is how a request finds its store.
pub fn live_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<(String, String)>> {
    let rows = api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select((api_keys::kind, api_keys::store_id))
        .load(conn)?;
    super::at_most_one("api_keys.key_hash", rows)
}

pub fn count_all(conn: &mut DbConnection, scope: Scope<'_>) -> QueryResult<i64> {
    scope.api_keys().count().get_result(conn)
}

pub fn list(conn: &mut DbConnection, scope: Scope<'_>) -> QueryResult<Vec<ApiKeyRow>> {
    scope
        .api_keys()
        .order(api_keys::created_at.asc())
        .select(ApiKeyRow::as_select())
        .load(conn)
}

/// How an operator names a key to revoke.
#[derive(Debug, Clone, Copy)]
pub enum KeyRef<'a> {
    Id(&'a str),
    Prefix(&'a str),
    Hash(&'a str),
}

/// The ids of the live keys `target` names (more than one only for a shared prefix).
pub fn live_ids(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    target: KeyRef<'_>,
) -> QueryResult<Vec<String>> {
    let live = scope
        .api_keys()
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .order(api_keys::created_at.asc());
    match target {
        KeyRef::Id(id) => live.filter(api_keys::id.eq(id)).load(conn),
        KeyRef::Prefix(p) => live.filter(api_keys::key_prefix.eq(p)).load(conn),
        KeyRef::Hash(h) => live.filter(api_keys::key_hash.eq(h)).load(conn),
    }
}

/// Revokes one live key by id; whether it was still live.
pub fn revoke(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    id: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        scope
            .api_keys()
            .filter(api_keys::id.eq(id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(at)))
    .execute(conn)
    .map(|n| n == 1)
}

/// Holds other starting replicas back while one decides whether to create the first keys.
pub fn lock_table(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Pg(_) => {
            conn.batch_execute("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE")
        }
        // SQLite: the caller's BEGIN IMMEDIATE already holds the write lock.
        DbConnection::Sqlite(_) => Ok(()),
    }
}
