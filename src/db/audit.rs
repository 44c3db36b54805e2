//! The append-only audit trail. Never a token, a password or a full email address.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_events;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub event: String,
    pub customer_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub store_id: String,
}

/// Inserts the rows. On PostgreSQL in one statement (one round trip, however many events a
/// request records); SQLite is in-process, so a statement per row costs no trip, and Diesel has
/// no multi-row insert for it through the multi-backend connection.
pub fn insert(conn: &mut DbConnection, rows: &[AuditRow]) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(pg) => diesel::insert_into(audit_events::table)
            .values(rows)
            .execute(pg)
            .map(|_| ()),
        DbConnection::Sqlite(lite) => rows.iter().try_for_each(|row| {
            diesel::insert_into(audit_events::table)
                .values(row)
                .execute(lite)
                .map(|_| ())
        }),
    }
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<AuditRow>> {
    audit_events::table
        .order((audit_events::at.asc(), audit_events::id.asc()))
        .select(AuditRow::as_select())
        .load(conn)
}
