//! Request limits counted in the database (fixed windows), so they hold across replicas.

use std::time::Duration;

use chrono::{DurationRound, NaiveDateTime, TimeDelta};

use crate::clock::Clock;
use crate::db::{rate_limits, Db, DbConnection, DbError};

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate limited for {retry_after_secs}s")]
    Limited { retry_after_secs: u64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for RateLimitError {
    fn database_failure(&self) -> bool {
        matches!(self, RateLimitError::Db(e) if e.database_failure())
    }
}

/// The start of the window of length `window` that `now` falls in.
pub fn window_start(now: NaiveDateTime, window: Duration) -> NaiveDateTime {
    let step = TimeDelta::from_std(window).unwrap_or(TimeDelta::minutes(1));
    now.duration_trunc(step).unwrap_or(now)
}

fn seconds_left(now: NaiveDateTime, start: NaiveDateTime, window: Duration) -> u64 {
    let end = start + TimeDelta::from_std(window).unwrap_or(TimeDelta::minutes(1));
    u64::try_from((end - now).num_seconds()).unwrap_or(0).max(1)
}

/// Counts a hit at `now` and tells whether the bucket is still within `limit` for this window.
pub fn hit_within(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    bucket: &str,
    window: Duration,
    limit: u32,
) -> diesel::QueryResult<bool> {
    let start = window_start(now, window);
    let hits = rate_limits::hit(conn, bucket, start)?;
    Ok(u32::try_from(hits).unwrap_or(u32::MAX) <= limit)
}

#[derive(Clone)]
pub struct RateLimiter {
    db: Db,
    clock: Clock,
}

impl RateLimiter {
    pub fn new(db: Db, clock: Clock) -> Self {
        RateLimiter { db, clock }
    }

    /// Counts one `action` by `client` and refuses past `per_minute` (0 disables the limit).
    pub async fn per_minute(
        &self,
        action: &'static str,
        client: &str,
        per_minute: u32,
    ) -> Result<(), RateLimitError> {
        if per_minute == 0 {
            return Ok(());
        }
        let bucket = format!("ip:{action}:{client}");
        let window = Duration::from_secs(60);
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                let now = clock.now();
                let start = window_start(now, window);
                let hits = rate_limits::hit(conn, &bucket, start).map_err(DbError::from)?;
                if u32::try_from(hits).unwrap_or(u32::MAX) > per_minute {
                    Err(RateLimitError::Limited {
                        retry_after_secs: seconds_left(now, start, window),
                    })
                } else {
                    Ok(())
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_and_report_time_left() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(10, 17, 42)
            .unwrap();
        let start = window_start(t, Duration::from_secs(60));
        assert_eq!(start.format("%H:%M:%S").to_string(), "10:17:00");
        assert_eq!(seconds_left(t, start, Duration::from_secs(60)), 18);
        let hour = window_start(t, Duration::from_secs(3600));
        assert_eq!(hour.format("%H:%M:%S").to_string(), "10:00:00");
    }
}
