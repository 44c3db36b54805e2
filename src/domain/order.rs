//! An order as the checkout records it, validated: exact money, known currency, sane lines.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::customer::Meta;
use super::money::{parse_amount, Currency, MAX_MINOR};
use super::validation::{text, Collector, ValidationError};
use super::{CustomerId, Email, LineItemId, OrderId};

pub const MAX_LINE_ITEMS: usize = 500;
pub const MAX_QUANTITY: i64 = 1_000_000;
const MAX_JSON_BYTES: usize = 16 * 1024;

pub const PAYMENT_STATUSES: &[&str] = &[
    "pending",
    "not_paid",
    "paid",
    "partially_paid",
    "refunded",
    "partially_refunded",
];
pub const FULFILLMENT_STATUSES: &[&str] = &[
    "not_fulfilled",
    "open",
    "partially_fulfilled",
    "fulfilled",
    "returned",
];
/// Chec's address fields, in Chec's order.
pub const ADDRESS_FIELDS: &[&str] = &[
    "name",
    "street",
    "street_2",
    "town_city",
    "postal_zip_code",
    "county_state",
    "country",
    "delivery_instructions",
];

/// What an order list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    CreatedAt,
    UpdatedAt,
}

/// Who bought: an existing customer, or an email that finds or creates one.
#[derive(Debug, Clone)]
pub enum Buyer {
    Existing(CustomerId),
    ByEmail {
        email: Email,
        firstname: Option<String>,
        lastname: Option<String>,
        phone: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct NewLineItem {
    pub product_id: Option<String>,
    pub product_name: String,
    pub product_sku: Option<String>,
    pub quantity: i64,
    /// Unit price in minor units.
    pub price: i64,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub buyer: Buyer,
    pub currency: Currency,
    pub line_items: Vec<NewLineItem>,
    pub shipping: Option<Map<String, Value>>,
    pub billing: Option<Map<String, Value>>,
    pub shipping_price: i64,
    pub tax: i64,
    pub status: String,
    pub status_payment: String,
    pub status_fulfillment: String,
    pub customer_reference: Option<String>,
    pub references: Option<Map<String, Value>>,
    pub meta: Option<Map<String, Value>>,
    pub created: Option<NaiveDateTime>,
}

impl NewOrder {
    pub fn subtotal(&self) -> i64 {
        self.line_items.iter().map(|l| l.price * l.quantity).sum()
    }

    pub fn total(&self) -> i64 {
        self.subtotal() + self.shipping_price + self.tax
    }
}

/// A line of a recorded order.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItem {
    pub id: LineItemId,
    pub product_id: Option<String>,
    pub product_name: String,
    pub product_sku: Option<String>,
    pub quantity: i64,
    /// Unit price in minor units.
    pub price: i64,
}

impl LineItem {
    /// Unit price times quantity, in minor units.
    pub fn line_total(&self) -> i64 {
        self.price.saturating_mul(self.quantity)
    }
}

/// Who placed an order, as they were when it was recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuyerSnapshot {
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
}

/// A recorded order, as read back: every stored part already decoded, so an order that could
/// not be read never gets this far.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    /// `None` once the customer was erased.
    pub customer_id: Option<CustomerId>,
    pub customer_reference: String,
    pub currency: Currency,
    pub status: String,
    pub status_payment: String,
    pub status_fulfillment: String,
    /// Amounts in minor units.
    pub subtotal: i64,
    pub shipping_price: i64,
    pub tax: i64,
    pub total: i64,
    pub line_items: Vec<LineItem>,
    /// Addresses (`ADDRESS_FIELDS` and `meta`), `None` when not given or erased.
    pub shipping: Option<Map<String, Value>>,
    pub billing: Option<Map<String, Value>>,
    /// `None` once the customer was erased.
    pub buyer: Option<BuyerSnapshot>,
    /// The merchant's own ids for the order.
    pub references: Meta,
    pub meta: Meta,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Order {
    /// What was paid: the total once the payment came in (`paid`, and the refunded states,
    /// which were paid first), 0 before.
    pub fn total_paid(&self) -> i64 {
        if matches!(
            self.status_payment.as_str(),
            "paid" | "refunded" | "partially_refunded"
        ) {
            self.total
        } else {
            0
        }
    }
}

