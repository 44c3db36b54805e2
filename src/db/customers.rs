//! Queries on `customers`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::schema::customers;
use super::DbConnection;

diesel::define_sql_function! {
    /// SQL `lower()`; both backends have it.
    #[sql_name = "lower"]
    fn lower_nullable(x: Nullable<Text>) -> Nullable<Text>;
}

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
}

impl CustomerRow {
    /// A new, unlocked customer row.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
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
        }
    }
}

impl CustomerRow {
    /// A row read by `pg_async`, whose statements select the columns in this struct's field
    /// order, as Diesel's `as_select()` does.
    pub fn from_pg(r: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
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

pub fn insert(conn: &mut DbConnection, row: &CustomerRow) -> QueryResult<()> {
    diesel::insert_into(customers::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .find(id)
        .select(CustomerRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_email(
    conn: &mut DbConnection,
    email_normalized: &str,
) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .filter(customers::email_normalized.eq(email_normalized))
        .select(CustomerRow::as_select())
        .get_result(conn)
        .optional()
}

/// Applies the changes; returns false when no such customer exists.
pub fn update(conn: &mut DbConnection, id: &str, changes: &CustomerChanges) -> QueryResult<bool> {
    diesel::update(customers::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|n| n > 0)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::delete(customers::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    CreatedAt,
    UpdatedAt,
    Email,
    Firstname,
    Lastname,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Substring, case-insensitive, over email and names. Already lower-cased.
    pub query: Option<String>,
    pub email_normalized: Option<String>,
    pub external_id: Option<String>,
}

type Boxed<'a> = customers::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend>;

fn filtered(filter: &Filter) -> Boxed<'_> {
    let mut q = customers::table.into_boxed();
    if let Some(email) = &filter.email_normalized {
        q = q.filter(customers::email_normalized.eq(email));
    }
    if let Some(external_id) = &filter.external_id {
        q = q.filter(customers::external_id.eq(external_id));
    }
    if let Some(query) = &filter.query {
        let pattern = format!("%{}%", escape_like(query));
        q = q.filter(
            customers::email_normalized
                .like(pattern.clone())
                .escape('\\')
                .nullable()
                .or(lower_nullable(customers::firstname)
                    .like(pattern.clone())
                    .escape('\\'))
                .or(lower_nullable(customers::lastname)
                    .like(pattern)
                    .escape('\\')),
        );
    }
    q
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

pub fn count(conn: &mut DbConnection, filter: &Filter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn)
}

pub fn page(
    conn: &mut DbConnection,
    filter: &Filter,
    sort: SortColumn,
    descending: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<CustomerRow>> {
    let q = filtered(filter);
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
        (SortColumn::Firstname, false) => {
            q.order((customers::firstname.asc(), customers::id.asc()))
        }
        (SortColumn::Firstname, true) => {
            q.order((customers::firstname.desc(), customers::id.desc()))
        }
        (SortColumn::Lastname, false) => q.order((customers::lastname.asc(), customers::id.asc())),
        (SortColumn::Lastname, true) => q.order((customers::lastname.desc(), customers::id.desc())),
    };
    q.limit(limit)
        .offset(offset)
        .select(CustomerRow::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
