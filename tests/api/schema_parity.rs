//! The SQLite and PostgreSQL migrations build the same schema: the same tables, the same
//! columns with the same nullability, the same primary keys and B-tree indexes (PostgreSQL's
//! trigram indexes for search have no SQLite counterpart and are left out). A migration
//! written for one dialect only, or a column or index forgotten in one, fails here.

use std::collections::BTreeSet;

use diesel::sql_types::{Bool, Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use patron::db::{DbConnection, DbError};

use crate::helpers::{Backend, TestDb};

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    unique: i32,
    #[diesel(sql_type = Integer)]
    partial: i32,
}

#[derive(QueryableByName)]
struct PgUnique {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Bool)]
    partial: bool,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
}

/// Every fact of the schema as a line: `table`, `table.column NOT NULL`, `table UNIQUE (a, b)`,
/// `table INDEX (a)`.
fn describe(conn: &mut DbConnection) -> diesel::QueryResult<BTreeSet<String>> {
    let mut facts = BTreeSet::new();
    match conn {
        DbConnection::Sqlite(c) => {
            let tables: Vec<Name> = diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
            )
            .load(c)?;
            for t in tables {
                let t = t.name;
                facts.insert(t.clone());
                let columns: Vec<Column> = diesel::sql_query(format!(
                    "SELECT name, (\"notnull\" = 1 OR pk > 0) AS not_null FROM pragma_table_info('{t}')"
                ))
                .load(c)?;
                let mut pk: Vec<Name> = diesel::sql_query(format!(
                    "SELECT name FROM pragma_table_info('{t}') WHERE pk > 0 ORDER BY pk"
                ))
                .load(c)?;
                for col in columns {
                    let null = if col.not_null { " NOT NULL" } else { "" };
                    facts.insert(format!("{t}.{}{null}", col.name));
                }
                if !pk.is_empty() {
                    let cols: Vec<String> = pk.drain(..).map(|n| n.name).collect();
                    facts.insert(format!("{t} UNIQUE ({})", cols.join(", ")));
                }
                let indexes: Vec<SqliteIndex> = diesel::sql_query(format!(
                    "SELECT name, \"unique\" AS \"unique\", partial FROM pragma_index_list('{t}') \
                     WHERE origin <> 'pk'"
                ))
                .load(c)?;
                for index in indexes {
                    let cols: Vec<Name> = diesel::sql_query(format!(
                        "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                        index.name
                    ))
                    .load(c)?;
                    let cols: Vec<String> = cols.into_iter().map(|n| n.name).collect();
                    let partial = if index.partial == 1 { " WHERE ..." } else { "" };
                    let kind = if index.unique == 1 { "UNIQUE" } else { "INDEX" };
                    facts.insert(format!("{t} {kind} ({}){partial}", cols.join(", ")));
                }
            }
        }
        DbConnection::Pg(c) => {
            let tables: Vec<Name> = diesel::sql_query(
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name <> '__diesel_schema_migrations'",
            )
            .load(c)?;
            for t in tables {
                let t = t.name;
                facts.insert(t.clone());
                let columns: Vec<Column> = diesel::sql_query(format!(
                    "SELECT column_name::text AS name, is_nullable = 'NO' AS not_null \
                     FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = '{t}'"
                ))
                .load(c)?;
                for col in columns {
                    let null = if col.not_null { " NOT NULL" } else { "" };
                    facts.insert(format!("{t}.{}{null}", col.name));
                }
            }
            let uniques: Vec<PgUnique> = diesel::sql_query(
                "SELECT t.relname::text AS table_name, \
                        string_agg(a.attname::text, ', ' ORDER BY k.ord) AS columns, \
                        x.indpred IS NOT NULL AS partial, x.indisunique AS is_unique \
                 FROM pg_index x \
                 JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_am am ON am.oid = i.relam \
                 JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE n.nspname = current_schema() AND am.amname = 'btree' \
                   AND t.relname <> '__diesel_schema_migrations' \
                 GROUP BY x.indexrelid, t.relname, x.indpred, x.indisunique",
            )
            .load(c)?;
            for u in uniques {
                let partial = if u.partial { " WHERE ..." } else { "" };
                let kind = if u.is_unique { "UNIQUE" } else { "INDEX" };
                facts.insert(format!("{} {kind} ({}){partial}", u.table_name, u.columns));
            }
        }
    }
    Ok(facts)
}

async fn schema_of(backend: Backend) -> (TestDb, BTreeSet<String>) {
    let db = TestDb::new(backend);
    let handle = patron::db::connect_and_migrate(&db.url, 1, std::time::Duration::from_secs(5))
        .expect("migrates");
    let facts = handle
        .run(|conn| describe(conn).map_err(DbError::from))
        .await
        .expect("schema read");
    (db, facts)
}

#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let (_sqlite_db, sqlite) = schema_of(Backend::Sqlite).await;
    let (_pg_db, postgres) = schema_of(Backend::Postgres).await;
    assert!(
        sqlite.contains("customers.email_normalized NOT NULL")
            && sqlite.iter().any(|f| f.starts_with("outbox UNIQUE")),
        "the SQLite description is complete: {sqlite:#?}"
    );
    let only_sqlite: Vec<&String> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<&String> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the schemas differ:\n  only on SQLite: {only_sqlite:#?}\n  only on PostgreSQL: {only_postgres:#?}"
    );
}
