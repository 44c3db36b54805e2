//! SQLite's counterpart of `pg_async`: the reads of a customer's own requests run on the HTTP
//! worker's thread, on a connection that thread keeps, instead of hopping to the blocking pool.
//!
//! A SQLite read in WAL mode is a library call of a few microseconds that never waits for the
//! writer, so the two thread wake-ups of `Db::run` cost more than the query. A reader can still
//! meet a lock in rare moments (a checkpoint resetting the log, recovery after a crash): its
//! connection waits at most `BUSY_MS`, and then the read goes the usual way, through `Db::run`.
//!
//! These connections are read-only (`PRAGMA query_only`): writes belong in `write_tx` on the
//! pool, and a write made here by mistake fails instead of slipping past the file's writer
//! lock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::connection::SimpleConnection;

use super::{ConnectionManager, DatabaseFailure, DbConnection};

/// How long a worker's read may wait for a SQLite lock before it hands the read to the
/// blocking pool, whose connections wait up to `busy_timeout` (10 s).
const BUSY_MS: u32 = 20;

static NEXT_READER: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's connection per reader (tests run several servers, each on its own file).
    static CONNS: RefCell<HashMap<u64, DbConnection>> = RefCell::new(HashMap::new());
}

#[derive(Clone)]
pub struct SqliteInline {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    manager: ConnectionManager,
}

impl SqliteInline {
    pub fn new(manager: ConnectionManager) -> Self {
        SqliteInline {
            inner: Arc::new(Inner {
                id: NEXT_READER.fetch_add(1, Ordering::Relaxed),
                manager,
            }),
        }
    }

    /// Runs the read `f` on this thread's connection. `None` when it could not: no connection
    /// could be opened, or the read failed in the database (busy, say), in which case the
    /// connection is dropped and the caller reads through the pool.
    pub fn read<T, E, F>(&self, f: &F) -> Option<Result<T, E>>
    where
        F: Fn(&mut DbConnection) -> Result<T, E>,
        E: DatabaseFailure,
    {
        let id = self.inner.id;
        let mut conn = match CONNS.with(|c| c.borrow_mut().remove(&id)) {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = f(&mut conn);
        if result.as_ref().is_err_and(|e| e.database_failure()) {
            return None;
        }
        CONNS.with(|c| c.borrow_mut().insert(id, conn));
        Some(result)
    }

    fn open(&self) -> Option<DbConnection> {
        let mut conn = self.inner.manager.connect_raw().ok()?;
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {BUSY_MS}; PRAGMA query_only = ON"
        ))
        .ok()?;
        Some(conn)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    use std::time::Duration;

    use crate::config::DatabaseUrl;
    use crate::db::{connect_and_migrate, DbError};

    use super::*;

    #[tokio::test]
    async fn reads_run_here_and_fall_back_to_the_pool_after_a_database_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("inline.db"));
        let db = connect_and_migrate(&url, 2, Duration::from_secs(5)).unwrap();
        let here = std::thread::current().id();

        let ran_on = db
            .read(|conn| {
                conn.batch_execute("SELECT count(*) FROM customers")
                    .map_err(DbError::from)?;
                Ok::<_, DbError>(std::thread::current().id())
            })
            .await
            .unwrap();
        assert_eq!(ran_on, here, "a read runs on the calling thread");

        // The first attempt fails in the database (as a read meeting a lock would); the read
        // is then made again through the pool, on a blocking thread.
        let threads = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (t, a) = (threads.clone(), attempts.clone());
        let outcome = db
            .read(move |conn| {
                t.lock().unwrap().push(std::thread::current().id());
                if a.fetch_add(1, Ordering::SeqCst) == 0 {
                    conn.batch_execute("SELECT * FROM no_such_table")
                        .map_err(DbError::from)?;
                }
                Ok::<_, DbError>("read")
            })
            .await;
        assert_eq!(outcome.unwrap(), "read");
        let threads = threads.lock().unwrap().clone();
        assert_eq!(threads.len(), 2, "tried here, then through the pool");
        assert_eq!(threads[0], here);
        assert_ne!(threads[1], here);

        // A rule's error (not the database's) is the answer: no second attempt.
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let refused = db
            .read(move |_| {
                a.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(DbError::UniqueViolation("taken".into()))
            })
            .await;
        assert!(matches!(refused, Err(DbError::UniqueViolation(_))));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    /// A read that writes by mistake is refused on the worker's connection and again on the
    /// pool's, and changes nothing; the pool's connection is writable again afterwards and
    /// reads still work.
    #[tokio::test]
    async fn a_write_inside_a_read_is_refused_on_both_connections() {
        use crate::db::api_keys::{self, ApiKeyRow};

        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("readonly.db"));
        // One pooled connection: the write below reuses the one the read fell back to.
        let db = connect_and_migrate(&url, 1, Duration::from_secs(5)).unwrap();
        let here = std::thread::current().id();
        let row = ApiKeyRow {
            id: "key_readonly".into(),
            kind: "secret".into(),
            key_prefix: "sk_readon".into(),
            key_hash: "ab".into(),
            created_at: crate::db::now(),
            revoked_at: None,
            store_id: crate::domain::StoreId::DEFAULT.into(),
        };
        let count = |db: &crate::db::Db| {
            let db = db.clone();
            async move {
                db.read(|conn| {
                    api_keys::count_all(conn, crate::db::scope::Scope::DEFAULT)
                        .map_err(DbError::from)
                })
                .await
                .unwrap()
            }
        };
        assert_eq!(count(&db).await, 0, "a read works");

        let threads = Arc::new(Mutex::new(Vec::new()));
        let (t, r) = (threads.clone(), row.clone());
        let refused = db
            .read(move |conn| {
                t.lock().unwrap().push(std::thread::current().id());
                api_keys::insert(conn, &r).map_err(DbError::from)
            })
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("readonly"), "{refused}");
        let threads = threads.lock().unwrap().clone();
        assert_eq!(threads.len(), 2, "refused here, then through the pool");
        assert_eq!(threads[0], here);
        assert_ne!(threads[1], here);
        assert_eq!(count(&db).await, 0, "nothing was written");

        db.run(move |conn| api_keys::insert(conn, &row).map_err(DbError::from))
            .await
            .expect("the pool's connection takes writes again");
        assert_eq!(count(&db).await, 1);
    }

    /// A read that panics on the pool's connection leaves it writable.
    #[tokio::test]
    async fn a_read_that_panics_leaves_the_pool_writable() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("panic.db"));
        let db = connect_and_migrate(&url, 1, Duration::from_secs(5)).unwrap();
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let panicked = db
            .read(move |conn| {
                if a.fetch_add(1, Ordering::SeqCst) == 0 {
                    // Sends the read to the pool, as a lock met here would.
                    conn.batch_execute("SELECT * FROM no_such_table")
                        .map_err(DbError::from)?;
                }
                panic!("a bug in a read");
            })
            .await;
        assert!(
            matches!(panicked, Err::<(), _>(DbError::Task(_))),
            "{panicked:?}"
        );
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        db.run(|conn| {
            conn.batch_execute("CREATE TABLE after_the_panic (x INTEGER)")
                .map_err(DbError::from)
        })
        .await
        .expect("the pool's connection takes writes");
    }
}
