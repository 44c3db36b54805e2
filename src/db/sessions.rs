//! Queries on `sessions`: one row per issued JWT (`jti`), checked on every customer request.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::scope::Scope;
use super::{Db, DbConnection, DbError};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub store_id: &'a str,
}

pub fn insert(conn: &mut DbConnection, s: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

/// The session check's query; `pg_async` sends the same SQL, with its parameters in this
/// order: session id, customer id, store, now, key id, now.
///
/// The signing key is checked here, not only in a replica's keyring cache, so that retiring a
/// key (`patron keys retire-jwt`) refuses its tokens on the very next request everywhere.
macro_rules! live_customer_query {
    ($id:expr, $customer_id:expr, $store:expr, $kid:expr, $now:expr) => {{
        use $crate::db::customers::CustomerRow;
        use $crate::db::schema::{customers, signing_keys};
        sessions::table
            .inner_join(customers::table)
            .filter(sessions::id.eq($id))
            .filter(sessions::customer_id.eq($customer_id))
            .filter(sessions::store_id.eq($store))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt($now))
            .filter(diesel::dsl::exists(
                signing_keys::table
                    .filter(signing_keys::kid.eq($kid))
                    .filter(
                        signing_keys::retired_at
                            .is_null()
                            .or(signing_keys::retired_at.gt($now)),
                    ),
            ))
            .select(CustomerRow::as_select())
    }};
}

/// What a customer request's token claims, for the session check to confirm.
#[derive(Debug, Clone, Copy)]
pub struct SessionCheck<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub store: &'a str,
    /// The key that signed the token.
    pub kid: &'a str,
    pub now: NaiveDateTime,
}

/// The customer behind a live session of this store, of a token signed by a key still in
/// force, read in the same query that checks the session (the check every customer request
/// makes, so the profile read needs no second trip).
pub fn live_customer(
    conn: &mut DbConnection,
    c: SessionCheck<'_>,
) -> QueryResult<Option<super::customers::CustomerRow>> {
    live_customer_query!(c.id, c.customer_id, c.store, c.kid, c.now)
        .get_result(conn)
        .optional()
}

/// `live_customer` the fastest way this database has for a customer's own requests: on
/// PostgreSQL the HTTP worker's asynchronous connection (`pg_async`), on SQLite the calling
/// thread (`Db::read`).
pub async fn read_live_customer(
    db: &Db,
    check: SessionCheck<'_>,
) -> Result<Option<super::customers::CustomerRow>, DbError> {
    if let Some(reader) = db.pg_async() {
        return reader.live_customer(check).await;
    }
    let (id, customer_id, store, kid) = (
        check.id.to_owned(),
        check.customer_id.to_owned(),
        check.store.to_owned(),
        check.kid.to_owned(),
    );
    let now = check.now;
    db.read(move |conn| {
        Ok(live_customer(
            conn,
            SessionCheck {
                id: &id,
                customer_id: &customer_id,
                store: &store,
                kid: &kid,
                now,
            },
        )?)
    })
    .await
}

/// `live_customer`'s statement for `pg_async`: session id, customer id, store, now, key id,
/// now.
pub fn live_customer_sql() -> String {
    super::pg_async::sql_text(&live_customer_query!(
        "",
        "",
        "",
        "",
        NaiveDateTime::default()
    ))
}

pub fn revoke(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        scope
            .sessions()
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(now)))
    .execute(conn)
}

pub fn revoke_all(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        scope
            .sessions()
            .filter(sessions::customer_id.eq(customer_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Ends every session of the customer but `keep` (the one changing the password).
pub fn revoke_all_except(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: &str,
    keep: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        scope
            .sessions()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `pg_async` binds the session check's parameters by position: they must come in the
    /// order it passes them.
    #[test]
    fn the_session_check_binds_in_the_order_pg_async_passes_them() {
        let now = NaiveDateTime::default();
        let shown = diesel::debug_query::<diesel::pg::Pg, _>(&live_customer_query!(
            "SID", "CID", "STORE", "KID", now
        ))
        .to_string();
        let (sql, binds) = shown.split_once(" -- binds: ").expect("binds shown");
        assert!(sql.contains("$6") && !sql.contains("$7"), "{sql}");
        assert!(sql.contains("signing_keys"), "{sql}");
        let at = |needle: &str| {
            binds
                .find(needle)
                .unwrap_or_else(|| panic!("{needle}: {binds}"))
        };
        assert!(
            at("SID") < at("CID") && at("CID") < at("STORE") && at("STORE") < at("KID"),
            "{binds}"
        );
        let now_shown = format!("{now:?}");
        let before_kid = &binds[at("STORE")..at("KID")];
        let after_kid = &binds[at("KID")..];
        assert_eq!(before_kid.matches(&now_shown).count(), 1, "{binds}");
        assert_eq!(after_kid.matches(&now_shown).count(), 1, "{binds}");
    }
}
