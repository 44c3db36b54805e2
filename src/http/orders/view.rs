//! How a stored order is shown: Chec's order shape, with exact money.

use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::db::orders::OrderRow;
use crate::domain::customer::Meta;
use crate::domain::money::{Currency, Price};
use crate::domain::order::ADDRESS_FIELDS;

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
    #[schema(schema_with = super::super::openapi::object_or_empty_array)]
    pub meta: Value,
    pub order: OrderTotals,
    /// Shipping address (Chec address fields), `[]` when none.
    #[schema(schema_with = super::super::openapi::object_or_empty_array)]
    pub shipping: Value,
    /// Billing address, `[]` when none.
    #[schema(schema_with = super::super::openapi::object_or_empty_array)]
    pub billing: Value,
    /// Who placed the order (`null` once the customer was erased).
    #[schema(value_type = Option<Object>)]
    pub customer: Value,
    /// The merchant's own ids for this order, `[]` when none.
    #[schema(schema_with = super::super::openapi::object_or_empty_array)]
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

/// A line item as the service stores it (`service::orders`).
#[derive(Debug, serde::Deserialize)]
struct StoredLine {
    id: String,
    product_id: Option<String>,
    product_name: String,
    product_sku: Option<String>,
    quantity: i64,
    /// Unit price in minor units.
    price: i64,
}

/// A stored order this code cannot read: a bug or a damaged row, never shown as a price of 0.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("order {id}: stored currency {currency:?} is not a currency with minor units")]
    Currency { id: String, currency: String },
    #[error("order {id}: stored line items cannot be read: {cause}")]
    LineItems { id: String, cause: String },
}

/// Chec's order shape for a stored order; an order whose stored data cannot be read is an
/// error (logged, 500), not a silently wrong order.
pub fn render(row: OrderRow) -> Result<OrderView, RenderError> {
    let currency = Currency::parse(&row.currency).ok_or_else(|| RenderError::Currency {
        id: row.id.clone(),
        currency: row.currency.clone(),
    })?;
    let price = |minor: i64| Price::new(minor, currency);
    let stored: Vec<StoredLine> =
        serde_json::from_str(&row.line_items).map_err(|e| RenderError::LineItems {
            id: row.id.clone(),
            cause: e.to_string(),
        })?;
    let lines: Vec<LineItemView> = stored
        .into_iter()
        .map(|l| {
            let total = l.price.saturating_mul(l.quantity);
            LineItemView {
                id: l.id,
                product_id: l.product_id,
                product_name: l.product_name,
                product_sku: l.product_sku,
                quantity: l.quantity,
                price: price(l.price),
                line_total: price(total),
                line_total_with_tax: price(total),
                variant: json!([]),
                selected_options: json!([]),
            }
        })
        .collect();
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
    Ok(OrderView {
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
    })
}

/// A page of orders (documentation of `Paginated<OrderView>`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub data: Vec<OrderView>,
    pub meta: super::super::pagination::PageMeta,
}
