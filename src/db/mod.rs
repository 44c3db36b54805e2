//! The database: one Diesel connection type over SQLite and PostgreSQL, an r2d2 pool, embedded
//! migrations, and the bridge that runs blocking Diesel work off the async threads.
//!
//! Lookups by a primary key end in `get_result`, not `first`: `first` sends `LIMIT` as a bound
//! parameter, and SQLite re-prepares a statement whose `LIMIT` is rebound (a quarter of the CPU
//! of a SQLite profile read went there). Lookups by any other unique key load every match and
//! go through [`at_most_one`], so that two rows (a uniqueness the schema no longer guarantees,
//! such as an email unique per store only) are an error, never a silent pick of one.

pub mod api_keys;
pub mod audit;
pub mod customers;
pub mod login_throttle;
pub mod orders;
pub mod outbox;
pub mod pg_async;
pub mod rate_limits;
pub mod schema;
pub mod scope;
pub mod sessions;
pub mod signing_keys;
pub mod sqlite_inline;
pub mod stores;
pub mod tokens;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;

/// The migrations of each dialect (public for the tests that migrate a database step by step).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises migrations of replicas that start at the same time on one PostgreSQL.
const MIGRATION_LOCK_ID: i64 = 0x7061_7472_6f6e; // "patron"

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// What went wrong below the service layer. Services wrap it; the HTTP layer maps
/// `Unavailable` to 503 and everything else to a 500 that never shows the cause.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    #[error("query failed: {0}")]
    Query(DieselError),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("query failed: {0}")]
    Driver(String),
}

/// What `Db::run` needs to know of a failed unit of work: whether it failed in the database,
/// where the connection may have died, or on a business rule (a 404, an invalid token), which
/// needs no check of the connection.
pub trait DatabaseFailure {
    fn database_failure(&self) -> bool;
}

impl DatabaseFailure for DbError {
    /// A unique violation was decided by a healthy database; anything else may be the
    /// connection.
    fn database_failure(&self) -> bool {
        !matches!(self, DbError::UniqueViolation(_))
    }
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::UniqueViolation(info.message().to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => DbError::Unavailable(info.message().to_owned()),
            other => DbError::Query(other),
        }
    }
}

/// Hand-written SQL with `$n` placeholders, in the connection's dialect (`?n` on SQLite), for
/// the few statements Diesel's builder cannot express (upserts that return the new count).
pub fn dialect(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Pg(_) => sql.to_owned(),
        DbConnection::Sqlite(_) => sql.replace('$', "?"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `reason` is the driver's message with the URL's credentials taken out.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot prepare a connection to {url}: {source}")]
    Setup { url: String, source: DieselError },
}

/// Chooses the backend from the URL scheme, so a connection error is reported as it is
/// instead of Diesel's generic "invalid connection url for multiconnection".
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
    }
}

/// A pooled connection, plus whether it was found dead after an error, so the pool drops it
/// instead of handing it out again after a database restart.
pub struct PoolConn {
    conn: DbConnection,
    broken: bool,
}

