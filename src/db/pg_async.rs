//! The session check every customer request makes, sent to PostgreSQL without leaving the HTTP
//! worker's thread.
//!
//! Diesel's connections block, so each query through `Db::run` hops to a blocking thread and
//! back: two thread wake-ups per request on top of the database's own, and on the 2-core
//! benchmark machine the scheduler was the largest item in patron's profile. Here each HTTP
//! worker thread keeps one asynchronous connection of its own, and the requests it serves share
//! it: their queries are pipelined on the one socket, so under load PostgreSQL reads several per
//! wake-up and the worker reads several answers per `epoll` return.
//!
//! It speaks plain TCP or a Unix socket, so it is used only where the connection would not be
//! encrypted anyway: `sslmode=disable`, or a Unix-socket host. Anything else (the default
//! `prefer`, `require`, client certificates, settings only libpq understands) keeps every query
//! on Diesel's libpq connections.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::customers::CustomerRow;
use super::DbError;

/// Distinguishes the readers of one process (tests run several servers on several databases),
/// so a worker thread never answers one server's request on another's connection.
static NEXT_READER: AtomicU64 = AtomicU64::new(0);

/// A worker thread's connection and the statement prepared on it.
struct Conn {
    client: Client,
    live_customer: Statement,
}

thread_local! {
    static CONNS: RefCell<HashMap<u64, Rc<Conn>>> = RefCell::new(HashMap::new());
    /// One connection attempt at a time per thread and reader: after a database restart the
    /// requests waiting on a worker share the one new connection.
    static CONNECTING: RefCell<HashMap<u64, Rc<tokio::sync::Mutex<()>>>> =
        RefCell::new(HashMap::new());
}

#[derive(Clone)]
pub struct PgReader {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    config: tokio_postgres::Config,
    timeout: Duration,
    live_customer_sql: String,
}

impl std::fmt::Debug for PgReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgReader")
            .field("id", &self.inner.id)
            .finish()
    }
}

/// Whether `url` can be served without TLS and is understood by tokio-postgres.
pub fn plain_config(url: &str) -> Option<tokio_postgres::Config> {
    let config = tokio_postgres::Config::from_str(url).ok()?;
    let unix_only = !config.get_hosts().is_empty()
        && config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
    let plain = config.get_ssl_mode() == SslMode::Disable || unix_only;
    (plain && config.get_user().is_some()).then_some(config)
}

impl PgReader {
    /// A reader for `url`, or `None` where it must not or cannot be used (see the module
    /// documentation). `live_customer_sql` is the statement Diesel would send, so both paths
    /// read the same rows.
    pub fn new(url: &str, timeout: Duration, live_customer_sql: String) -> Option<PgReader> {
        let config = plain_config(url)?;
        Some(PgReader {
            inner: Arc::new(Inner {
                id: NEXT_READER.fetch_add(1, Ordering::Relaxed),
                config,
                timeout,
                live_customer_sql,
            }),
        })
    }

    /// Connects once, to find out at start whether this path works here (a password that
    /// libpq would find in `~/.pgpass`, say, is unknown to tokio-postgres).
    pub async fn check(&self) -> Result<(), DbError> {
        let conn = self.connect().await?;
        drop(conn);
        Ok(())
    }