/// A status field: one of `allowed`, or (when `allowed` is empty) any short snake_case word.
fn status(
    c: &mut Collector,
    field: &str,
    raw: Option<&str>,
    allowed: &[&str],
    default: &str,
) -> String {
    // Exactly as the OpenAPI document lists them: an empty or padded value is refused too.
    let Some(raw) = raw else {
        return default.to_owned();
    };
    let ok = if allowed.is_empty() {
        (1..=32).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    } else {
        allowed.contains(&raw)
    };
    if ok {
        raw.to_owned()
    } else if allowed.is_empty() {
        c.add(
            "invalid_status",
            field,
            format!("The {field} must be a lowercase word (letters and underscores)."),
        );
        default.to_owned()
    } else {
        c.add(
            "invalid_status",
            field,
            format!("The {field} must be one of {}.", allowed.join(", ")),
        );
        default.to_owned()
    }
}

/// The JSON Schema `pattern` of `status`.
pub const ORDER_STATUS_PATTERN: &str = "^[a-z_]{1,32}$";

/// `status`: any short snake_case word, default `open`.
pub fn order_status(c: &mut Collector, raw: Option<&str>) -> String {
    status(c, "status", raw, &[], "open")
}

/// `status_payment`: one of [`PAYMENT_STATUSES`], default `not_paid`.
pub fn payment_status(c: &mut Collector, raw: Option<&str>) -> String {
    status(c, "status_payment", raw, PAYMENT_STATUSES, "not_paid")
}

/// `status_fulfillment`: one of [`FULFILLMENT_STATUSES`], default `not_fulfilled`.
pub fn fulfillment_status(c: &mut Collector, raw: Option<&str>) -> String {
    status(
        c,
        "status_fulfillment",
        raw,
        FULFILLMENT_STATUSES,
        "not_fulfilled",
    )
}

/// A JSON object (or null) no larger than 16 KiB.
pub fn object(c: &mut Collector, field: &str, value: Option<Value>) -> Option<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Object(map)) => {
            let size = serde_json::to_vec(&map)
                .map(|v| v.len())
                .unwrap_or(usize::MAX);
            if size > MAX_JSON_BYTES {
                c.add(
                    "too_large",
                    field,
                    format!("The {field} may not be greater than {MAX_JSON_BYTES} bytes."),
                );
                None
            } else {
                Some(map)
            }
        }
        Some(_) => {
            c.add(
                "invalid_object",
                field,
                format!("The {field} must be an object."),
            );
            None
        }
    }
}

/// A Chec address: known fields only, each a string or null; `meta` any object.
pub fn address(c: &mut Collector, field: &str, value: Option<Value>) -> Option<Map<String, Value>> {
    let map = object(c, field, value)?;
    let mut clean = Map::new();
    for (key, v) in map {
        let path = format!("{field}.{key}");
        if key == "meta" {
            if let Some(m) = object(c, &path, Some(v)) {
                clean.insert(key, Value::Object(m));
            }
            continue;
        }
        if !ADDRESS_FIELDS.contains(&key.as_str()) {
            c.add(
                "invalid_address",
                &path,
                format!("The {path} is not an address field."),
            );
            continue;
        }
        match v {
            Value::Null => {}
            Value::String(s) => {
                if let Some(s) = c.take(text(&path, s, 255)) {
                    clean.insert(key, Value::String(s));
                }
            }
            _ => c.add(
                "invalid_type",
                &path,
                format!("The {path} must be a string."),
            ),
        }
    }
    Some(clean)
}

