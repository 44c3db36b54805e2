//! What an order request may say (the types the OpenAPI document shows), and how a request
//! becomes the input of the order's rules in `domain::order`.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::super::body::{nullable, typed};
use super::super::error::ApiError;
use crate::domain::order::{BuyerInput, NewOrder, OrderInput};

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

impl From<OrderCustomerInput> for BuyerInput {
    fn from(c: OrderCustomerInput) -> Self {
        BuyerInput {
            email: c.email,
            firstname: c.firstname,
            lastname: c.lastname,
            phone: c.phone,
        }
    }
}

/// Reads the raw body into the order's rules (`NewOrder::parse`). The line items are taken out
/// before the typed read, which would name only the first wrong field of the first bad item.
pub(super) fn parse_new_order(body: Value) -> Result<NewOrder, ApiError> {
    let mut map = super::super::body::fields_of::<OrderCreate>(body)?;
    let line_items = map.remove("line_items");
    // Everything but the line items goes through the typed DTO (wrong types name the field).
    let dto: OrderCreate = typed(Value::Object(map))?;
    Ok(NewOrder::parse(OrderInput {
        customer_id: dto.customer_id,
        customer: dto.customer.map(BuyerInput::from),
        currency: dto.currency,
        line_items,
        shipping: dto.shipping,
        billing: dto.billing,
        shipping_price: dto.shipping_price,
        tax: dto.tax,
        status: dto.status,
        status_payment: dto.status_payment,
        status_fulfillment: dto.status_fulfillment,
        customer_reference: dto.customer_reference,
        references: dto.references,
        meta: dto.meta,
        created: dto.created,
    })?)
}
