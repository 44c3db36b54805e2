//! Fixed-window counters in the database, so limits hold across every replica.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use super::schema::rate_limits;
use super::{dialect, DbConnection};

#[derive(QueryableByName)]
struct Hits {
    #[diesel(sql_type = Integer)]
    hits: i32,
}

const HIT: &str = "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits";

/// Counts one hit in the bucket's window and returns the window's total so far.
pub fn hit(conn: &mut DbConnection, bucket: &str, window_start: NaiveDateTime) -> QueryResult<i32> {
    let rows: Vec<Hits> = diesel::sql_query(dialect(conn, HIT))
        .bind::<Text, _>(bucket)
        .bind::<Timestamp, _>(window_start)
        .load(conn)?;
    Ok(rows.first().map(|r| r.hits).unwrap_or(1))
}

pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(before))).execute(conn)
}
