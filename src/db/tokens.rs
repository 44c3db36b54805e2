//! Queries on `login_tokens`: one-time tokens, stored only as hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::login_tokens;
use super::scope::Scope;
use super::DbConnection;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = login_tokens)]
pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub customer_id: &'a str,
    pub purpose: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// Only for an email change: the address it confirms.
    pub new_email: Option<&'a str>,
    pub store_id: &'a str,
}

pub fn insert(conn: &mut DbConnection, token: &NewToken<'_>) -> QueryResult<()> {
    diesel::insert_into(login_tokens::table)
        .values(token)
        .execute(conn)
        .map(|_| ())
}

/// Removes the customer's unused tokens of one purpose (only the newest may work).
pub fn void_unused(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: &str,
    purpose: &str,
) -> QueryResult<usize> {
    diesel::delete(
        scope
            .tokens()
            .filter(login_tokens::customer_id.eq(customer_id))
            .filter(login_tokens::purpose.eq(purpose))
            .filter(login_tokens::used_at.is_null()),
    )
    .execute(conn)
}

/// Removes every unused token of every purpose (after a password change, say).
pub fn void_all_unused(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: &str,
) -> QueryResult<usize> {
    diesel::delete(
        scope
            .tokens()
            .filter(login_tokens::customer_id.eq(customer_id))
            .filter(login_tokens::used_at.is_null()),
    )
    .execute(conn)
}

/// Marks the token used in one statement, only if it is unused, unexpired and of this purpose;
/// of many concurrent callers exactly one gets the customer id.
pub fn consume(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    diesel::update(
        scope
            .tokens()
            .filter(login_tokens::token_hash.eq(token_hash))
            .filter(login_tokens::purpose.eq(purpose))
            .filter(login_tokens::used_at.is_null())
            .filter(login_tokens::expires_at.gt(now)),
    )
    .set(login_tokens::used_at.eq(Some(now)))
    .returning(login_tokens::customer_id)
    .get_results(conn)
    .and_then(|rows| super::at_most_one("login_tokens.token_hash", rows))
}

/// [`consume`] for an email-change token: its customer and the address it confirms.
pub fn consume_email_change(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(String, Option<String>)>> {
    diesel::update(
        scope
            .tokens()
            .filter(login_tokens::token_hash.eq(token_hash))
            .filter(login_tokens::purpose.eq(crate::domain::token::Purpose::EmailChange.as_str()))
            .filter(login_tokens::used_at.is_null())
            .filter(login_tokens::expires_at.gt(now)),
    )
    .set(login_tokens::used_at.eq(Some(now)))
    .returning((login_tokens::customer_id, login_tokens::new_email))
    .get_results(conn)
    .and_then(|rows| super::at_most_one("login_tokens.token_hash", rows))
}

/// The customer of a live token, without consuming it.
pub fn peek_live(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    scope
        .tokens()
        .filter(login_tokens::token_hash.eq(token_hash))
        .filter(login_tokens::purpose.eq(purpose))
        .filter(login_tokens::used_at.is_null())
        .filter(login_tokens::expires_at.gt(now))
        .select(login_tokens::customer_id)
        .load(conn)
        .and_then(|rows| super::at_most_one("login_tokens.token_hash", rows))
}

/// The customer a token (of any state) belongs to, for the audit trail of a refused token.
pub fn owner(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    token_hash: &str,
) -> QueryResult<Option<String>> {
    scope
        .tokens()
        .filter(login_tokens::token_hash.eq(token_hash))
        .select(login_tokens::customer_id)
        .load(conn)
        .and_then(|rows| super::at_most_one("login_tokens.token_hash", rows))
}

/// Deletes tokens that can no longer be used and are older than `before`.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(login_tokens::table.filter(login_tokens::expires_at.lt(before))).execute(conn)
}
