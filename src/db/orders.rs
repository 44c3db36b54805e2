//! Queries on `orders`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::orders;
use super::scope::Scope;
use super::{Db, DbConnection, DbError};
use crate::domain::customer::Meta;
use crate::domain::money::Currency;
use crate::domain::order::{BuyerSnapshot, LineItem, Order};
use crate::domain::{CustomerId, LineItemId, OrderId};

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

/// A line item as `line_items` stores it (a JSON array of these).
#[derive(Serialize, Deserialize)]
struct StoredLine {
    id: String,
    product_id: Option<String>,
    product_name: String,
    product_sku: Option<String>,
    quantity: i64,
    /// Unit price in minor units.
    price: i64,
}

/// The buyer as `customer_snapshot` stores them.
#[derive(Serialize, Deserialize)]
struct StoredBuyer {
    email: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    phone: Option<String>,
}

/// A stored order this code cannot read: a bug or a damaged row. It fails the read (logged,
/// 500) rather than showing a silently wrong order, such as one with a price of 0.
#[derive(Debug, thiserror::Error)]
#[error("order {id}: stored {column} cannot be read: {cause}")]
pub struct UnreadableOrder {
    pub id: String,
    pub column: &'static str,
    pub cause: String,
}

/// Stored text of a JSON object, `None` for an empty one.
fn object_text(map: Option<&Map<String, Value>>) -> Option<String> {
    map.filter(|m| !m.is_empty())
        .map(|m| Value::Object(m.clone()).to_string())
}

fn json_text(value: &impl Serialize) -> String {
    // Strings, numbers and options of them: nothing that JSON cannot hold.
    serde_json::to_string(value).expect("plain data serialises")
}

impl OrderRow {
    /// How `order` is stored in `scope`'s store.
    pub fn new(scope: Scope<'_>, order: &Order) -> OrderRow {
        let lines: Vec<StoredLine> = order
            .line_items
            .iter()
            .map(|l| StoredLine {
                id: l.id.as_str().to_owned(),
                product_id: l.product_id.clone(),
                product_name: l.product_name.clone(),
                product_sku: l.product_sku.clone(),
                quantity: l.quantity,
                price: l.price,
            })
            .collect();
        OrderRow {
            id: order.id.as_str().to_owned(),
            customer_id: order.customer_id.as_ref().map(|c| c.as_str().to_owned()),
            customer_reference: order.customer_reference.clone(),
            currency: order.currency.code().to_owned(),
            status: order.status.clone(),
            status_payment: order.status_payment.clone(),
            status_fulfillment: order.status_fulfillment.clone(),
            subtotal: order.subtotal,
            shipping_price: order.shipping_price,
            tax: order.tax,
            total: order.total,
            line_items: json_text(&lines),
            shipping: object_text(order.shipping.as_ref()),
            billing: object_text(order.billing.as_ref()),
            customer_snapshot: order.buyer.as_ref().map(|b| {
                json_text(&StoredBuyer {
                    email: b.email.clone(),
                    firstname: b.firstname.clone(),
                    lastname: b.lastname.clone(),
                    phone: b.phone.clone(),
                })
            }),
            merchant_references: order.references.to_db(),
            meta: order.meta.to_db(),
            created_at: order.created_at,
            updated_at: order.updated_at,
            store_id: scope.id().to_owned(),
        }
    }

