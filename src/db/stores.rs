//! Queries on `stores`. The table itself is not store-scoped: only the operator's store API
//! and the resolution of a key's store read it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    api_keys, audit_events, customers, login_tokens, orders, outbox, sessions, stores,
};
use super::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = stores, treat_none_as_null = true)]
pub struct StoreRow {
    pub id: String,
    pub name: String,
    pub support_email: Option<String>,
    pub currency: Option<String>,
    pub country: Option<String>,
    /// A JSON array of origins.
    pub link_origins: Option<String>,
    pub mail_from: Option<String>,
    pub mail_subject: Option<String>,
    pub order_reference_prefix: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &StoreRow) -> QueryResult<()> {
    diesel::insert_into(stores::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A store that has not been deleted.
pub fn find_live(conn: &mut DbConnection, id: &str) -> QueryResult<Option<StoreRow>> {
    stores::table
        .find(id)
        .filter(stores::deleted_at.is_null())
        .select(StoreRow::as_select())
        .get_result(conn)
        .optional()
}

/// Any store, deleted or not (for purging).
pub fn find_any(conn: &mut DbConnection, id: &str) -> QueryResult<Option<StoreRow>> {
    stores::table
        .find(id)
        .select(StoreRow::as_select())
        .get_result(conn)
        .optional()
}

/// Writes every column of a live store; false when there is none.
pub fn update(conn: &mut DbConnection, row: &StoreRow) -> QueryResult<bool> {
    diesel::update(
        stores::table
            .find(&row.id)
            .filter(stores::deleted_at.is_null()),
    )
    .set(row)
    .execute(conn)
    .map(|n| n > 0)
}

pub fn count_live(conn: &mut DbConnection) -> QueryResult<i64> {
    stores::table
        .filter(stores::deleted_at.is_null())
        .count()
        .get_result(conn)
}

pub fn page_live(
    conn: &mut DbConnection,
    descending: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<StoreRow>> {
    let q = stores::table
        .filter(stores::deleted_at.is_null())
        .select(StoreRow::as_select())
        .limit(limit)
        .offset(offset);
    if descending {
        q.order((stores::created_at.desc(), stores::id.desc()))
            .load(conn)
    } else {
        q.order((stores::created_at.asc(), stores::id.asc()))
            .load(conn)
    }
}

/// Every store, deleted ones included, oldest first (the CLI's list).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<StoreRow>> {
    stores::table
        .order((stores::created_at.asc(), stores::id.asc()))
        .select(StoreRow::as_select())
        .load(conn)
}

/// Marks the store deleted and refuses its credentials from now on: its keys are revoked and
/// its sessions ended in the same transaction, which every request checks, so no replica
/// serves them again. False when it was not live.
pub fn mark_deleted(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(stores::table.find(id).filter(stores::deleted_at.is_null()))
        .set((stores::deleted_at.eq(Some(at)), stores::updated_at.eq(at)))
        .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::update(
        api_keys::table
            .filter(api_keys::store_id.eq(id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(at)))
    .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::store_id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(at)))
    .execute(conn)?;
    Ok(true)
}

/// Erases everything a deleted store holds, then the store. Returns the number of customers
/// erased.
pub fn purge(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(outbox::table.filter(outbox::store_id.eq(id))).execute(conn)?;
    diesel::delete(audit_events::table.filter(audit_events::store_id.eq(id))).execute(conn)?;
    diesel::delete(orders::table.filter(orders::store_id.eq(id))).execute(conn)?;
    diesel::delete(login_tokens::table.filter(login_tokens::store_id.eq(id))).execute(conn)?;
    diesel::delete(sessions::table.filter(sessions::store_id.eq(id))).execute(conn)?;
    let customers =
        diesel::delete(customers::table.filter(customers::store_id.eq(id))).execute(conn)?;
    diesel::delete(api_keys::table.filter(api_keys::store_id.eq(id))).execute(conn)?;
    // The counters `Scope::counter_key` names; `_` in the id is LIKE's wildcard, so escaped.
    let prefix = format!("{}:%", id.replace('_', "\\_"));
    diesel::delete(
        super::schema::login_throttle::table.filter(
            super::schema::login_throttle::key
                .like(prefix.clone())
                .escape('\\'),
        ),
    )
    .execute(conn)?;
    diesel::delete(
        super::schema::rate_limits::table
            .filter(super::schema::rate_limits::bucket.like(prefix).escape('\\')),
    )
    .execute(conn)?;
    diesel::delete(stores::table.find(id)).execute(conn)?;
    Ok(customers)
}