impl ManageConnection for ConnectionManager {
    type Connection = PoolConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<PoolConn, ConnectError> {
        self.connect_raw().map(|conn| PoolConn {
            conn,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnectError> {
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(|source| ConnectError::Setup {
                url: self.url.to_string(),
                source,
            })
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.broken
    }
}

impl ConnectionManager {
    /// One connection, outside any pool (startup, migrations, CLI).
    pub fn connect_raw(&self) -> Result<DbConnection, ConnectError> {
        let shown = self.url.to_string();
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(|e| ConnectError::Connect {
                        url: shown.clone(),
                        reason: e.to_string(),
                    })?;
                // WAL lets readers run beside the one writer; busy_timeout makes writers queue
                // instead of failing at once. It comes first: switching to WAL takes a lock,
                // and without the timeout a connection opened while another holds it failed
                // at once (a reader's own connection, opened beside the pool's).
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(|source| ConnectError::Setup { url: shown, source })?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(|e| ConnectError::Connect {
                    url: shown,
                    reason: self.url.scrub(&e.to_string()),
                }),
        }
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// Connects once (reporting the real error), migrates, then builds the pool.
pub fn connect_and_migrate(
    url: &DatabaseUrl,
    pool_size: u32,
    timeout: Duration,
) -> Result<Db, StartupDbError> {
    connect_and_migrate_keeping(url, pool_size, 1, timeout)
}

/// [`connect_and_migrate`] for a command that runs and exits (`patron keys ...`): the pool
/// keeps no idle connection, so no background thread is still opening one when the process
/// exits (libpq's TLS library tearing down under a connecting thread crashed the exit about
/// one run in five).
pub fn connect_and_migrate_for_command(
    url: &DatabaseUrl,
    timeout: Duration,
) -> Result<Db, StartupDbError> {
    connect_and_migrate_keeping(url, 2, 0, timeout)
}

fn connect_and_migrate_keeping(
    url: &DatabaseUrl,
    pool_size: u32,
    min_idle: u32,
    timeout: Duration,
) -> Result<Db, StartupDbError> {
    let manager = ConnectionManager::new(url.clone());
    let mut conn = manager.connect_raw()?;
    run_migrations(&mut conn)?;
    drop(conn);
    let permits = Arc::new(tokio::sync::Semaphore::new(pool_size as usize));
    let pool = r2d2::Pool::builder()
        .max_size(pool_size)
        .min_idle(Some(min_idle))
        .connection_timeout(timeout)
        .test_on_check_out(false)
        .build_unchecked(manager);
    let (pg_async, sqlite_inline, writer) = match url {
        DatabaseUrl::Postgres(url) => (pg_async::PgReader::new(url, timeout), None, None),
        DatabaseUrl::Sqlite(path) => (
            None,
            Some(sqlite_inline::SqliteInline::new(ConnectionManager::new(
                url.clone(),
            ))),
            Some(sqlite_writer(path)),
        ),
    };
    Ok(Db {
        pool,
        permits,
        wait: timeout,
        pg_async,
        sqlite_inline,
        writer,
    })
}

/// The write lock of one SQLite file, shared by every `Db` of this process on that file.
type WriterLock = Arc<Mutex<()>>;

/// The write locks handed out, by file. Weak, so a file whose every `Db` is gone lets its
/// lock go.
static SQLITE_WRITERS: Mutex<Vec<(PathBuf, Weak<Mutex<()>>)>> = Mutex::new(Vec::new());

/// The write lock of the SQLite file at `path` (which exists: it was just migrated). A path
/// that cannot be resolved (`:memory:`, each connection its own database) gets a lock of its
/// own.
fn sqlite_writer(path: &std::path::Path) -> WriterLock {
    let Ok(file) = std::fs::canonicalize(path) else {
        return WriterLock::default();
    };
    let mut writers = SQLITE_WRITERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    writers.retain(|(_, lock)| lock.strong_count() > 0);
    if let Some(lock) = writers
        .iter()
        .find(|(known, _)| *known == file)
        .and_then(|(_, lock)| lock.upgrade())
    {
        return lock;
    }
    let lock = WriterLock::default();
    writers.push((file, Arc::downgrade(&lock)));
    lock
}

thread_local! {
    /// The write lock of the database whose pooled connection this thread holds, for
    /// `write_tx`, which is given only the connection. Set by `Db::run` for the length of
    /// its unit of work.
    static CURRENT_WRITER: RefCell<Option<WriterLock>> = const { RefCell::new(None) };
}

/// Makes `lock` this thread's `CURRENT_WRITER` until dropped (also when the work panics).
struct WriterScope;

impl WriterScope {
    fn enter(lock: Option<WriterLock>) -> Self {
        CURRENT_WRITER.with(|w| *w.borrow_mut() = lock);
        WriterScope
    }
}

impl Drop for WriterScope {
    fn drop(&mut self) {
        CURRENT_WRITER.with(|w| w.borrow_mut().take());
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupDbError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("migrations failed: {0}")]
    Migrate(String),
}

fn migrate_fail(e: &dyn std::fmt::Display) -> StartupDbError {
    StartupDbError::Migrate(e.to_string())
}

/// Brings the schema up to date, then fills what SQL cannot compute (see
/// `customers::backfill_folded`).
pub fn run_migrations(conn: &mut DbConnection) -> Result<(), StartupDbError> {
    match conn {
        DbConnection::Sqlite(_) => migrate_and_backfill(conn),
        DbConnection::Pg(_) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))
                .map_err(|e| migrate_fail(&e))?;
            let result = migrate_and_backfill(conn);
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))
                .map_err(|e| migrate_fail(&e))?;
            result
        }
    }
}