/// An amount in major units (`"12.50"` or `12.5`), read exactly into minor units.
pub fn amount(
    c: &mut Collector,
    field: &str,
    value: Option<&Value>,
    currency: Option<Currency>,
) -> i64 {
    match (value, currency) {
        (None | Some(Value::Null), _) => 0,
        (Some(_), None) => 0,
        (Some(v), Some(cur)) => match parse_amount(v, cur) {
            Ok(minor) => minor,
            Err(why) => {
                c.add("invalid_amount", field, format!("The {field} {why}."));
                0
            }
        },
    }
}

/// Checks the line items and totals; `Err` names each bad field.
pub fn line_item(
    c: &mut Collector,
    index: usize,
    item: &Map<String, Value>,
    currency: Option<Currency>,
) -> Option<NewLineItem> {
    let at = |f: &str| format!("line_items.{index}.{f}");
    let missing = |c: &mut Collector, f: &str| {
        c.add(
            "required",
            &at(f),
            format!("The {} field is required.", at(f)),
        );
    };
    let string = |c: &mut Collector, f: &str, required: bool| -> Option<String> {
        match item.get(f) {
            None | Some(Value::Null) => {
                if required {
                    missing(c, f);
                }
                None
            }
            Some(Value::String(s)) if required && s.trim().is_empty() => {
                missing(c, f);
                None
            }
            Some(Value::String(s)) => c.take(text(&at(f), s.clone(), 255)),
            Some(Value::Number(n)) if !required => Some(n.to_string()),
            Some(_) => {
                c.add(
                    "invalid_type",
                    &at(f),
                    format!("The {} must be a string.", at(f)),
                );
                None
            }
        }
    };
    let product_id = string(c, "product_id", false);
    let product_name = string(c, "product_name", true);
    let product_sku = string(c, "product_sku", false);
    let quantity = match item.get("quantity") {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(q) if (1..=MAX_QUANTITY).contains(&q) => Some(q),
            _ => {
                c.add(
                    "invalid_quantity",
                    &at("quantity"),
                    format!(
                        "The {} must be a whole number from 1 to {MAX_QUANTITY}.",
                        at("quantity")
                    ),
                );
                None
            }
        },
        None | Some(Value::Null) => {
            missing(c, "quantity");
            None
        }
        Some(_) => {
            c.add(
                "invalid_quantity",
                &at("quantity"),
                format!("The {} must be a whole number.", at("quantity")),
            );
            None
        }
    };
    let price = match item.get("price") {
        None | Some(Value::Null) => {
            missing(c, "price");
            None
        }
        Some(v) => currency.and_then(|cur| match parse_amount(v, cur) {
            Ok(p) => Some(p),
            Err(why) => {
                c.add(
                    "invalid_amount",
                    &at("price"),
                    format!("The {} {why}.", at("price")),
                );
                None
            }
        }),
    };
    let (product_name, quantity, price) = (product_name?, quantity?, price?);
    if price.checked_mul(quantity).is_none_or(|t| t > MAX_MINOR) {
        c.add(
            "invalid_amount",
            &at("price"),
            "The line total is too large.",
        );
        return None;
    }
    Some(NewLineItem {
        product_id,
        product_name,
        product_sku,
        quantity,
        price,
    })
}

/// Refuses totals beyond what is exact.
pub fn check_total(order: &NewOrder) -> Result<(), ValidationError> {
    let total = order
        .line_items
        .iter()
        .try_fold(0i64, |acc, l| acc.checked_add(l.price * l.quantity))
        .and_then(|s| s.checked_add(order.shipping_price))
        .and_then(|s| s.checked_add(order.tax));
    match total {
        Some(t) if t <= MAX_MINOR => Ok(()),
        _ => Err(ValidationError::field(
            "invalid_amount",
            "line_items",
            "The order total is too large.",
        )),
    }
}
