//! For tests that run the real `patron` binary: a database of the test's own (a SQLite file or
//! a PostgreSQL schema) and a way to run each scenario on both.

use std::net::TcpListener;

use diesel::connection::SimpleConnection;
use diesel::Connection;

/// A database for one scenario: a SQLite file or a PostgreSQL schema, removed afterwards.
pub struct Database {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Database {
    pub fn sqlite() -> Database {
        let dir = tempfile::tempdir().unwrap();
        Database {
            url: format!("sqlite://{}", dir.path().join("p.db").display()),
            _dir: Some(dir),
            pg: None,
        }
    }

    pub fn postgres() -> Database {
        let base = std::env::var("PATRON_TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .expect(
                "PATRON_TEST_DATABASE_URL is not set: it names the PostgreSQL server to test on",
            );
        let schema = format!(
            "patron_proc_{}_{}",
            std::process::id(),
            patron::domain::random::alphanumeric(8).to_lowercase()
        );
        let mut conn = diesel::PgConnection::establish(&base).expect("PATRON_TEST_DATABASE_URL");
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Database {
            url: format!("{base}{sep}options=-csearch_path%3D{schema}"),
            _dir: None,
            pg: Some((base, schema)),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg.take() {
            if let Ok(mut conn) = diesel::PgConnection::establish(&base) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// Runs each named scenario `fn(Database)` once on SQLite and once on PostgreSQL; the
/// PostgreSQL variants are reported as ignored unless `PATRON_TEST_DATABASE_URL` was set when
/// the tests were built (build.rs turns on `patron_pg`).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Database::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(patron_pg), ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run")]
                async fn $name() {
                    super::$name(super::Database::postgres()).await;
                }
            )*
        }
    };
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
