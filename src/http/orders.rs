//! Orders: recorded by the shop's checkout with the secret key, read by the customer with their
//! JWT, in Chec's order shape.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::body::{nullable, typed};
use super::customers::path_customer_id;
use super::error::{ApiError, ErrorBody};
use super::fields::opt_text;
use super::pagination::{PageParams, Paginated};
use super::AppState;
use crate::db::orders::{OrderRow, SortColumn};
use crate::domain::customer::{Meta, MAX_NAME_LEN, MAX_PHONE_LEN};
use crate::domain::money::{Currency, Price};
use crate::domain::order::{
    self, address, amount, line_item, object, Buyer, NewOrder, ADDRESS_FIELDS,
};
use crate::domain::validation::Collector;
use crate::domain::{CustomerId, Email, OrderId, ValidationError};
use crate::service::orders::{OrderListQuery, OrderPatch};

// ---- rendering -------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyView {
    #[schema(example = "USD")]
    pub code: String,
    #[schema(example = "$")]
    pub symbol: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineItemView {
    #[schema(example = "item_A12JwrMRX8lPjn")]
    pub id: String,
    pub product_id: Option<String>,
    pub product_name: String,
    pub product_sku: Option<String>,
    pub quantity: i64,
    pub price: Price,
    pub line_total: Price,
    pub line_total_with_tax: Price,
    #[schema(value_type = Vec<Object>)]
    pub variant: Value,
    #[schema(value_type = Vec<Object>)]
    pub selected_options: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingLine {
    pub id: Option<String>,
    pub description: Option<String>,
    pub provider: String,
    pub price: Price,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTotals {
    pub subtotal: Price,
    pub total: Price,
    pub total_with_tax: Price,
    pub total_paid: Price,
    pub shipping: ShippingLine,
    pub line_items: Vec<LineItemView>,
    #[schema(value_type = Vec<Object>)]
    pub discount: Value,
    #[schema(value_type = Vec<Object>)]
    pub giftcard: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxView {
    pub amount: Price,
}

/// An order in Chec's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub version: String,
    pub sandbox: bool,
    #[schema(example = "ord_Kvg9l6zvnl1bB7")]
    pub id: String,
    pub checkout_token_id: Option<String>,
    pub cart_id: Option<String>,
    #[schema(example = "ORD-7K2M9QXA")]
    pub customer_reference: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
    pub status: String,
    pub status_payment: String,
    pub status_fulfillment: String,
    pub currency: CurrencyView,
    pub order_value: Price,
    /// Merchant data: an object, or `[]` when empty.
    #[schema(schema_with = super::openapi::object_or_empty_array)]
    pub meta: Value,
    pub order: OrderTotals,
    /// Shipping address (Chec address fields), `[]` when none.
    #[schema(schema_with = super::openapi::object_or_empty_array)]
    pub shipping: Value,
    /// Billing address, `[]` when none.
    #[schema(schema_with = super::openapi::object_or_empty_array)]
    pub billing: Value,
    /// Who placed the order (`null` once the customer was erased).
    #[schema(value_type = Option<Object>)]
    pub customer: Value,
    /// The merchant's own ids for this order, `[]` when none.
    #[schema(schema_with = super::openapi::object_or_empty_array)]
    pub references: Value,
    pub tax: TaxView,
}

fn stored_json(raw: Option<&str>) -> Option<Value> {
    raw.and_then(|s| serde_json::from_str(s).ok())
}

fn address_view(raw: Option<&str>) -> Value {
    let Some(Value::Object(stored)) = stored_json(raw) else {
        return json!([]);
    };
    let mut out = Map::new();
    for field in ADDRESS_FIELDS {
        out.insert(
            (*field).into(),
            stored.get(*field).cloned().unwrap_or(Value::Null),
        );
    }
    out.insert(
        "meta".into(),
        stored.get("meta").cloned().unwrap_or(Value::Null),
    );
    Value::Object(out)
}

pub fn render(row: OrderRow) -> OrderView {
    // Stored currencies were validated on the way in.
    let currency = Currency::parse(&row.currency).unwrap_or_else(|| {
        Currency::parse("USD").unwrap_or_else(|| unreachable!("USD is an ISO currency"))
    });
    let price = |minor: i64| Price::new(minor, currency);
    let lines: Vec<LineItemView> = match stored_json(Some(&row.line_items)) {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|l| {
                let unit = l["price"].as_i64().unwrap_or(0);
                let quantity = l["quantity"].as_i64().unwrap_or(0);
                let total = unit.saturating_mul(quantity);
                LineItemView {
                    id: l["id"].as_str().unwrap_or_default().to_owned(),
                    product_id: l["product_id"].as_str().map(str::to_owned),
                    product_name: l["product_name"].as_str().unwrap_or_default().to_owned(),
                    product_sku: l["product_sku"].as_str().map(str::to_owned),
                    quantity,
                    price: price(unit),
                    line_total: price(total),
                    line_total_with_tax: price(total),
                    variant: json!([]),
                    selected_options: json!([]),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let customer = match (
        row.customer_id.as_deref(),
        stored_json(row.customer_snapshot.as_deref()),
    ) {
        (Some(id), Some(Value::Object(snap))) => json!({
            "id": id,
            "email": snap.get("email"),
            "firstname": snap.get("firstname"),
            "lastname": snap.get("lastname"),
            "phone": snap.get("phone"),
        }),
        _ => Value::Null,
    };
    let paid = if matches!(
        row.status_payment.as_str(),
        "paid" | "refunded" | "partially_refunded"
    ) {
        row.total
    } else {
        0
    };
    OrderView {
        version: "v1".into(),
        sandbox: false,
        id: row.id,
        checkout_token_id: None,
        cart_id: None,
        customer_reference: row.customer_reference,
        created: row.created_at.and_utc().timestamp(),
        updated: row.updated_at.and_utc().timestamp(),
        status: row.status,
        status_payment: row.status_payment,
        status_fulfillment: row.status_fulfillment,
        currency: CurrencyView {
            code: currency.code().to_owned(),
            symbol: currency.symbol(),
        },
        order_value: price(row.total),
        meta: Meta::from_db(row.meta.as_deref()).to_json(),
        order: OrderTotals {
            subtotal: price(row.subtotal),
            total: price(row.total),
            total_with_tax: price(row.total),
            total_paid: price(paid),
            shipping: ShippingLine {
                id: None,
                description: None,
                provider: "patron".into(),
                price: price(row.shipping_price),
            },
            line_items: lines,
            discount: json!([]),
            giftcard: json!([]),
        },
        shipping: address_view(row.shipping.as_deref()),
        billing: address_view(row.billing.as_deref()),
        customer,
        references: Meta::from_db(row.merchant_references.as_deref()).to_json(),
        tax: TaxView {
            amount: price(row.tax),
        },
    }
}

/// A page of orders (documentation of `Paginated<OrderView>`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub data: Vec<OrderView>,
    pub meta: super::pagination::PageMeta,
}

// ---- input -----------------------------------------------------------------------------

/// The buyer, when the order is not for an existing `customer_id`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderCustomerInput {
    #[schema(value_type = String, required = true, format = Email)]
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
}

/// A line of the order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LineItemInput {
    pub product_id: Option<String>,
    /// Not blank.
    #[schema(min_length = 1, max_length = 255)]
    pub product_name: String,
    pub product_sku: Option<String>,
    #[schema(minimum = 1)]
    pub quantity: i64,
    /// Unit price in major units, as a decimal string or number (`"37.50"`, `37.5`).
    #[schema(value_type = String, example = "37.50")]
    pub price: Value,
}

/// An order to record. Give `customer_id`, or `customer` with an email (the customer with that
/// email is used, or created).
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderCreate {
    pub customer_id: Option<String>,
    pub customer: Option<OrderCustomerInput>,
    /// ISO 4217 code of a currency with minor units, matched ignoring case.
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<String>,
    #[schema(value_type = Vec<LineItemInput>, required = true, min_items = 1, max_items = 500)]
    pub line_items: Option<Vec<LineItemInput>>,
    /// Chec address: name, street, street_2, town_city, postal_zip_code, county_state, country,
    /// delivery_instructions, meta.
    #[schema(value_type = Option<Object>)]
    pub shipping: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub billing: Option<Value>,
    #[schema(value_type = Option<String>, example = "5.00")]
    pub shipping_price: Option<Value>,
    #[schema(value_type = Option<String>, example = "2.10")]
    pub tax: Option<Value>,
    /// Default `open`.
    pub status: Option<String>,
    /// pending, not_paid (default), paid, partially_paid, refunded, partially_refunded.
    pub status_payment: Option<String>,
    /// not_fulfilled (default), open, partially_fulfilled, fulfilled, returned.
    pub status_fulfillment: Option<String>,
    /// Unique; generated when absent.
    pub customer_reference: Option<String>,
    /// The merchant's own ids (e.g. the checkout's customer id).
    #[schema(value_type = Option<Object>)]
    pub references: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    /// Unix seconds, for importing past orders; default now.
    pub created: Option<i64>,
}

/// Status and meta changes: a field left out keeps its value, a value sets it. `null` clears
/// `meta`; a status cannot be cleared, so `null` for one is refused (422).
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderUpdate {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub status: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub status_payment: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub status_fulfillment: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Option<Value>>,
}

/// A status change: left out keeps the status, `null` is refused, a value is checked by `parse`.
fn status_change(
    c: &mut Collector,
    field: &str,
    raw: Option<Option<String>>,
    parse: fn(&mut Collector, Option<&str>) -> String,
) -> Option<String> {
    match raw? {
        None => {
            c.add(
                "required",
                field,
                format!("The {field} cannot be cleared: leave it out to keep it."),
            );
            None
        }
        Some(s) => Some(parse(c, Some(&s))),
    }
}

/// Parses the raw body. Line items are read field by field so each error names its path.
fn parse_new_order(body: Value) -> Result<NewOrder, ApiError> {
    let mut map = super::body::fields_of::<OrderCreate>(body)?;
    let raw_lines = map.remove("line_items");
    let mut c = Collector::new();
    // Everything but the line items goes through the typed DTO (wrong types name the field).
    let dto: OrderCreate = typed(Value::Object(map))?;
    let currency = match dto.currency.as_deref().map(str::trim) {
        None | Some("") => {
            c.add("required", "currency", "The currency field is required.");
            None
        }
        Some(raw) => {
            let cur = Currency::parse(raw);
            if cur.is_none() {
                c.add(
                    "invalid_currency",
                    "currency",
                    "The currency must be an ISO 4217 code such as USD.",
                );
            }
            cur
        }
    };
    let buyer = match (dto.customer_id.as_deref(), dto.customer) {
        (Some(id), _) => match CustomerId::parse(id.trim()) {
            Some(id) => Some(Buyer::Existing(id)),
            None => {
                c.add(
                    "invalid_customer",
                    "customer_id",
                    "The selected customer id is invalid.",
                );
                None
            }
        },
        (None, Some(cust)) => {
            let email = match cust.email.as_deref() {
                None => {
                    c.add(
                        "email_required",
                        "customer.email",
                        "The customer.email field is required.",
                    );
                    None
                }
                Some(raw) => match Email::parse(raw) {
                    Ok(e) => Some(e),
                    Err(_) => {
                        c.add(
                            "invalid_email",
                            "customer.email",
                            "The customer.email must be a valid email address.",
                        );
                        None
                    }
                },
            };
            let firstname = opt_text(&mut c, "customer.firstname", cust.firstname, MAX_NAME_LEN);
            let lastname = opt_text(&mut c, "customer.lastname", cust.lastname, MAX_NAME_LEN);
            let phone = opt_text(&mut c, "customer.phone", cust.phone, MAX_PHONE_LEN);
            email.map(|email| Buyer::ByEmail {
                email,
                firstname,
                lastname,
                phone,
            })
        }
        (None, None) => {
            c.add(
                "customer_required",
                "customer_id",
                "Give a customer_id, or a customer with an email.",
            );
            None
        }
    };
    let mut lines = Vec::new();
    match raw_lines {
        Some(Value::Array(items)) if !items.is_empty() => {
            if items.len() > order::MAX_LINE_ITEMS {
                c.add(
                    "too_many_line_items",
                    "line_items",
                    format!(
                        "An order may have at most {} line items.",
                        order::MAX_LINE_ITEMS
                    ),
                );
            }
            for (i, item) in items.iter().take(order::MAX_LINE_ITEMS).enumerate() {
                match item {
                    Value::Object(m) => {
                        if let Some(l) = line_item(&mut c, i, m, currency) {
                            lines.push(l);
                        }
                    }
                    _ => c.add(
                        "invalid_type",
                        &format!("line_items.{i}"),
                        "Each line item must be an object.",
                    ),
                }
            }
        }
        None | Some(Value::Null) => c.add(
            "required",
            "line_items",
            "The line items field is required.",
        ),
        Some(Value::Array(_)) => c.add(
            "required",
            "line_items",
            "An order needs at least one line item.",
        ),
        Some(_) => c.add(
            "invalid_type",
            "line_items",
            "The line items must be an array.",
        ),
    }
    let shipping = address(&mut c, "shipping", dto.shipping);
    let billing = address(&mut c, "billing", dto.billing);
    let shipping_price = amount(
        &mut c,
        "shipping_price",
        dto.shipping_price.as_ref(),
        currency,
    );
    let tax = amount(&mut c, "tax", dto.tax.as_ref(), currency);
    let status = order::order_status(&mut c, dto.status.as_deref());
    let status_payment = order::payment_status(&mut c, dto.status_payment.as_deref());
    let status_fulfillment = order::fulfillment_status(&mut c, dto.status_fulfillment.as_deref());
    let customer_reference = match dto.customer_reference {
        Some(r) if !r.trim().is_empty() => {
            let r = r.trim().to_owned();
            if r.len() > 64 || r.chars().any(char::is_control) {
                c.add(
                    "invalid_reference",
                    "customer_reference",
                    "The customer reference must be at most 64 printable characters.",
                );
            }
            Some(r)
        }
        _ => None,
    };
    let references = object(&mut c, "references", dto.references);
    let meta = object(&mut c, "meta", dto.meta);
    let created = match dto.created {
        None => None,
        Some(secs) => {
            let t = chrono::DateTime::from_timestamp(secs, 0).map(|t| t.naive_utc());
            if t.is_none() || secs < 0 {
                c.add(
                    "invalid_date",
                    "created",
                    "The created must be a Unix time in seconds.",
                );
            }
            t
        }
    };
    c.finish()?;
    let (Some(buyer), Some(currency)) = (buyer, currency) else {
        return Err(
            ValidationError::field("invalid", "body", "The given data was invalid.").into(),
        );
    };
    let new = NewOrder {
        buyer,
        currency,
        line_items: lines,
        shipping,
        billing,
        shipping_price,
        tax,
        status,
        status_payment,
        status_fulfillment,
        customer_reference,
        references,
        meta,
        created,
    };
    order::check_total(&new)?;
    Ok(new)
}

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
    query: OrderListQuery,
) -> Result<HttpResponse, ApiError> {
    let page = state.orders.list(query).await?;
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
    let row = state.orders.create(order).await?;
    Ok(HttpResponse::Created().json(render(row)))
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
    respond_page(&req, &state, query).await
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
    Ok(HttpResponse::Ok().json(render(state.orders.get(&id).await?)))
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
    Ok(HttpResponse::Ok().json(render(state.orders.update(&id, patch).await?)))
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
    respond_page(&req, &state, query).await
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
    let row = state.orders.get_for_customer(&customer, &order).await?;
    Ok(HttpResponse::Ok().json(render(row)))
}
