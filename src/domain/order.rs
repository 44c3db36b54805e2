//! An order as the checkout records it, validated: exact money, known currency, sane lines.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::customer::{Meta, MAX_NAME_LEN, MAX_PHONE_LEN};
use super::money::{parse_amount, Currency, MAX_MINOR};
use super::validation::{opt_text, text, Collector, ValidationError};
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

impl NewLineItem {
    /// The line as recorded, under an id of its own.
    pub fn record(&self) -> LineItem {
        LineItem {
            id: LineItemId::generate(),
            product_id: self.product_id.clone(),
            product_name: self.product_name.clone(),
            product_sku: self.product_sku.clone(),
            quantity: self.quantity,
            price: self.price,
        }
    }
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

/// The buyer of an order request without a `customer_id`, as sent.
#[derive(Debug, Clone, Default)]
pub struct BuyerInput {
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
}

/// An order request as sent, its fields of the right JSON types (the HTTP side checks those);
/// the line items are raw JSON, read here item by item so each error names its path.
#[derive(Debug, Clone, Default)]
pub struct OrderInput {
    pub customer_id: Option<String>,
    pub customer: Option<BuyerInput>,
    pub currency: Option<String>,
    pub line_items: Option<Value>,
    pub shipping: Option<Value>,
    pub billing: Option<Value>,
    pub shipping_price: Option<Value>,
    pub tax: Option<Value>,
    pub status: Option<String>,
    pub status_payment: Option<String>,
    pub status_fulfillment: Option<String>,
    pub customer_reference: Option<String>,
    pub references: Option<Value>,
    pub meta: Option<Value>,
    /// Unix seconds.
    pub created: Option<i64>,
}

impl NewOrder {
    /// Checks every field of `input`; the error names each bad one.
    pub fn parse(input: OrderInput) -> Result<NewOrder, ValidationError> {
        let mut c = Collector::new();
        let currency = currency(&mut c, input.currency.as_deref());
        let buyer = buyer(&mut c, input.customer_id.as_deref(), input.customer);
        let lines = line_items(&mut c, input.line_items, currency);
        let shipping = address(&mut c, "shipping", input.shipping);
        let billing = address(&mut c, "billing", input.billing);
        let shipping_price = amount(
            &mut c,
            "shipping_price",
            input.shipping_price.as_ref(),
            currency,
        );
        let tax = amount(&mut c, "tax", input.tax.as_ref(), currency);
        let status = order_status(&mut c, input.status.as_deref());
        let status_payment = payment_status(&mut c, input.status_payment.as_deref());
        let status_fulfillment = fulfillment_status(&mut c, input.status_fulfillment.as_deref());
        let customer_reference = customer_reference(&mut c, input.customer_reference);
        let references = object(&mut c, "references", input.references);
        let meta = object(&mut c, "meta", input.meta);
        let created = created(&mut c, input.created);
        c.finish()?;
        let (Some(buyer), Some(currency)) = (buyer, currency) else {
            return Err(ValidationError::field(
                "invalid",
                "body",
                "The given data was invalid.",
            ));
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
        check_total(&new)?;
        Ok(new)
    }
}

fn currency(c: &mut Collector, raw: Option<&str>) -> Option<Currency> {
    match raw.map(str::trim) {
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
    }
}

/// An existing customer by id (which wins when both are given), or one found or created by
/// email.
fn buyer(
    c: &mut Collector,
    customer_id: Option<&str>,
    customer: Option<BuyerInput>,
) -> Option<Buyer> {
    match (customer_id, customer) {
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
            let firstname = opt_text(c, "customer.firstname", cust.firstname, MAX_NAME_LEN);
            let lastname = opt_text(c, "customer.lastname", cust.lastname, MAX_NAME_LEN);
            let phone = opt_text(c, "customer.phone", cust.phone, MAX_PHONE_LEN);
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
    }
}

/// At least one and at most [`MAX_LINE_ITEMS`] line items, each checked by [`line_item`].
fn line_items(
    c: &mut Collector,
    raw: Option<Value>,
    currency: Option<Currency>,
) -> Vec<NewLineItem> {
    let mut lines = Vec::new();
    match raw {
        Some(Value::Array(items)) if !items.is_empty() => {
            if items.len() > MAX_LINE_ITEMS {
                c.add(
                    "too_many_line_items",
                    "line_items",
                    format!("An order may have at most {MAX_LINE_ITEMS} line items."),
                );
            }
            for (i, item) in items.iter().take(MAX_LINE_ITEMS).enumerate() {
                match item {
                    Value::Object(m) => {
                        if let Some(l) = line_item(c, i, m, currency) {
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
    lines
}

/// The merchant's own reference, trimmed; blank means one is generated.
fn customer_reference(c: &mut Collector, raw: Option<String>) -> Option<String> {
    match raw {
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
    }
}

/// When an imported past order was placed: Unix seconds, not before 1970.
fn created(c: &mut Collector, secs: Option<i64>) -> Option<NaiveDateTime> {
    let secs = secs?;
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

/// A status change: left out keeps the status, `null` is refused (a status cannot be
/// cleared), a value is checked by `parse`.
pub fn status_change(
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
fn address(c: &mut Collector, field: &str, value: Option<Value>) -> Option<Map<String, Value>> {
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
fn amount(
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
fn line_item(
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
fn check_total(order: &NewOrder) -> Result<(), ValidationError> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input() -> OrderInput {
        OrderInput {
            customer: Some(BuyerInput {
                email: Some("Leslie@Example.com".into()),
                firstname: Some("  ".into()),
                ..Default::default()
            }),
            currency: Some(" usd ".into()),
            line_items: Some(json!([{"product_name": "Book", "quantity": 2, "price": "18.75"}])),
            shipping_price: Some(json!("5")),
            customer_reference: Some("  REF-1 ".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_order_is_read_with_its_defaults() {
        let order = NewOrder::parse(input()).unwrap();
        let Buyer::ByEmail {
            email, firstname, ..
        } = &order.buyer
        else {
            panic!("{:?}", order.buyer);
        };
        assert_eq!(email.normalized(), "leslie@example.com");
        assert_eq!(*firstname, None, "blank counts as left out");
        assert_eq!(order.currency.code(), "USD");
        assert_eq!((order.subtotal(), order.total()), (3750, 4250));
        assert_eq!(order.customer_reference.as_deref(), Some("REF-1"));
        assert_eq!(
            (
                order.status.as_str(),
                order.status_payment.as_str(),
                order.status_fulfillment.as_str()
            ),
            ("open", "not_paid", "not_fulfilled")
        );
    }

    /// Every bad field is named at once, each by its path.
    #[test]
    fn every_bad_field_is_named() {
        let bad = OrderInput {
            customer_id: Some("cstmr_nope".into()),
            line_items: Some(json!([{"product_name": "", "quantity": 0, "price": "1"}, 7])),
            status_payment: Some("gratis".into()),
            created: Some(-1),
            ..input()
        };
        let err = NewOrder::parse(bad).unwrap_err();
        let fields: Vec<&str> = err.errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "created",
                "customer_id",
                "line_items.0.product_name",
                "line_items.0.quantity",
                "line_items.1",
                "status_payment",
            ]
        );
    }

    #[test]
    fn a_status_is_kept_set_or_refused_when_cleared() {
        let mut c = Collector::new();
        assert_eq!(status_change(&mut c, "status", None, order_status), None);
        assert_eq!(
            status_change(&mut c, "status", Some(Some("shipped".into())), order_status),
            Some("shipped".into())
        );
        assert!(c.finish().is_ok());
        let mut c = Collector::new();
        assert_eq!(
            status_change(&mut c, "status", Some(None), order_status),
            None
        );
        assert_eq!(
            c.finish().unwrap_err().errors.keys().collect::<Vec<_>>(),
            ["status"]
        );
    }
}