fn migrate_and_backfill(conn: &mut DbConnection) -> Result<(), StartupDbError> {
    match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| migrate_fail(&e))?;
    let folded = customers::backfill_folded(conn).map_err(|e| migrate_fail(&e))?;
    if folded > 0 {
        tracing::info!(
            customers = folded,
            "search columns folded for existing customers"
        );
    }
    Ok(())
}

/// The pool, plus the one way to use it from async code.
///
/// Requests queue for a connection on a fair (first come, first served) semaphore with one
/// permit per pooled connection, before they take a blocking thread: r2d2 wakes its waiters in
/// no particular order, which gave the slowest requests ten times the median wait, and every
/// waiter held a thread (and its malloc arena) while it slept.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    permits: Arc<tokio::sync::Semaphore>,
    wait: Duration,
    /// PostgreSQL only, where tokio-postgres reads the URL as libpq does: see `pg_async`.
    pg_async: Option<pg_async::PgReader>,
    /// SQLite only: see `sqlite_inline`.
    sqlite_inline: Option<sqlite_inline::SqliteInline>,
    /// SQLite only: this file's writers, one at a time (see `write_tx`).
    writer: Option<WriterLock>,
}

impl Db {
    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + DatabaseFailure + Send + 'static,
    {
        self.run_pooled(move |pooled| f(&mut pooled.conn)).await
    }

    /// `run`, with the pooled connection itself, so `f` can mark it broken.
    async fn run_pooled<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PoolConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + DatabaseFailure + Send + 'static,
    {
        // One deadline for the whole wait (the queue, then r2d2 connecting), so a request never
        // waits longer than PATRON_DATABASE_TIMEOUT for a connection.
        let deadline = tokio::time::Instant::now() + self.wait;
        let timed_out = || DbError::Unavailable("timed out waiting for a connection".into());
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        let pool = self.pool.clone();
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(timed_out().into());
            }
            let mut pooled = pool
                .get_timeout(left)
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            let result = {
                let _writer = WriterScope::enter(writer);
                f(&mut pooled)
            };
            if result.as_ref().is_err_and(|e| e.database_failure()) {
                if let Err(e) = pooled.conn.batch_execute("SELECT 1") {
                    // The failure was the connection, not the query: say so (503), and keep
                    // this connection out of the pool.
                    pooled.broken = true;
                    return Err(DbError::Unavailable(e.to_string()).into());
                }
            }
            result
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// A read on a customer's own request, on SQLite run on the calling thread (see
    /// `sqlite_inline`), elsewhere as `run` does. Only for short reads by a unique key or a
    /// small page: the thread it runs on serves other requests meanwhile.
    ///
    /// On SQLite `f` cannot write: both its connections refuse (`PRAGMA query_only`), so a
    /// write slipped into a read fails instead of committing outside `write_tx`.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: Fn(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + DatabaseFailure + Send + 'static,
    {
        let Some(inline) = &self.sqlite_inline else {
            return self.run(f).await;
        };
        if let Some(result) = inline.read(&f) {
            return result;
        }
        self.run_pooled(move |pooled| read_only(pooled, f)).await
    }

