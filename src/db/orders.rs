//! Queries on `orders`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::orders;
use super::scope::Scope;
use super::{Db, DbConnection, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub customer_reference: String,
    pub currency: String,
    pub status: String,
    pub status_payment: String,
    pub status_fulfillment: String,
    pub subtotal: i64,
    pub shipping_price: i64,
    pub tax: i64,
    pub total: i64,
    pub line_items: String,
    pub shipping: Option<String>,
    pub billing: Option<String>,
    pub customer_snapshot: Option<String>,
    pub merchant_references: Option<String>,
    pub meta: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub store_id: String,
}

impl OrderRow {
    /// A row read by `pg_async` (from the SQL Diesel builds for the same query), decoded by
    /// column name, so that a column added or moved in the query cannot shift the others.
    pub fn from_pg(r: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(OrderRow {
            id: r.try_get("id")?,
            customer_id: r.try_get("customer_id")?,
            customer_reference: r.try_get("customer_reference")?,
            currency: r.try_get("currency")?,
            status: r.try_get("status")?,
            status_payment: r.try_get("status_payment")?,
            status_fulfillment: r.try_get("status_fulfillment")?,
            subtotal: r.try_get("subtotal")?,
            shipping_price: r.try_get("shipping_price")?,
            tax: r.try_get("tax")?,
            total: r.try_get("total")?,
            line_items: r.try_get("line_items")?,
            shipping: r.try_get("shipping")?,
            billing: r.try_get("billing")?,
            customer_snapshot: r.try_get("customer_snapshot")?,
            merchant_references: r.try_get("merchant_references")?,
            meta: r.try_get("meta")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            store_id: r.try_get("store_id")?,
        })
    }
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = orders)]
pub struct OrderChanges {
    pub status: Option<String>,
    pub status_payment: Option<String>,
    pub status_fulfillment: Option<String>,
    pub meta: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &OrderRow) -> QueryResult<()> {
    diesel::insert_into(orders::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, scope: Scope<'_>, id: &str) -> QueryResult<Option<OrderRow>> {
    scope
        .orders()
        .filter(orders::id.eq(id))
        .select(OrderRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn update(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    id: &str,
    changes: &OrderChanges,
) -> QueryResult<bool> {
    diesel::update(scope.orders().filter(orders::id.eq(id)))
        .set(changes)
        .execute(conn)
        .map(|n| n > 0)
}

/// Keeps the customer's orders for the books but removes who they were.
pub fn anonymise_for_customer(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: &str,
) -> QueryResult<usize> {
    diesel::update(scope.orders().filter(orders::customer_id.eq(customer_id)))
        .set((
            orders::customer_id.eq(None::<String>),
            orders::shipping.eq(None::<String>),
            orders::billing.eq(None::<String>),
            orders::customer_snapshot.eq(None::<String>),
        ))
        .execute(conn)
}

pub use crate::domain::order::SortColumn;

type Boxed<'a> = orders::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend>;

fn filtered<'a>(scope: Scope<'a>, customer_id: Option<&'a str>) -> Boxed<'a> {
    let q = scope.orders().into_boxed();
    match customer_id {
        Some(id) => q.filter(orders::customer_id.eq(id)),
        None => q,
    }
}

pub fn count(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: Option<&str>,
) -> QueryResult<i64> {
    filtered(scope, customer_id).count().get_result(conn)
}

/// A boxed query in the list's order; the one definition of it for both paths.
macro_rules! sorted {
    ($query:expr, $sort:expr, $descending:expr) => {{
        let q = $query;
        match ($sort, $descending) {
            (SortColumn::CreatedAt, false) => q.order((orders::created_at.asc(), orders::id.asc())),
            (SortColumn::CreatedAt, true) => {
                q.order((orders::created_at.desc(), orders::id.desc()))
            }
            (SortColumn::UpdatedAt, false) => q.order((orders::updated_at.asc(), orders::id.asc())),
            (SortColumn::UpdatedAt, true) => {
                q.order((orders::updated_at.desc(), orders::id.desc()))
            }
        }
    }};
}

/// One customer's order count and the page at `offset` (read even past the end), the fastest
/// way this database has for a customer's own requests (see `sessions::read_live_customer`).
pub async fn read_customer_page(
    db: &Db,
    scope: Scope<'_>,
    customer_id: &str,
    sort: SortColumn,
    descending: bool,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<OrderRow>), DbError> {
    if let Some(reader) = db.pg_async() {
        return reader
            .customer_orders(scope, customer_id, sort, descending, limit, offset)
            .await;
    }
    let (store, customer_id) = (scope.id().to_owned(), customer_id.to_owned());
    db.read(move |conn| {
        let scope = Scope::from_column(&store);
        let total = count(conn, scope, Some(&customer_id))?;
        let rows = page(
            conn,
            scope,
            Some(&customer_id),
            sort,
            descending,
            limit,
            offset,
        )?;
        Ok((total, rows))
    })
    .await
}

/// `count` for one customer, for `pg_async`: store, customer id.
pub fn customer_count_sql() -> String {
    let q = Scope::from_column("")
        .orders()
        .into_boxed::<diesel::pg::Pg>()
        .filter(orders::customer_id.eq(""))
        .count();
    super::pg_async::sql_text(&q)
}

/// `page` for one customer, for `pg_async`: store, customer id, limit, offset.
pub fn customer_page_sql(sort: SortColumn, descending: bool) -> String {
    let q = Scope::from_column("")
        .orders()
        .into_boxed::<diesel::pg::Pg>()
        .filter(orders::customer_id.eq(""));
    let q = sorted!(q, sort, descending)
        .limit(0)
        .offset(0)
        .select(OrderRow::as_select());
    super::pg_async::sql_text(&q)
}

pub fn page(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: Option<&str>,
    sort: SortColumn,
    descending: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<OrderRow>> {
    sorted!(filtered(scope, customer_id), sort, descending)
        .limit(limit)
        .offset(offset)
        .select(OrderRow::as_select())
        .load(conn)
}
