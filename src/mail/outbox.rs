//! The transactional outbox: a message is a row written in the same transaction as the change
//! that caused it; a worker in every replica claims due rows (PostgreSQL `FOR UPDATE SKIP
//! LOCKED`), sends them, and retries with backoff until a bounded number of tries.
//!
//! Delivery is at least once: a process killed after the SMTP server accepted a message but
//! before it was marked sent will send it again once the lease runs out.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use tokio::sync::Notify;

use super::templates::Rendered;
use super::{MailError, Mailer, OutgoingMail};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::outbox::{self as q, NewMessage};
use crate::db::{self, Db, DbConnection, DbError};
use crate::domain::random;
use crate::domain::store::Store;

/// Messages leased per claim: one. A lease must outlive the sending of everything it covers,
/// and a batch sent one by one outlived it (a slow SMTP server, two replicas: the end of a
/// batch was sent twice); one message's send is bounded by the SMTP timeout, at most half the
/// lease (`Mailer::from_config`).
const BATCH: i64 = 1;
/// Old sent/failed rows, expired tokens and sessions are cleaned up this often.
const JANITOR_EVERY: Duration = Duration::from_secs(600);

/// Queues a rendered mail of `store` to `recipient` inside the caller's transaction.
pub fn enqueue_mail(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    store: &Store,
    recipient: &str,
    mail: &Rendered,
) -> diesel::QueryResult<String> {
    enqueue(
        conn,
        now,
        store,
        recipient,
        &mail.subject,
        &mail.text,
        &mail.html,
    )
}

/// Queues a message of `store` (its sender, and its data for a purge) inside the caller's
/// transaction.
pub fn enqueue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    store: &Store,
    recipient: &str,
    subject: &str,
    text: &str,
    html: &str,
) -> diesel::QueryResult<String> {
    let id = format!("msg_{}", random::alphanumeric(20));
    q::insert(
        conn,
        &NewMessage {
            id: id.clone(),
            recipient: recipient.to_owned(),
            subject: subject.to_owned(),
            body_text: text.to_owned(),
            body_html: html.to_owned(),
            status: q::QUEUED.to_owned(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            store_id: store.id.as_str().to_owned(),
            sender: store.mail_from().map(str::to_owned),
        },
    )?;
    Ok(id)
}

/// Wakes the worker of this process as soon as something is queued, so mail leaves at once
/// instead of at the next poll.
#[derive(Clone, Default)]
pub struct Doorbell(Arc<Notify>);

impl Doorbell {
    pub fn ring(&self) {
        self.0.notify_one();
    }
}

pub struct Worker {
    db: Db,
    clock: Clock,
    mailer: Mailer,
    doorbell: Doorbell,
    poll: Duration,
    max_attempts: i32,
    retry_base: Duration,
    retry_max: Duration,
    lease: Duration,
}

/// The wait before try number `attempts + 1`: doubling from `base`, at most `max`.
pub fn backoff(attempts: i32, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(1u32 << exp).min(max)
}

impl Worker {
    pub fn new(db: Db, clock: Clock, mailer: Mailer, doorbell: Doorbell, config: &Config) -> Self {
        Worker {
            db,
            clock,
            mailer,
            doorbell,
            poll: config.mail_poll_interval,
            max_attempts: config.mail_max_attempts,
            retry_base: config.mail_retry_base,
            retry_max: config.mail_retry_max,
            lease: config.mail_lease,
        }
    }

    /// Runs until `stop` turns true; a message being sent is finished first.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut last_janitor = tokio::time::Instant::now();
        while !*stop.borrow() {
            match self.run_once().await {
                // A full batch means more may be waiting: go again at once.
                Ok(n) if n as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail outbox: cannot read queue"),
            }
            if last_janitor.elapsed() >= JANITOR_EVERY {
                last_janitor = tokio::time::Instant::now();
                if let Err(e) = self.clean_up().await {
                    tracing::warn!(error = %e, "clean-up failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = self.doorbell.0.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Claims and sends one batch; returns how many messages it handled.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let lease = TimeDelta::from_std(self.lease).unwrap_or(TimeDelta::minutes(1));
        let clock = self.clock.clone();
        let claimed = self
            .db
            .run(move |conn| {
                let now = clock.now();
                let lease_until = now + lease;
                q::claim(conn, now, lease_until, BATCH).map_err(DbError::from)
            })
            .await?;
        let count = claimed.len();
        tracing::debug!(count, "mail outbox: claimed");
        for m in claimed {
            let mail = OutgoingMail {
                id: m.id.clone(),
                recipient: m.recipient,
                subject: m.subject,
                text: m.body_text,
                html: m.body_html,
                sender: m.sender,
            };
            let outcome = self.mailer.send(&mail).await;
            tracing::debug!(message_id = %mail.id, ok = outcome.is_ok(), "mail outbox: sent");
            let (id, attempts) = (m.id, m.attempts);
            let (max, base, cap) = (self.max_attempts, self.retry_base, self.retry_max);
            let clock = self.clock.clone();
            let recorded = self
                .db
                .run(move |conn| {
                    let lease = q::Lease { id: &id, attempts };
                    let held = match outcome {
                        Ok(()) => q::mark_sent(conn, lease, clock.now()),
                        Err(MailError::Permanent(e)) => {
                            tracing::error!(message_id = %id, error = %e, "mail refused for good");
                            q::mark_failed(conn, lease, &e)
                        }
                        Err(MailError::Transient(e)) if attempts >= max => {
                            tracing::error!(message_id = %id, attempts, error = %e, "mail failed after the last try");
                            q::mark_failed(conn, lease, &e)
                        }
                        Err(MailError::Transient(e)) => {
                            let wait = backoff(attempts, base, cap);
                            tracing::warn!(message_id = %id, attempts, retry_in_ms = wait.as_millis() as u64, error = %e, "mail not sent, will retry");
                            let next = clock.now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::seconds(1));
                            q::mark_retry(conn, lease, next, &e)
                        }
                    }
                    .map_err(DbError::from)?;
                    if !held {
                        tracing::warn!(message_id = %id, attempts, "mail outbox: the lease ran out before the outcome was recorded; the worker holding it now decides");
                    }
                    Ok::<_, DbError>(())
                })
                .await;
            if let Err(e) = recorded {
                // The lease runs out and the message is tried again: sent twice at worst.
                tracing::warn!(error = %e, "mail outbox: cannot record the outcome");
            }
        }
        Ok(count)
    }

    async fn clean_up(&self) -> Result<(), DbError> {
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                let now = clock.now();
                let day_ago = now - TimeDelta::days(1);
                q::prune(conn, now - TimeDelta::days(7)).map_err(DbError::from)?;
                db::tokens::prune(conn, day_ago).map_err(DbError::from)?;
                db::sessions::prune(conn, day_ago).map_err(DbError::from)?;
                db::rate_limits::prune(conn, now - TimeDelta::hours(2)).map_err(DbError::from)?;
                db::login_throttle::prune(conn, day_ago).map_err(DbError::from)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_then_caps() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=9).map(|a| backoff(a, base, max).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(1000, base, max), max);
    }
}