    /// The order this row stores, its JSON decoded; a row that cannot be read in full is an
    /// error, whichever part of it is damaged.
    pub fn into_order(self) -> Result<Order, UnreadableOrder> {
        let id = self.id.clone();
        let unreadable = |column: &'static str, cause: String| UnreadableOrder {
            id: id.clone(),
            column,
            cause,
        };
        let currency = Currency::parse(&self.currency).ok_or_else(|| {
            unreadable(
                "currency",
                format!("{:?} is not a currency with minor units", self.currency),
            )
        })?;
        let lines: Vec<StoredLine> = serde_json::from_str(&self.line_items)
            .map_err(|e| unreadable("line_items", e.to_string()))?;
        let object = |column: &'static str, raw: Option<String>| {
            raw.map(|text| match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(unreadable(column, "not a JSON object".into())),
                Err(e) => Err(unreadable(column, e.to_string())),
            })
            .transpose()
        };
        let buyer = self
            .customer_snapshot
            .map(|text| serde_json::from_str::<StoredBuyer>(&text))
            .transpose()
            .map_err(|e| unreadable("customer_snapshot", e.to_string()))?;
        Ok(Order {
            id: OrderId::from_trusted(self.id.clone()),
            customer_id: self.customer_id.map(CustomerId::from_trusted),
            customer_reference: self.customer_reference,
            currency,
            status: self.status,
            status_payment: self.status_payment,
            status_fulfillment: self.status_fulfillment,
            subtotal: self.subtotal,
            shipping_price: self.shipping_price,
            tax: self.tax,
            total: self.total,
            line_items: lines
                .into_iter()
                .map(|l| LineItem {
                    id: LineItemId::from_trusted(l.id),
                    product_id: l.product_id,
                    product_name: l.product_name,
                    product_sku: l.product_sku,
                    quantity: l.quantity,
                    price: l.price,
                })
                .collect(),
            shipping: object("shipping", self.shipping)?,
            billing: object("billing", self.billing)?,
            buyer: buyer.map(|b| BuyerSnapshot {
                email: b.email,
                firstname: b.firstname,
                lastname: b.lastname,
                phone: b.phone,
            }),
            references: object("merchant_references", self.merchant_references)?
                .map(Meta::from)
                .unwrap_or_default(),
            meta: object("meta", self.meta)?
                .map(Meta::from)
                .unwrap_or_default(),
            created_at: self.created_at,
            updated_at: self.updated_at,
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

/// One order of one customer: an order of another customer, or of none (erased), is not
/// found, so nothing of it is read.
pub fn find_of_customer(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    customer_id: &str,
    id: &str,
) -> QueryResult<Option<OrderRow>> {
    scope
        .orders()
        .filter(orders::id.eq(id))
        .filter(orders::customer_id.eq(customer_id))
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

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use serde_json::json;

    use super::*;

    fn order() -> Order {
        let at = |secs| DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
        let map = |v: Value| v.as_object().unwrap().clone();
        Order {
            id: OrderId::generate(),
            customer_id: Some(CustomerId::generate()),
            customer_reference: "ORD-1".into(),
            currency: Currency::parse("EUR").unwrap(),
            status: "open".into(),
            status_payment: "paid".into(),
            status_fulfillment: "not_fulfilled".into(),
            subtotal: 3750,
            shipping_price: 500,
            tax: 210,
            total: 4460,
            line_items: vec![LineItem {
                id: LineItemId::generate(),
                product_id: None,
                product_name: "Book".into(),
                product_sku: Some("BK-1".into()),
                quantity: 2,
                price: 1875,
            }],
            shipping: Some(map(json!({"name": "Leslie", "meta": {"door": 2}}))),
            billing: None,
            buyer: Some(BuyerSnapshot {
                email: Some("leslie@example.com".into()),
                firstname: None,
                lastname: Some("Lawless".into()),
                phone: None,
            }),
            references: Meta::from(map(json!({"checkout": "co_1"}))),
            meta: Meta::default(),
            created_at: at(1_700_000_000),
            updated_at: at(1_700_000_060),
        }
    }

    /// What is stored is read back as it was, and in the layout rows written before hold.
    #[test]
    fn an_order_is_read_back_as_stored() {
        let order = order();
        let row = OrderRow::new(Scope::DEFAULT, &order);
        let line: Value = serde_json::from_str(&row.line_items).unwrap();
        let keys: Vec<&String> = line[0].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "id",
                "product_id",
                "product_name",
                "product_sku",
                "quantity",
                "price"
            ]
        );
        assert_eq!(row.meta, None, "empty meta is not stored");
        assert_eq!(row.billing, None);
        assert_eq!(row.store_id, Scope::DEFAULT.id());
        assert_eq!(row.into_order().unwrap(), order);
    }

    #[test]
    fn a_damaged_part_names_its_column() {
        let damaged = [
            (
                "currency",
                OrderRow {
                    currency: "XXX".into(),
                    ..OrderRow::new(Scope::DEFAULT, &order())
                },
            ),
            (
                "line_items",
                OrderRow {
                    line_items: "[{}]".into(),
                    ..OrderRow::new(Scope::DEFAULT, &order())
                },
            ),
            (
                "shipping",
                OrderRow {
                    shipping: Some("[]".into()),
                    ..OrderRow::new(Scope::DEFAULT, &order())
                },
            ),
            (
                "customer_snapshot",
                OrderRow {
                    customer_snapshot: Some("{".into()),
                    ..OrderRow::new(Scope::DEFAULT, &order())
                },
            ),
            (
                "meta",
                OrderRow {
                    meta: Some("1".into()),
                    ..OrderRow::new(Scope::DEFAULT, &order())
                },
            ),
        ];
        for (column, row) in damaged {
            let id = row.id.clone();
            let err = row.into_order().unwrap_err();
            assert_eq!((err.column, err.id), (column, id));
        }
    }
}

#[cfg(test)]
mod plan_tests {
    use std::time::Duration;

    use diesel::sql_types::Text;

    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::connect_and_migrate;

    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// A SQLite file patron made has no statistics, so the planner goes by the indexes alone:
    /// a customer's page must be read through the index on (customer, store, ...), not by
    /// walking every order of the store in date order (that made the SQLite order list four
    /// times slower: bench/RESULTS.md). The statement is `page`'s for one customer.
    #[tokio::test]
    async fn a_customers_orders_are_read_through_the_customer_index_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("plan.db"));
        let db = connect_and_migrate(&url, 1, Duration::from_secs(5)).unwrap();
        let statement = diesel::debug_query::<diesel::sqlite::Sqlite, _>(
            &sorted!(
                Scope::DEFAULT
                    .orders()
                    .into_boxed::<diesel::sqlite::Sqlite>()
                    .filter(orders::customer_id.eq("cstmr_x")),
                SortColumn::CreatedAt,
                true
            )
            .limit(20)
            .offset(0)
            .select(OrderRow::as_select()),
        )
        .to_string();
        let sql = statement
            .split_once(" -- binds:")
            .map_or(statement.as_str(), |(sql, _)| sql)
            .to_owned();
        let plan: Vec<PlanLine> = db
            .run(move |conn| {
                diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load(conn)
                    .map_err(crate::db::DbError::from)
            })
            .await
            .unwrap();
        let details: Vec<&str> = plan.iter().map(|l| l.detail.as_str()).collect();
        assert!(
            details
                .iter()
                .any(|d| d.contains("USING INDEX orders_customer_idx")),
            "{details:?}"
        );
        assert!(
            !details.iter().any(|d| d.contains("TEMP B-TREE")),
            "no sort: {details:?}"
        );
    }
}
