//! Recording orders and reading them back, for the merchant and for the customer who placed them.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::config::Config;
use crate::db::scope::Scope;
use crate::domain::store::Store;

use crate::db::customers::{self as customers_q, CustomerRow};
use crate::db::orders::{self as q, OrderChanges, OrderRow, UnreadableOrder};
use crate::db::{write_tx, Db, DbConnection, DbError};
use crate::domain::customer::Meta;
use crate::domain::order::{Buyer, BuyerSnapshot, NewLineItem, NewOrder, Order, SortColumn};
use crate::domain::paging::{Page, SortDirection};
use crate::domain::{random, CustomerId, OrderId, ValidationError};

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("order not found")]
    NotFound,
    #[error("customer not found")]
    CustomerNotFound,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Unreadable(#[from] UnreadableOrder),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for OrderError {
    fn database_failure(&self) -> bool {
        matches!(self, OrderError::Db(e) if e.database_failure())
    }
}

impl From<diesel::result::Error> for OrderError {
    fn from(e: diesel::result::Error) -> Self {
        OrderError::Db(e.into())
    }
}

/// A status or meta change from the back office.
#[derive(Debug, Clone, Default)]
pub struct OrderPatch {
    pub status: Option<String>,
    pub status_payment: Option<String>,
    pub status_fulfillment: Option<String>,
    pub meta: Option<Option<Map<String, Value>>>,
}

#[derive(Debug, Clone)]
pub struct OrderListQuery {
    pub customer_id: Option<CustomerId>,
    /// The customer was read moments ago by the caller's own session check, so its existence
    /// needs no second look.
    pub customer_known: bool,
    pub sort: SortColumn,
    pub direction: SortDirection,
    pub limit: u32,
    pub page: u32,
}

#[derive(Clone)]
pub struct OrderService {
    db: Db,
    clock: Clock,
    config: Arc<Config>,
}

fn decode(rows: Vec<OrderRow>) -> Result<Vec<Order>, OrderError> {
    Ok(rows
        .into_iter()
        .map(OrderRow::into_order)
        .collect::<Result<_, _>>()?)
}

fn reference_taken() -> OrderError {
    OrderError::Invalid(ValidationError::field(
        "customer_reference_taken",
        "customer_reference",
        "The customer reference has already been taken.",
    ))
}

/// Finds the buyer's customer, creating one for an unknown email (in Chec, whoever buys is a
/// customer).
fn resolve_buyer(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    scope: Scope<'_>,
    buyer: &Buyer,
) -> Result<CustomerRow, OrderError> {
    match buyer {
        Buyer::Existing(id) => customers_q::find(conn, scope, id.as_str())?.ok_or_else(|| {
            OrderError::Invalid(ValidationError::field(
                "invalid_customer",
                "customer_id",
                "The selected customer id is invalid.",
            ))
        }),
        Buyer::ByEmail {
            email,
            firstname,
            lastname,
            phone,
        } => {
            if let Some(found) = customers_q::find_by_email(conn, scope, email.normalized())? {
                return Ok(found);
            }
            // Created by the merchant's checkout: verified like any secret-key customer.
            let row = CustomerRow::new(
                scope,
                CustomerId::generate().into_string(),
                email,
                firstname.clone(),
                lastname.clone(),
                phone.clone(),
                None,
                None,
                None,
                true,
                now,
            );
            customers_q::insert(conn, &row)?;
            Ok(row)
        }
    }
}

impl OrderService {
    pub fn new(db: Db, clock: Clock, config: Arc<Config>) -> Self {
        OrderService { db, clock, config }
    }

