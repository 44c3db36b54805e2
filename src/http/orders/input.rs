//! What an order request may say, read field by field so each error names its path.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::super::body::{nullable, typed};
use super::super::error::ApiError;
use super::super::fields::opt_text;
use crate::domain::customer::{MAX_NAME_LEN, MAX_PHONE_LEN};
use crate::domain::money::Currency;
use crate::domain::order::{self, address, amount, line_item, object, Buyer, NewOrder};
use crate::domain::validation::Collector;
use crate::domain::{CustomerId, Email, ValidationError};

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
pub(super) fn status_change(
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
pub(super) fn parse_new_order(body: Value) -> Result<NewOrder, ApiError> {
    let mut map = super::super::body::fields_of::<OrderCreate>(body)?;
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