    /// The asynchronous path for a customer's reads, where there is one.
    pub fn pg_async(&self) -> Option<&pg_async::PgReader> {
        self.pg_async.as_ref()
    }

    /// Connects the asynchronous path once; if it cannot connect where Diesel could (a
    /// setting only libpq knows), every query stays on Diesel.
    pub async fn check_pg_async(&mut self) {
        if let Some(reader) = &self.pg_async {
            match reader.check().await {
                Ok(encrypted) => tracing::info!(
                    tls = encrypted,
                    "customer reads use an asynchronous PostgreSQL connection per HTTP worker"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "the asynchronous PostgreSQL path cannot connect; using Diesel's connections for everything");
                    self.pg_async = None;
                }
            }
        }
    }

    /// True when a connection can be had and answers.
    pub async fn ping(&self) -> bool {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from))
            .await
            .is_ok()
    }
}

/// Runs the read `f` on a pooled SQLite connection made read-only for its length. The
/// connection goes back to the pool writable (also when `f` panics), or not at all.
fn read_only<T, E, F>(pooled: &mut PoolConn, f: F) -> Result<T, E>
where
    F: Fn(&mut DbConnection) -> Result<T, E>,
    E: From<DbError>,
{
    let conn = &mut pooled.conn;
    conn.batch_execute("PRAGMA query_only = ON")
        .map_err(DbError::from)?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    // Not seen failing (the connection would have to die in between); if it does, the pool
    // must not hand out a connection that refuses writes.
    if conn.batch_execute("PRAGMA query_only = OFF").is_err() {
        pooled.broken = true;
    }
    outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `f` in a write transaction. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes can fail at once with
/// SQLITE_BUSY instead of waiting for the other writer.
///
/// On a connection of a `Db` (inside `Db::run`), SQLite writers of the file also take turns on
/// the file's lock in this process first. SQLite has one write lock per file, and a writer
/// that finds it taken sleeps in `busy_timeout`'s backoff steps (up to 100 ms each), so under
/// load the unlucky ones waited 0.2–0.6 s while the lock sat free; queued on a mutex they take
/// turns as soon as the previous one commits. Writers of other files do not queue behind them;
/// other processes on the same file, and connections outside any `Db` (migrations), meet
/// `busy_timeout` only. Write transactions never nest, so this cannot deadlock.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    match conn {
        DbConnection::Pg(_) => conn.transaction(f),
        DbConnection::Sqlite(_) => {
            let lock = CURRENT_WRITER.with(|w| w.borrow().clone());
            // A panic while holding it poisons nothing we rely on: the transaction was rolled
            // back below before the panic went on.
            let _writer = lock
                .as_deref()
                .map(|l| l.lock().unwrap_or_else(PoisonError::into_inner));
            conn.batch_execute("BEGIN IMMEDIATE")?;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
            match outcome {
                Ok(Ok(value)) => match conn.batch_execute("COMMIT") {
                    Ok(()) => Ok(value),
                    Err(e) => {
                        let _ = conn.batch_execute("ROLLBACK");
                        Err(e.into())
                    }
                },
                Ok(Err(e)) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e)
                }
                Err(panic) => {
                    // Never hand a connection with an open transaction back to the pool.
                    let _ = conn.batch_execute("ROLLBACK");
                    std::panic::resume_unwind(panic)
                }
            }
        }
    }
}

/// Two rows where a unique key was looked up.
#[derive(Debug, thiserror::Error)]
#[error("a lookup by a unique key ({key}) found {rows} rows")]
pub struct NotUnique {
    pub key: &'static str,
    pub rows: usize,
}

/// The one row of a lookup by a unique `key`, if any; more than one is an error.
pub fn at_most_one<T>(key: &'static str, mut rows: Vec<T>) -> diesel::QueryResult<Option<T>> {
    match rows.len() {
        0 | 1 => Ok(rows.pop()),
        n => Err(DieselError::DeserializationError(Box::new(NotUnique {
            key,
            rows: n,
        }))),
    }
}

