//! Queries on `outbox`: mail committed with the change that caused it, delivered by a worker.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use super::schema::outbox;
use super::DbConnection;

pub const QUEUED: &str = "queued";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMessage {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub store_id: String,
    /// The store's `From`; `None`: the deployment's.
    pub sender: Option<String>,
}

pub fn insert(conn: &mut DbConnection, m: &NewMessage) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(m)
        .execute(conn)
        .map(|_| ())
}

/// A message this worker now holds a lease on.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub body_text: String,
    #[diesel(sql_type = Text)]
    pub body_html: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub sender: Option<String>,
}

const CLAIM_PG: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, locked_until = $1 \
    WHERE id IN (SELECT id FROM outbox \
        WHERE (status = 'queued' AND next_attempt_at <= $2) OR (status = 'sending' AND locked_until < $2) \
        ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
    RETURNING id, recipient, subject, body_text, body_html, attempts, sender";

// SQLite has one writer at a time, so the single UPDATE is the whole claim.
const CLAIM_SQLITE: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, locked_until = ?1 \
    WHERE id IN (SELECT id FROM outbox \
        WHERE (status = 'queued' AND next_attempt_at <= ?2) OR (status = 'sending' AND locked_until < ?2) \
        ORDER BY next_attempt_at LIMIT ?3) \
    RETURNING id, recipient, subject, body_text, body_html, attempts, sender";

/// Leases up to `limit` due messages (queued and due, or held by a worker whose lease ran out)
/// until `lease_until`. Replicas never receive the same message while a lease holds, so a
/// worker leases only what it sends next (see `mail::outbox`).
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(CLAIM_PG)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(CLAIM_SQLITE)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c),
    }
}

/// The claim a worker holds: the message and the try it claimed. Each claim counts a try, so
/// `attempts` fences the lease: once another worker has claimed the message again (the lease
/// ran out), this worker's outcome no longer matches and changes nothing.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub id: &'a str,
    pub attempts: i32,
}

macro_rules! held {
    ($lease:expr) => {
        outbox::table
            .filter(outbox::id.eq($lease.id))
            .filter(outbox::status.eq(SENDING))
            .filter(outbox::attempts.eq($lease.attempts))
    };
}

/// Delivered: the bodies (which may hold a live token) are scrubbed. Whether the lease was
/// still held (`false`: another worker took the message over).
pub fn mark_sent(
    conn: &mut DbConnection,
    lease: Lease<'_>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(held!(lease))
        .set((
            outbox::status.eq(SENT),
            outbox::sent_at.eq(Some(now)),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn mark_retry(
    conn: &mut DbConnection,
    lease: Lease<'_>,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> QueryResult<bool> {
    diesel::update(held!(lease))
        .set((
            outbox::status.eq(QUEUED),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(Some(error)),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Given up: kept for inspection, bodies scrubbed.
pub fn mark_failed(conn: &mut DbConnection, lease: Lease<'_>, error: &str) -> QueryResult<bool> {
    diesel::update(held!(lease))
        .set((
            outbox::status.eq(FAILED),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(Some(error)),
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Sent and failed messages older than `before` are deleted.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        outbox::table
            .filter(outbox::status.eq(SENT).or(outbox::status.eq(FAILED)))
            .filter(outbox::created_at.lt(before)),
    )
    .execute(conn)
}

/// How many messages are in `status` (for operators' checks and tests).
pub fn count_with_status(conn: &mut DbConnection, status: &str) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::status.eq(status))
        .count()
        .get_result(conn)
}
