//! Orders: recorded by the shop's checkout with the secret key, read by the customer with their
//! JWT, in Chec's order shape. The request types and their parsing are in `input`, the
//! rendering in `view`; this file holds the handlers.

mod input;
mod view;

use input::parse_new_order;
pub use input::{LineItemInput, OrderCreate, OrderCustomerInput, OrderUpdate};
pub use view::{
    render, CurrencyView, LineItemView, OrderList, OrderTotals, OrderView, ShippingLine, TaxView,
};

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::typed;
use super::customers::path_customer_id;
use super::error::{ApiError, ErrorBody};
use super::pagination::{PageParams, Paginated};
use super::AppState;

use crate::domain::order::{self, object, status_change, SortColumn};
use crate::domain::validation::Collector;
use crate::domain::{CustomerId, OrderId};
use crate::service::orders::{OrderListQuery, OrderPatch};

fn path_order_id(raw: &str) -> Result<OrderId, ApiError> {
    super::nul::check_path("order_id", raw)?;
    OrderId::parse(raw).ok_or_else(ApiError::order_not_found)
}

/// The values of the order lists' `sortBy` (`created` and `updated` are Chec's aliases).
pub const SORT_BY: &[(&str, SortColumn)] = &[
    ("created_at", SortColumn::CreatedAt),
    ("updated_at", SortColumn::UpdatedAt),
    ("created", SortColumn::CreatedAt),
    ("updated", SortColumn::UpdatedAt),
];

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderListParams {
    /// `created_at` (default) or `updated_at` (`created` and `updated` are aliases).
    #[serde(rename = "sortBy")]
    #[param(rename = "sortBy")]
    pub sort_by: Option<String>,
    /// Only this customer's orders (merchant list only).
    pub customer_id: Option<String>,
}

fn list_query(
    c: &mut Collector,
    paging: &PageParams,
    params: &OrderListParams,
    customer: Option<CustomerId>,
) -> OrderListQuery {
    let paging = paging.parse(c);
    let sort = super::pagination::one_of(
        c,
        "sortBy",
        params.sort_by.as_deref(),
        SORT_BY,
        SortColumn::CreatedAt,
    );
    OrderListQuery {
        customer_id: customer,
        customer_known: false,
        sort,
        direction: paging.direction,
        limit: paging.limit,
        page: paging.page,
    }
}

async fn respond_page(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
    query: OrderListQuery,
) -> Result<HttpResponse, ApiError> {
    let page = state.orders.list(caller.store.clone(), query).await?;
    let data = page.items.into_iter().map(render).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(req, data, page.total, page.limit, page.page)))
}

// ---- handlers --------------------------------------------------------------------------

/// Record an order (the shop's checkout or order system).
#[utoipa::path(
    post, path = "/v1/orders", operation_id = "create_order", tag = "orders",
    request_body = OrderCreate,
    responses(
        (status = 201, description = "The recorded order", body = OrderView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 422, description = "Invalid data", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let order = parse_new_order(body.into_inner())?;
    let order = state.orders.create(caller.store.clone(), order).await?;
    Ok(HttpResponse::Created().json(render(order)))
}

/// List all orders (secret key).
#[utoipa::path(
    get, path = "/v1/orders", operation_id = "list_orders", tag = "orders",
    params(PageParams, OrderListParams),
    responses(
        (status = 200, description = "A page of orders", body = OrderList),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 404, description = "The customer_id filter names no customer", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    paging: web::Query<PageParams>,
    params: web::Query<OrderListParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let mut c = Collector::new();
    let customer = match params.customer_id.as_deref() {
        None => None,
        Some(raw) => match CustomerId::parse(raw) {
            Some(id) => Some(id),
            None => {
                c.add(
                    "invalid_parameter",
                    "customer_id",
                    "The customer_id is not a customer id.",
                );
                None
            }
        },
    };
    let query = list_query(&mut c, &paging, &params, customer);
    c.finish()?;
    respond_page(&req, &state, &caller, query).await
}

/// Get one order (secret key).
#[utoipa::path(
    get, path = "/v1/orders/{order_id}", operation_id = "get_order", tag = "orders",
    params(("order_id" = String, Path, description = "Order id (ord_...)")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let id = path_order_id(&path)?;
    Ok(HttpResponse::Ok().json(render(state.orders.get(caller.store.clone(), &id).await?)))
}

/// Change an order's statuses or meta (secret key).
#[utoipa::path(
    put, path = "/v1/orders/{order_id}", operation_id = "update_order", tag = "orders",
    params(("order_id" = String, Path, description = "Order id (ord_...)")),
    request_body = OrderUpdate,
    responses(
        (status = 200, description = "The updated order", body = OrderView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 422, description = "Invalid data", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let id = path_order_id(&path)?;
    let dto: OrderUpdate = typed(body.into_inner())?;
    let mut c = Collector::new();
    let patch = OrderPatch {
        status: status_change(&mut c, "status", dto.status, order::order_status),
        status_payment: status_change(
            &mut c,
            "status_payment",
            dto.status_payment,
            order::payment_status,
        ),
        status_fulfillment: status_change(
            &mut c,
            "status_fulfillment",
            dto.status_fulfillment,
            order::fulfillment_status,
        ),
        meta: dto.meta.map(|m| object(&mut c, "meta", m)),
    };
    c.finish()?;
    Ok(HttpResponse::Ok().json(render(
        state
            .orders
            .update(caller.store.clone(), &id, patch)
            .await?,
    )))
}

/// A customer's orders, newest first by default (the customer's JWT or the secret key).
#[utoipa::path(
    get, path = "/v1/customers/{customer_id}/orders", operation_id = "list_customer_orders", tag = "orders",
    params(("customer_id" = String, Path, description = "Customer id (cstmr_...)"), PageParams,
        ("sortBy" = Option<String>, Query, description = "created_at (default) or updated_at")),
    responses(
        (status = 200, description = "A page of orders", body = OrderList),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ),
    security(("customer_jwt" = []), ("merchant_key" = []))
)]
pub async fn list_for_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    paging: web::Query<PageParams>,
    params: web::Query<OrderListParams>,
) -> Result<HttpResponse, ApiError> {
    let id = path_customer_id(&path)?;
    caller.require_customer_or_secret(&id)?;
    let mut c = Collector::new();
    let mut query = list_query(&mut c, &paging, &params, Some(id));
    c.finish()?;
    query.customer_known = caller.session().is_some();
    respond_page(&req, &state, &caller, query).await
}

/// One order of a customer; another customer's order is not found.
#[utoipa::path(
    get, path = "/v1/customers/{customer_id}/orders/{order_id}", operation_id = "get_customer_order", tag = "orders",
    params(
        ("customer_id" = String, Path, description = "Customer id (cstmr_...)"),
        ("order_id" = String, Path, description = "Order id (ord_...)"),
    ),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such order for this customer", body = ErrorBody),
    ),
    security(("customer_jwt" = []), ("merchant_key" = []))
)]
pub async fn get_for_customer(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (customer, order) = path.into_inner();
    let customer = path_customer_id(&customer)?;
    caller.require_customer_or_secret(&customer)?;
    let order = path_order_id(&order)?;
    let order = state
        .orders
        .get_for_customer(caller.store.clone(), &customer, &order)
        .await?;
    Ok(HttpResponse::Ok().json(render(order)))
}