/// The system's time as patron stores it (see [`crate::clock::Clock::now`]), for tools and
/// test fixtures. The server decides with the `Clock` it was given, which a test can move:
/// code serving requests must not call this.
pub fn now() -> chrono::NaiveDateTime {
    crate::clock::Clock::system().now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_lookup_refuses_two_rows() {
        assert_eq!(at_most_one("k", Vec::<u8>::new()).unwrap(), None);
        assert_eq!(at_most_one("k", vec![7u8]).unwrap(), Some(7));
        let err = at_most_one("customers.email_normalized", vec![1u8, 2]).unwrap_err();
        assert!(
            err.to_string().contains("customers.email_normalized")
                && err.to_string().contains("2 rows"),
            "{err}"
        );
    }

    /// A write transaction that runs `inside` while it holds the file's write lock.
    async fn in_write_tx<T: Send + 'static>(
        db: &Db,
        inside: impl FnOnce() -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        db.run(move |conn| write_tx(conn, |_| inside())).await
    }

    /// Writers of two files hold their locks at once: each write transaction waits inside
    /// for the other to be inside too (a lock shared by both would leave one waiting outside
    /// until the other gave up).
    #[tokio::test]
    async fn sqlite_writers_of_two_files_do_not_queue_behind_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| {
            let url = DatabaseUrl::Sqlite(dir.path().join(name));
            connect_and_migrate(&url, 2, Duration::from_secs(5)).unwrap()
        };
        let (a, b) = (open("a.db"), open("b.db"));
        let meet = |tell: std::sync::mpsc::Sender<()>, wait: std::sync::mpsc::Receiver<()>| {
            move || {
                tell.send(()).unwrap();
                wait.recv_timeout(Duration::from_secs(10))
                    .map_err(|_| DbError::Task("the other file's writer never got in".into()))
            }
        };
        let (to_a, from_b) = std::sync::mpsc::channel();
        let (to_b, from_a) = std::sync::mpsc::channel();
        let (in_a, in_b) = tokio::join!(
            in_write_tx(&a, meet(to_b, from_b)),
            in_write_tx(&b, meet(to_a, from_a)),
        );
        in_a.unwrap();
        in_b.unwrap();
    }

    /// While a write transaction runs, its file's lock is taken for every handle on that file
    /// (a clone of the `Db`, another `Db` opened on the same file) and free for another file.
    #[tokio::test]
    async fn sqlite_writers_of_one_file_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| {
            let url = DatabaseUrl::Sqlite(dir.path().join(name));
            connect_and_migrate(&url, 2, Duration::from_secs(5)).unwrap()
        };
        let (a, same_file, other_file) = (open("a.db"), open("a.db"), open("b.db"));
        let handles = [a.clone(), same_file, other_file];
        let taken = move || {
            handles
                .iter()
                .map(|db| db.writer.as_ref().unwrap().try_lock().is_err())
                .collect::<Vec<_>>()
        };
        assert_eq!(taken(), [false, false, false], "no writer yet");
        let taken_inside = in_write_tx(&a, move || Ok(taken())).await.unwrap();
        assert_eq!(taken_inside, [true, true, false]);
    }

    /// A file whose every `Db` is gone leaves no lock behind: not in the registry, not on
    /// the blocking thread that wrote last.
    #[tokio::test]
    async fn a_closed_sqlite_file_lets_its_writer_lock_go() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| {
            let url = DatabaseUrl::Sqlite(dir.path().join(name));
            connect_and_migrate(&url, 1, Duration::from_secs(5)).unwrap()
        };
        let gone = open("gone.db");
        in_write_tx(&gone, || Ok(())).await.unwrap();
        let file = std::fs::canonicalize(dir.path().join("gone.db")).unwrap();
        drop(gone);
        let _other = open("other.db");
        let writers = SQLITE_WRITERS.lock().unwrap();
        assert!(
            !writers.iter().any(|(known, _)| *known == file),
            "the closed file's lock is still held"
        );
    }
}