    async fn connect(&self) -> Result<Conn, DbError> {
        let connecting = async {
            let (client, connection) = self.inner.config.connect(NoTls).await?;
            // Runs on this thread's runtime, which is the worker's own; it ends when the
            // client is dropped or the server goes away.
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "asynchronous PostgreSQL connection ended");
                }
            });
            let live_customer = client.prepare(&self.inner.live_customer_sql).await?;
            Ok::<_, tokio_postgres::Error>(Conn {
                client,
                live_customer,
            })
        };
        tokio::time::timeout(self.inner.timeout, connecting)
            .await
            .map_err(|_| DbError::Unavailable("timed out connecting to PostgreSQL".into()))?
            .map_err(unavailable_or_failed)
    }

    fn cached(&self) -> Option<Rc<Conn>> {
        let id = self.inner.id;
        CONNS
            .with(|c| c.borrow().get(&id).cloned())
            .filter(|conn| !conn.client.is_closed())
    }

    fn forget(&self, conn: &Rc<Conn>) {
        let id = self.inner.id;
        CONNS.with(|c| {
            let mut c = c.borrow_mut();
            if c.get(&id).is_some_and(|held| Rc::ptr_eq(held, conn)) {
                c.remove(&id);
            }
        });
    }

    async fn conn(&self) -> Result<Rc<Conn>, DbError> {
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let id = self.inner.id;
        let gate = CONNECTING.with(|g| g.borrow_mut().entry(id).or_default().clone());
        let _turn = tokio::time::timeout(self.inner.timeout, gate.lock())
            .await
            .map_err(|_| DbError::Unavailable("timed out waiting for a connection".into()))?;
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let conn = Rc::new(self.connect().await?);
        CONNS.with(|c| c.borrow_mut().insert(id, conn.clone()));
        Ok(conn)
    }

    /// The customer behind a live session: the same statement, parameters and row as
    /// `sessions::live_customer`.
    pub async fn live_customer(
        &self,
        session_id: &str,
        customer_id: &str,
        now: NaiveDateTime,
    ) -> Result<Option<CustomerRow>, DbError> {
        let conn = self.conn().await?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
            [&session_id, &customer_id, &now];
        let query = conn.client.query_opt(&conn.live_customer, &params);
        let outcome = tokio::time::timeout(self.inner.timeout, query).await;
        let row = match outcome {
            Ok(Ok(row)) => row,
            Ok(Err(e)) => {
                let e = unavailable_or_failed(e);
                if matches!(e, DbError::Unavailable(_)) || conn.client.is_closed() {
                    self.forget(&conn);
                }
                return Err(e);
            }
            Err(_) => {
                // The answer may still come, behind which nothing else would: start afresh.
                self.forget(&conn);
                return Err(DbError::Unavailable(
                    "timed out waiting for PostgreSQL".into(),
                ));
            }
        };
        row.map(|r| customer_row(&r))
            .transpose()
            .map_err(|e| DbError::Driver(e.to_string()))
    }
}

/// A connection that is gone or a server shutting down is 503; anything else is a fault.
fn unavailable_or_failed(e: tokio_postgres::Error) -> DbError {
    let gone = e.is_closed()
        || e.code().is_some_and(|c| {
            c.code().starts_with("08")
                || c.code().starts_with("57P")
                || *c == SqlState::TOO_MANY_CONNECTIONS
                || *c == SqlState::CANNOT_CONNECT_NOW
        })
        || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if gone {
        DbError::Unavailable(e.to_string())
    } else {
        DbError::Driver(e.to_string())
    }
}

/// The columns in `CustomerRow`'s field order, which is the order Diesel's `as_select()`
/// selects them in.
fn customer_row(r: &Row) -> Result<CustomerRow, tokio_postgres::Error> {
    Ok(CustomerRow {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        email_normalized: r.try_get(2)?,
        firstname: r.try_get(3)?,
        lastname: r.try_get(4)?,
        phone: r.try_get(5)?,
        external_id: r.try_get(6)?,
        meta: r.try_get(7)?,
        created_at: r.try_get(8)?,
        updated_at: r.try_get(9)?,
        password_hash: r.try_get(10)?,
        email_verified_at: r.try_get(11)?,
        failed_logins: r.try_get(12)?,
        failed_window_start: r.try_get(13)?,
        lockouts: r.try_get(14)?,
        locked_until: r.try_get(15)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unencrypted_connections_take_the_async_path() {
        let t = Duration::from_secs(1);
        let sql = String::new;
        assert!(PgReader::new("postgres://u@db/p?sslmode=disable", t, sql()).is_some());
        assert!(PgReader::new("host=/var/run/postgresql user=u dbname=p", t, sql()).is_some());
        // libpq's default (prefer) encrypts when the server can: not downgraded here.
        assert!(PgReader::new("postgres://u@db/p", t, sql()).is_none());
        assert!(PgReader::new("postgres://u@db/p?sslmode=require", t, sql()).is_none());
        assert!(PgReader::new("postgres://u@db/p?sslmode=verify-full", t, sql()).is_none());
        // libpq-only settings, and no user (libpq would take the OS user's name).
        assert!(PgReader::new("postgres://u@db/p?sslmode=disable&sslcert=/x", t, sql()).is_none());
        assert!(PgReader::new("postgres://db/p?sslmode=disable", t, sql()).is_none());
    }
}
