//! Queries on `customers`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::customers;
use super::scope::Scope;
use super::DbConnection;
use crate::domain::customer::{Customer, Meta};
pub use crate::domain::customer::{Filter, SortColumn};
use crate::domain::fold::fold;
use crate::domain::CustomerId;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = customers)]
pub struct CustomerRow {
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub meta: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub password_hash: Option<String>,
    pub email_verified_at: Option<NaiveDateTime>,
    pub store_id: String,
}

/// The customer a row stores; the one place a stored customer becomes the domain's.
impl From<CustomerRow> for Customer {
    fn from(row: CustomerRow) -> Self {
        Customer {
            id: CustomerId::from_trusted(row.id),
            email: row.email,
            firstname: row.firstname,
            lastname: row.lastname,
            phone: row.phone,
            external_id: row.external_id,
            meta: Meta::from_db(row.meta.as_deref()),
            has_password: row.password_hash.is_some(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl CustomerRow {
    /// A new, unlocked customer row.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Scope<'_>,
        id: String,
        email: &crate::domain::Email,
        firstname: Option<String>,
        lastname: Option<String>,
        phone: Option<String>,
        external_id: Option<String>,
        meta: Option<String>,
        password_hash: Option<String>,
        verified: bool,
        now: NaiveDateTime,
    ) -> Self {
        CustomerRow {
            id,
            email: email.as_str().to_owned(),
            email_normalized: email.normalized().to_owned(),
            firstname,
            lastname,
            phone,
            external_id,
            meta,
            created_at: now,
            updated_at: now,
            password_hash,
            email_verified_at: verified.then_some(now),
            store_id: store.id().to_owned(),
        }
    }
}

impl CustomerRow {
    /// A row read by `pg_async` (from the SQL Diesel builds for the same query), decoded by
    /// column name, so that a column added or moved in the query cannot shift the others.
    pub fn from_pg(r: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(CustomerRow {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            email_normalized: r.try_get("email_normalized")?,
            firstname: r.try_get("firstname")?,
            lastname: r.try_get("lastname")?,
            phone: r.try_get("phone")?,
            external_id: r.try_get("external_id")?,
            meta: r.try_get("meta")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            password_hash: r.try_get("password_hash")?,
            email_verified_at: r.try_get("email_verified_at")?,
            store_id: r.try_get("store_id")?,
        })
    }
}

/// A partial update: `None` leaves a column alone, `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = customers)]
pub struct CustomerChanges {
    pub email: Option<String>,
    pub email_normalized: Option<String>,
    pub firstname: Option<Option<String>>,
    pub lastname: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub meta: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
    pub password_hash: Option<Option<String>>,
    pub email_verified_at: Option<Option<NaiveDateTime>>,
}

/// The search columns (`domain::fold`) of a row or of a change. They are written here, with
/// the text they fold, and never by callers, so no write can leave them stale. They are not in
/// `CustomerRow`: nothing reads them back.
#[derive(Debug, Default, Insertable, AsChangeset)]
#[diesel(table_name = customers)]
struct Folded {
    email_folded: Option<String>,
    firstname_folded: Option<Option<String>>,
    lastname_folded: Option<Option<String>>,
}

impl Folded {
    fn of(
        email: Option<&str>,
        firstname: Option<Option<&str>>,
        lastname: Option<Option<&str>>,
    ) -> Self {
        Folded {
            email_folded: email.map(fold),
            firstname_folded: firstname.map(|f| f.map(fold)),
            lastname_folded: lastname.map(|l| l.map(fold)),
        }
    }

    fn of_row(row: &CustomerRow) -> Self {
        Self::of(
            Some(&row.email),
            Some(row.firstname.as_deref()),
            Some(row.lastname.as_deref()),
        )
    }

    fn of_changes(changes: &CustomerChanges) -> Self {
        Self::of(
            changes.email.as_deref(),
            changes.firstname.as_ref().map(Option::as_deref),
            changes.lastname.as_ref().map(Option::as_deref),
        )
    }
}

pub fn insert(conn: &mut DbConnection, row: &CustomerRow) -> QueryResult<()> {
    diesel::insert_into(customers::table)
        .values((row, Folded::of_row(row)))
        .execute(conn)
        .map(|_| ())
}

pub fn find(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    id: &str,
) -> QueryResult<Option<CustomerRow>> {
    scope
        .customers()
        .filter(customers::id.eq(id))
        .select(CustomerRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_email(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    email_normalized: &str,
) -> QueryResult<Option<CustomerRow>> {
    let rows = scope
        .customers()
        .filter(customers::email_normalized.eq(email_normalized))
        .select(CustomerRow::as_select())
        .load(conn)?;
    super::at_most_one("customers.email_normalized", rows)
}

/// Applies the changes; returns false when no such customer exists.
pub fn update(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    id: &str,
    changes: &CustomerChanges,
) -> QueryResult<bool> {
    diesel::update(scope.customers().filter(customers::id.eq(id)))
        .set((changes, Folded::of_changes(changes)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Rows processed per transaction by `backfill_folded`.
const BACKFILL_BATCH: i64 = 500;

/// Folds the search columns of every customer that has none: all customers when the migration
/// that added the columns has just run (SQL cannot fold as `domain::fold` does: SQLite's
/// `lower()` knows only ASCII), and any row written without them since (a row inserted by an
/// older patron during a rolling upgrade, or by hand). Runs with the migrations, at every start;
/// with nothing to do it costs one query on a partial index that is empty. Returns how many rows it folded.
pub fn backfill_folded(conn: &mut DbConnection) -> QueryResult<usize> {
    let mut done = 0;
    loop {
        let batch: Vec<(String, String, Option<String>, Option<String>)> = customers::table
            .filter(customers::email_folded.is_null())
            .select((
                customers::id,
                customers::email,
                customers::firstname,
                customers::lastname,
            ))
            .order(customers::id)
            .limit(BACKFILL_BATCH)
            .load(conn)?;
        if batch.is_empty() {
            return Ok(done);
        }
        super::write_tx(conn, |conn| {
            for (id, email, firstname, lastname) in &batch {
                // Only a row still unfolded: one updated meanwhile has its folds already.
                diesel::update(
                    customers::table
                        .find(id)
                        .filter(customers::email_folded.is_null()),
                )
                .set(Folded::of(
                    Some(email),
                    Some(firstname.as_deref()),
                    Some(lastname.as_deref()),
                ))
                .execute(conn)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        done += batch.len();
    }
}

pub fn delete(conn: &mut DbConnection, scope: Scope<'_>, id: &str) -> QueryResult<bool> {
    diesel::delete(scope.customers().filter(customers::id.eq(id)))
        .execute(conn)
        .map(|n| n > 0)
}

/// The search condition. On PostgreSQL each of its three LIKEs is served by a trigram index on
/// the same column (migrations/postgres/*_unicode_fold), which the column, and not an
/// expression over it, must stay for that index to apply.
macro_rules! search_matches {
    ($pattern:expr) => {{
        let pattern: String = $pattern;
        customers::email_folded
            .like(pattern.clone())
            .escape('\\')
            .or(customers::firstname_folded
                .like(pattern.clone())
                .escape('\\'))
            .or(customers::lastname_folded.like(pattern).escape('\\'))
    }};
}

type Boxed<'a> = customers::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend>;

fn filtered<'a>(scope: Scope<'a>, filter: &'a Filter) -> Boxed<'a> {
    let mut q = scope.customers().into_boxed();
    if let Some(email) = &filter.email_normalized {
        q = q.filter(customers::email_normalized.eq(email));
    }
    if let Some(external_id) = &filter.external_id {
        q = q.filter(customers::external_id.eq(external_id));
    }
    if let Some(query) = &filter.query {
        q = q.filter(search_matches!(search_pattern(query)));
    }
    q
}

/// `query` as the LIKE pattern over the folded columns: folded, its wildcards escaped,
/// anywhere in the text.
pub fn search_pattern(query: &str) -> String {
    format!("%{}%", escape_like(&fold(query)))
}

/// A search's count as PostgreSQL receives it, with the text of each parameter for a search
/// for `query` (the pattern, then LIKE's escape character, for each column): for checking with
/// EXPLAIN that the trigram indexes serve the query patron sends (tests/api/listing.rs).
pub fn search_count_statement(scope: Scope<'_>, query: &str) -> (String, Vec<String>) {
    let pattern = search_pattern(query);
    // The statement `count` sends for a search: `filtered` with only a query.
    let sql = super::pg_async::sql_text(
        &scope
            .customers()
            .filter(search_matches!(pattern.clone()))
            .count(),
    );
    let params = [scope.id(), &pattern, "\\", &pattern, "\\", &pattern, "\\"];
    (sql, params.map(str::to_owned).into())
}

/// Escapes LIKE's wildcards so a search for `50%_off` means those characters.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn count(conn: &mut DbConnection, scope: Scope<'_>, filter: &Filter) -> QueryResult<i64> {
    filtered(scope, filter).count().get_result(conn)
}

pub fn page(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    filter: &Filter,
    sort: SortColumn,
    descending: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<CustomerRow>> {
    let q = filtered(scope, filter);
    // The id breaks ties, so pages never overlap or skip rows that share a sort value.
    let q = match (sort, descending) {
        (SortColumn::CreatedAt, false) => {
            q.order((customers::created_at.asc(), customers::id.asc()))
        }
        (SortColumn::CreatedAt, true) => {
            q.order((customers::created_at.desc(), customers::id.desc()))
        }
        (SortColumn::UpdatedAt, false) => {
            q.order((customers::updated_at.asc(), customers::id.asc()))
        }
        (SortColumn::UpdatedAt, true) => {
            q.order((customers::updated_at.desc(), customers::id.desc()))
        }
        (SortColumn::Email, false) => {
            q.order((customers::email_normalized.asc(), customers::id.asc()))
        }
        (SortColumn::Email, true) => {
            q.order((customers::email_normalized.desc(), customers::id.desc()))
        }
        // Names sort by their folds, ignoring case on both databases (SQLite compared the
        // bytes, so `Zoe` came before `adam`), and a customer without one sorts as if after
        // every name, as PostgreSQL places NULL (SQLite placed it first).
        (SortColumn::Firstname, false) => q.order((
            customers::firstname_folded.is_null().asc(),
            customers::firstname_folded.asc(),
            customers::id.asc(),
        )),
        (SortColumn::Firstname, true) => q.order((
            customers::firstname_folded.is_null().desc(),
            customers::firstname_folded.desc(),
            customers::id.desc(),
        )),
        (SortColumn::Lastname, false) => q.order((
            customers::lastname_folded.is_null().asc(),
            customers::lastname_folded.asc(),
            customers::id.asc(),
        )),
        (SortColumn::Lastname, true) => q.order((
            customers::lastname_folded.is_null().desc(),
            customers::lastname_folded.desc(),
            customers::id.desc(),
        )),
    };
    q.limit(limit)
        .offset(offset)
        .select(CustomerRow::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn a_search_is_folded_then_escaped() {
        assert_eq!(search_pattern("ÚÑE"), "%úñe%");
        assert_eq!(search_pattern("Straße_"), r"%strasse\_%");
    }

    /// The columns the trigram indexes are on, bare: an expression over them (`lower(..)`)
    /// would not be served by those indexes. And the parameters said to go with the SQL are
    /// the ones Diesel binds.
    #[test]
    fn the_search_compares_the_folded_columns_themselves() {
        let store = crate::domain::StoreId::default_store();
        let (sql, params) = search_count_statement(Scope::new(&store), "Law");
        for column in ["email_folded", "firstname_folded", "lastname_folded"] {
            assert!(
                sql.contains(&format!("\"customers\".\"{column}\" LIKE $")),
                "{sql}"
            );
        }
        assert!(!sql.to_lowercase().contains("lower("), "{sql}");
        assert!(sql.contains("$7") && !sql.contains("$8"), "{sql}");
        assert!(sql.contains("\"customers\".\"store_id\" = $1"), "{sql}");
        let shown = diesel::debug_query::<diesel::pg::Pg, _>(
            &Scope::new(&store)
                .customers()
                .filter(search_matches!(search_pattern("Law")))
                .count(),
        )
        .to_string();
        let (_, binds) = shown.split_once(" -- binds: ").expect("binds shown");
        let ours: Vec<String> = params.iter().map(|p| format!("{p:?}")).collect();
        assert_eq!(binds, format!("[{}]", ours.join(", ")));
        assert_eq!(params[1], "%law%");
    }
}
