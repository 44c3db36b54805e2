//! Queries on `sessions`: one row per issued JWT (`jti`), checked on every customer request.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::{Db, DbConnection, DbError};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, s: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

/// The session check's query; `pg_async` sends the same SQL.
macro_rules! live_customer_query {
    ($id:expr, $customer_id:expr, $now:expr) => {{
        use super::customers::CustomerRow;
        use super::schema::customers;
        sessions::table
            .inner_join(customers::table)
            .filter(sessions::id.eq($id))
            .filter(sessions::customer_id.eq($customer_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt($now))
            .select(CustomerRow::as_select())
    }};
}

/// The customer behind a live session, read in the same query that checks the session (the
/// check every customer request makes, so the profile read needs no second trip).
pub fn live_customer(
    conn: &mut DbConnection,
    id: &str,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<super::customers::CustomerRow>> {
    live_customer_query!(id, customer_id, now)
        .get_result(conn)
        .optional()
}

/// `live_customer` the fastest way this database has for a customer's own requests: on
/// PostgreSQL the HTTP worker's asynchronous connection (`pg_async`), on SQLite the calling
/// thread (`Db::read`).
pub async fn read_live_customer(
    db: &Db,
    id: &str,
    customer_id: &str,
    now: NaiveDateTime,
) -> Result<Option<super::customers::CustomerRow>, DbError> {
    if let Some(reader) = db.pg_async() {
        return reader.live_customer(id, customer_id, now).await;
    }
    let (id, customer_id) = (id.to_owned(), customer_id.to_owned());
    db.read(move |conn| Ok(live_customer(conn, &id, &customer_id, now)?))
        .await
}

/// `live_customer`'s statement for `pg_async`: session id, customer id, now.
pub fn live_customer_sql() -> String {
    super::pg_async::sql_text(&live_customer_query!("", "", NaiveDateTime::default()))
}

pub fn revoke(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(now)))
    .execute(conn)
}

pub fn revoke_all(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::customer_id.eq(customer_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Ends every session of the customer but `keep` (the one changing the password).
pub fn revoke_all_except(
    conn: &mut DbConnection,
    customer_id: &str,
    keep: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::customer_id.eq(customer_id))
            .filter(sessions::id.ne(keep))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(now)))
    .execute(conn)
}

pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(before))).execute(conn)
}