    pub async fn create(&self, store: Arc<Store>, order: NewOrder) -> Result<Order, OrderError> {
        let prefix = store.order_reference_prefix(&self.config).to_owned();
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    let customer = resolve_buyer(conn, now, scope, &order.buyer)?;
                    let (firstname, lastname, phone) = match &order.buyer {
                        Buyer::ByEmail {
                            firstname,
                            lastname,
                            phone,
                            ..
                        } => (
                            firstname.clone().or(customer.firstname.clone()),
                            lastname.clone().or(customer.lastname.clone()),
                            phone.clone().or(customer.phone.clone()),
                        ),
                        Buyer::Existing(_) => (
                            customer.firstname.clone(),
                            customer.lastname.clone(),
                            customer.phone.clone(),
                        ),
                    };
                    let line_items = order.line_items.iter().map(NewLineItem::record).collect();
                    let created = order.created.unwrap_or(now);
                    let reference = match &order.customer_reference {
                        Some(r) => r.clone(),
                        None => format!("{prefix}-{}", random::alphanumeric(8).to_uppercase()),
                    };
                    let recorded = Order {
                        id: OrderId::generate(),
                        customer_id: Some(CustomerId::from_trusted(customer.id.clone())),
                        customer_reference: reference,
                        currency: order.currency,
                        status: order.status.clone(),
                        status_payment: order.status_payment.clone(),
                        status_fulfillment: order.status_fulfillment.clone(),
                        subtotal: order.subtotal(),
                        shipping_price: order.shipping_price,
                        tax: order.tax,
                        total: order.total(),
                        line_items,
                        shipping: order.shipping.clone(),
                        billing: order.billing.clone(),
                        buyer: Some(BuyerSnapshot {
                            email: Some(customer.email.clone()),
                            firstname,
                            lastname,
                            phone,
                        }),
                        references: order.references.clone().map(Meta::from).unwrap_or_default(),
                        meta: order.meta.clone().map(Meta::from).unwrap_or_default(),
                        created_at: created,
                        updated_at: now.max(created),
                    };
                    match q::insert(conn, &OrderRow::new(scope, &recorded)).map_err(DbError::from) {
                        Ok(()) => Ok(recorded),
                        // Only the reference is unique (in the store) besides the random id.
                        Err(DbError::UniqueViolation(_)) => Err(reference_taken()),
                        Err(e) => Err(e.into()),
                    }
                })
            })
            .await
    }

    pub async fn get(&self, store: Arc<Store>, id: &OrderId) -> Result<Order, OrderError> {
        let id = id.clone();
        let row = self
            .db
            .run(move |conn| {
                q::find(conn, Scope::new(&store.id), id.as_str())?.ok_or(OrderError::NotFound)
            })
            .await?;
        Ok(row.into_order()?)
    }

    /// One order of one customer; another customer's order is simply not found. The query
    /// itself filters by customer, so another customer's order is never read or decoded (a
    /// damaged one would otherwise answer 500 where it should be 404, telling that it exists).
    pub async fn get_for_customer(
        &self,
        store: Arc<Store>,
        customer_id: &CustomerId,
        id: &OrderId,
    ) -> Result<Order, OrderError> {
        let (customer_id, id) = (customer_id.clone(), id.clone());
        let row = self
            .db
            .run(move |conn| {
                q::find_of_customer(
                    conn,
                    Scope::new(&store.id),
                    customer_id.as_str(),
                    id.as_str(),
                )?
                .ok_or(OrderError::NotFound)
            })
            .await?;
        Ok(row.into_order()?)
    }

    pub async fn update(
        &self,
        store: Arc<Store>,
        id: &OrderId,
        patch: OrderPatch,
    ) -> Result<Order, OrderError> {
        let id = id.clone();
        let clock = self.clock.clone();
        let row = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let scope = Scope::new(&store.id);
                    let current = q::find(conn, scope, id.as_str())?.ok_or(OrderError::NotFound)?;
                    let changes = OrderChanges {
                        status: patch.status,
                        status_payment: patch.status_payment,
                        status_fulfillment: patch.status_fulfillment,
                        meta: patch
                            .meta
                            .map(|m| Meta::from(m.unwrap_or_default()).to_db()),
                        updated_at: Some(clock.now().max(current.created_at)),
                    };
                    q::update(conn, scope, id.as_str(), &changes)?;
                    q::find(conn, scope, id.as_str())?.ok_or(OrderError::NotFound)
                })
            })
            .await?;
        Ok(row.into_order()?)
    }

    /// Orders, newest first by default; only one customer's when `customer_id` is given.
    pub async fn list(
        &self,
        store: Arc<Store>,
        query: OrderListQuery,
    ) -> Result<Page<Order>, OrderError> {
        if let (Some(customer), true) = (&query.customer_id, query.customer_known) {
            // A customer's own list, right after their session check.
            let (total, rows) = q::read_customer_page(
                &self.db,
                Scope::new(&store.id),
                customer.as_str(),
                query.sort,
                query.direction == SortDirection::Desc,
                i64::from(query.limit),
                Page::<Order>::offset(query.page, query.limit),
            )
            .await?;
            return Page::read(total, query.page, query.limit, |_, _| decode(rows));
        }
        self.db
            .run(move |conn| {
                let scope = Scope::new(&store.id);
                let customer = query.customer_id.as_ref().map(|c| c.as_str().to_owned());
                if let Some(id) = &customer {
                    if customers_q::find(conn, scope, id)?.is_none() {
                        return Err(OrderError::CustomerNotFound);
                    }
                }
                let total = q::count(conn, scope, customer.as_deref())?;
                Page::read(total, query.page, query.limit, |limit, offset| {
                    decode(q::page(
                        conn,
                        scope,
                        customer.as_deref(),
                        query.sort,
                        query.direction == SortDirection::Desc,
                        limit,
                        offset,
                    )?)
                })
            })
            .await
    }
}
