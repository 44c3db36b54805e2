//! Unknown body fields are ignored, as the OpenAPI document allows (it does not forbid other
//! properties): they are dropped before anything reads the body, so nothing in them (a NUL, a
//! wrong type) can make a request that the document calls valid fail. What a field is, is
//! what the document says: the two cannot drift apart.

use std::sync::OnceLock;

use serde_json::{Map, Value};

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(&super::openapi::document()).unwrap_or_default())
}

/// The component schema a property refers to, directly or as one branch of a nullable
/// `oneOf`/`anyOf`.
fn referenced(property: &Value) -> Option<&str> {
    direct_ref(property).or_else(|| {
        ["oneOf", "anyOf", "allOf"]
            .iter()
            .filter_map(|key| property.get(*key)?.as_array())
            .flatten()
            .find_map(direct_ref)
    })
}

fn direct_ref(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.rsplit('/').next()
}

/// The properties of a component schema (of its first part, for an `allOf`).
fn properties(schema_name: &str) -> Option<&'static Map<String, Value>> {
    let schema = document().pointer(&format!("/components/schemas/{schema_name}"))?;
    let schema = schema.get("allOf").and_then(|a| a.get(0)).unwrap_or(schema);
    schema.get("properties")?.as_object()
}

/// Drops every key of `body` the schema `schema_name` does not name, at every level the
/// document describes (nested input objects and arrays of them); free-form objects such as
/// `meta` are kept whole.
pub fn prune(schema_name: &str, body: &mut Value) {
    if let Value::Object(map) = body {
        prune_fields(schema_name, map);
    }
}

/// [`prune`] for a body already known to be an object.
pub fn prune_fields(schema_name: &str, map: &mut Map<String, Value>) {
    let Some(known) = properties(schema_name) else {
        return;
    };
    map.retain(|key, _| known.contains_key(key));
    for (key, value) in map.iter_mut() {
        let property = &known[key];
        if let Some(inner) = referenced(property) {
            prune(inner, value);
        } else if let Some(inner) = property.get("items").and_then(referenced) {
            if let Value::Array(items) = value {
                for item in items {
                    prune(inner, item);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_go_at_every_described_level() {
        let mut body = json!({
            "customer_id": "cstmr_x",
            "unknown": "\u{0}",
            "customer": {"email": "a@example.com", "extra": 1},
            "line_items": [{"product_name": "Mug", "colour": "red"}],
            "meta": {"anything": {"goes": "\u{0}"}},
        });
        prune("OrderCreate", &mut body);
        assert_eq!(
            body,
            json!({
                "customer_id": "cstmr_x",
                "customer": {"email": "a@example.com"},
                "line_items": [{"product_name": "Mug"}],
                "meta": {"anything": {"goes": "\u{0}"}},
            })
        );
        let mut login = json!({"email": "a@example.com", "password": "x", "remember": true});
        prune("PasswordLoginRequest", &mut login);
        assert_eq!(login, json!({"email": "a@example.com", "password": "x"}));
    }
}
