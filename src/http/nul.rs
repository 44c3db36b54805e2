//! NUL (U+0000) is refused in every text a client sends: query parameters, path ids and body
//! fields, down to the strings and keys nested in `meta`. PostgreSQL can store it neither in
//! text nor in JSON, so letting it reach a query answers 500 there and something else on SQLite;
//! refused at the edge, it is the same 422 naming the parameter on both.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;
use serde_json::Value;

use super::error::ApiError;
use crate::domain::validation::Collector;
use crate::domain::ValidationError;

const CODE: &str = "invalid_characters";

fn refuse(c: &mut Collector, field: &str) {
    c.add(
        CODE,
        field,
        format!("The {field} may not contain the NUL character."),
    );
}

/// A name that itself holds NUL is shown with the NUL written out, so the error body stays text.
fn shown(name: &str) -> String {
    name.replace('\0', "\\u0000")
}

/// Every query parameter whose name or value holds NUL, once decoded.
pub fn check_query(query: &str) -> Result<(), ValidationError> {
    let mut c = Collector::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name.contains('\0') || value.contains('\0') {
            refuse(&mut c, &shown(&name));
        }
    }
    c.finish()
}

/// A path parameter such as `customer_id`.
pub fn check_path(name: &str, raw: &str) -> Result<(), ValidationError> {
    let mut c = Collector::new();
    if raw.contains('\0') {
        refuse(&mut c, name);
    }
    c.finish()
}

/// Every string and key in a JSON body, each named by its path (`meta.a.0`).
pub fn check_json(body: &Value) -> Result<(), ValidationError> {
    let mut c = Collector::new();
    walk(&mut c, "", body);
    c.finish()
}

/// [`check_json`] for the fields of a body object.
pub fn check_fields(fields: &serde_json::Map<String, Value>) -> Result<(), ValidationError> {
    let mut c = Collector::new();
    walk_object(&mut c, "", fields);
    c.finish()
}

fn walk(c: &mut Collector, path: &str, value: &Value) {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => {
            refuse(c, if path.is_empty() { "body" } else { path })
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(c, &child(&i.to_string()), item);
            }
        }
        Value::Object(map) => walk_object(c, path, map),
        _ => {}
    }
}

fn walk_object(c: &mut Collector, path: &str, map: &serde_json::Map<String, Value>) {
    for (key, item) in map {
        let at = if path.is_empty() {
            shown(key)
        } else {
            format!("{path}.{}", shown(key))
        };
        if key.contains('\0') {
            refuse(c, &at);
        }
        walk(c, &at, item);
    }
}

/// Refuses a request whose query string holds NUL before any handler reads it, so no list
/// filter, present or future, can pass one to the database.
pub async fn refuse_in_query(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if let Err(e) = check_query(req.query_string()) {
        return Ok(req
            .error_response(ApiError::Invalid(e))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(r: Result<(), ValidationError>) -> Vec<String> {
        r.err()
            .map(|e| e.errors.into_keys().collect())
            .unwrap_or_default()
    }

    #[test]
    fn query_names_each_parameter_holding_nul() {
        assert_eq!(
            fields(check_query("external_id=a%00b&query=ok&email=%00")),
            ["email", "external_id"]
        );
        assert_eq!(fields(check_query("a%00=1")), ["a\\u0000"]);
        assert!(check_query("query=%C3%B1&page=2").is_ok());
        assert!(check_query("").is_ok());
    }

    #[test]
    fn json_names_the_path_of_each_nul() {
        let body = json!({
            "firstname": "ok",
            "external_id": "a\u{0}b",
            "meta": {"a": {"b": ["x", "y\u{0}"]}, "k\u{0}": 1},
            "line_items": [{"product_name": "\u{0}"}],
        });
        assert_eq!(
            fields(check_json(&body)),
            [
                "external_id",
                "line_items.0.product_name",
                "meta.a.b.1",
                "meta.k\\u0000"
            ]
        );
        assert_eq!(fields(check_json(&json!("\u{0}"))), ["body"]);
        assert!(check_json(&json!({"meta": {"ñ": ["漢字", 1, null]}})).is_ok());
    }

    #[test]
    fn path_names_the_parameter() {
        let err = check_path("customer_id", "cstmr_\0").unwrap_err();
        assert_eq!(err.code, CODE);
        assert!(err.errors.contains_key("customer_id"));
        assert!(check_path("customer_id", "cstmr_x").is_ok());
    }
}
