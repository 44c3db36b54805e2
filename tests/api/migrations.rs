//! Migrating a database that an older patron left: each migration step does its part to the
//! rows already there.

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use patron::config::DatabaseUrl;
use patron::db::schema::customers as c;
use patron::db::scope::Scope;
use patron::db::{self, customers, DbConnection};
use patron::domain::customer::Filter;
use patron::domain::StoreId;

use crate::helpers::{Backend, TestDb};

crate::on_both_backends!(rows_from_before_the_fold_are_folded_when_patron_migrates);

/// The migration that added the folded search columns.
const FOLD: &str = "2026-12-01-000007";

/// A customer's id and search columns.
type Folds = (String, Option<String>, Option<String>, Option<String>);

/// Runs the migrations older than `FOLD`, in order, as a database patron left before it.
fn migrate_to_before_fold<DB, C>(conn: &mut C, source: EmbeddedMigrations)
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: MigrationSource<DB>,
{
    // Pending, in order, and the migrations table made.
    let older: Vec<Box<dyn Migration<DB>>> = conn
        .pending_migrations(source)
        .unwrap()
        .into_iter()
        // Diesel shows a version without its dashes.
        .filter(|m| m.name().version().to_string() < FOLD.replace('-', ""))
        .collect();
    assert!(older.len() >= 5, "{} older migrations", older.len());
    for m in &older {
        conn.run_migration(m.as_ref()).unwrap();
    }
}

/// A row stored before the fold is folded by the migration step, and found by a search
/// for any case of its name; a second start has nothing left to do.
fn existing_rows_are_folded(conn: &mut DbConnection) {
    conn.batch_execute(
        "INSERT INTO customers (id, email, email_normalized, firstname, lastname, \
         created_at, updated_at) VALUES \
         ('cstmr_old1', 'ÑÚÑEZ@Example.com', 'ñúñez@example.com', 'Íñigo', NULL, \
          '2026-01-01 00:00:00', '2026-01-01 00:00:00'), \
         ('cstmr_old2', 'anna@example.com', 'anna@example.com', NULL, 'WEISS', \
          '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    )
    .unwrap();
    db::run_migrations(conn).unwrap();
    let folded: Vec<Folds> = c::table
        .select((
            c::id,
            c::email_folded,
            c::firstname_folded,
            c::lastname_folded,
        ))
        .order(c::id)
        .load(conn)
        .unwrap();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        folded,
        [
            (
                "cstmr_old1".into(),
                some("ñúñez@example.com"),
                some("íñigo"),
                None
            ),
            (
                "cstmr_old2".into(),
                some("anna@example.com"),
                None,
                some("weiss")
            ),
        ]
    );
    for (query, expected) in [("ÑÚÑEZ", 1), ("íÑIGO", 1), ("weiß", 1), ("nunez", 0)] {
        let filter = Filter {
            query: Some(query.into()),
            ..Default::default()
        };
        assert_eq!(
            customers::count(conn, Scope::from_column(StoreId::DEFAULT), &filter).unwrap(),
            expected,
            "{query}"
        );
    }
    assert_eq!(customers::backfill_folded(conn).unwrap(), 0);
}

async fn rows_from_before_the_fold_are_folded_when_patron_migrates(backend: Backend) {
    let db = TestDb::new(backend);
    let mut conn = match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            migrate_to_before_fold(&mut conn, db::SQLITE_MIGRATIONS);
            DbConnection::Sqlite(conn)
        }
        DatabaseUrl::Postgres(url) => {
            let mut conn = PgConnection::establish(url).unwrap();
            migrate_to_before_fold(&mut conn, db::POSTGRES_MIGRATIONS);
            DbConnection::Pg(conn)
        }
    };
    existing_rows_are_folded(&mut conn);
}
