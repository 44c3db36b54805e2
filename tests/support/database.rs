//! A database of one test's own, for every integration test crate (`tests/api`, `tests/cli.rs`,
//! `tests/process.rs`): a fresh SQLite file, or a fresh PostgreSQL schema on the server that
//! `PATRON_TEST_DATABASE_URL` names; removed when the test ends. `on_both_backends!` runs each
//! scenario on both.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use patron::config::DatabaseUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("PATRON_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A database of one test's own, removed when the test ends.
pub struct TestDb {
    pub url: DatabaseUrl,
    /// `url` as `PATRON_DATABASE_URL` takes it.
    env_url: String,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

/// Tells apart the schemas of one process's tests.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let mut db = TestDb::borrowed(DatabaseUrl::Sqlite(dir.path().join("patron.db")));
                db._dir = Some(dir);
                db
            }
            Backend::Postgres => {
                let base = postgres_url().expect(
                    "PATRON_TEST_DATABASE_URL is not set: it names the PostgreSQL server to test on",
                );
                let schema = format!(
                    "patron_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    patron::domain::random::alphanumeric(6).to_lowercase()
                );
                let mut conn = diesel::PgConnection::establish(&base)
                    .unwrap_or_else(|e| panic!("cannot reach PATRON_TEST_DATABASE_URL: {e}"));
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                let mut db = TestDb::borrowed(DatabaseUrl::Postgres(url));
                db.pg_schema = Some((base, schema));
                db
            }
        }
    }

    /// A handle on a database another `TestDb` owns (for a second server on it).
    pub fn borrowed(url: DatabaseUrl) -> TestDb {
        let env_url = match &url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        };
        TestDb {
            url,
            env_url,
            _dir: None,
            pg_schema: None,
        }
    }

    /// The database as `PATRON_DATABASE_URL` names it, for a `patron` process.
    pub fn env_url(&self) -> &str {
        &self.env_url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg_schema.take() {
            if let Ok(mut conn) = diesel::PgConnection::establish(&base) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// Runs each named scenario once on SQLite and once on PostgreSQL. The PostgreSQL variants are
/// compiled as ignored unless `PATRON_TEST_DATABASE_URL` was set at build time (build.rs turns
/// on `patron_pg`), so a run without a server says how many did not run.
///
/// `on_both_backends!(a, b)` calls `async fn a(Backend)` on actix's test runtime (the HTTP
/// tests, which start their server on it); `on_both_backends!(processes: a, b)` calls
/// `async fn a(TestDb)` with a fresh database on a two-thread tokio runtime (the tests that run
/// `patron` processes and wait on them).
#[macro_export]
macro_rules! on_both_backends {
    (@with [$test:meta] $arg:path; $($name:ident),*) => {
        mod sqlite {
            $(
                #[$test]
                async fn $name() {
                    super::$name($arg($crate::database::Backend::Sqlite)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[$test]
                #[cfg_attr(not(patron_pg), ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run")]
                async fn $name() {
                    super::$name($arg($crate::database::Backend::Postgres)).await;
                }
            )*
        }
    };
    (processes: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(
            @with [tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $crate::database::TestDb::new; $($name),*
        );
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@with [actix_web::test] std::convert::identity; $($name),*);
    };
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
