//! How an order is shown: Chec's order shape, with exact money.

use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::domain::money::{Currency, Price};
use crate::domain::order::{Order, ADDRESS_FIELDS};

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyView {
    #[schema(example = "USD")]
    pub code: String,
    #[schema(example = "$")]
    pub symbol: String,
}

/// Chec's currency object, wherever a currency is shown (orders, the merchant).
impl From<Currency> for CurrencyView {
    fn from(c: Currency) -> Self {
        CurrencyView {
            code: c.code().to_owned(),
            symbol: c.symbol(),
        }
    }
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

fn address_view(stored: Option<&Map<String, Value>>) -> Value {
    let Some(stored) = stored else {
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

/// Chec's order shape.
pub fn render(order: Order) -> OrderView {
    let currency = order.currency;
    let price = |minor: i64| Price::new(minor, currency);
    let customer = match (&order.customer_id, &order.buyer) {
        (Some(id), Some(buyer)) => json!({
            "id": id.as_str(),
            "email": buyer.email,
            "firstname": buyer.firstname,
            "lastname": buyer.lastname,
            "phone": buyer.phone,
        }),
        _ => Value::Null,
    };
    let paid = order.total_paid();
    let lines: Vec<LineItemView> = order
        .line_items
        .into_iter()
        .map(|l| {
            let total = l.line_total();
            LineItemView {
                id: l.id.into_string(),
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
    OrderView {
        version: "v1".into(),
        sandbox: false,
        id: order.id.into_string(),
        checkout_token_id: None,
        cart_id: None,
        customer_reference: order.customer_reference,
        created: order.created_at.and_utc().timestamp(),
        updated: order.updated_at.and_utc().timestamp(),
        status: order.status,
        status_payment: order.status_payment,
        status_fulfillment: order.status_fulfillment,
        currency: CurrencyView::from(currency),
        order_value: price(order.total),
        meta: order.meta.to_json(),
        order: OrderTotals {
            subtotal: price(order.subtotal),
            total: price(order.total),
            total_with_tax: price(order.total),
            total_paid: price(paid),
            shipping: ShippingLine {
                id: None,
                description: None,
                provider: "patron".into(),
                price: price(order.shipping_price),
            },
            line_items: lines,
            discount: json!([]),
            giftcard: json!([]),
        },
        shipping: address_view(order.shipping.as_ref()),
        billing: address_view(order.billing.as_ref()),
        customer,
        references: order.references.to_json(),
        tax: TaxView {
            amount: price(order.tax),
        },
    }
}

/// A page of orders (documentation of `Paginated<OrderView>`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub data: Vec<OrderView>,
    pub meta: super::super::pagination::PageMeta,
}
