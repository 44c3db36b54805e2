//! `GET /v1/merchants` (Commerce.js `merchants.about()`): the store of the key that asks, in
//! Chec's merchant shape.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, PUBLIC_KEY, SECRET_KEY};
use crate::stores::{
    admin, create_store, default_store_id, is_store_id, keyed, send, spawn, ADMIN_KEY,
};

/// Every key of Chec's merchant object.
const MERCHANT_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "status",
    "country",
    "currency",
    "support_email",
    "logo",
    "has",
    "meta",
];

fn assert_merchant_shape(m: &Value) {
    for field in MERCHANT_FIELDS {
        assert!(m.get(*field).is_some(), "{field} missing: {m}");
    }
    assert!(is_store_id(m["id"].as_str().unwrap_or("")), "{m}");
    assert!(m["name"].is_string(), "{m}");
    assert_eq!(m["status"], "active", "{m}");
    assert_eq!(m["logo"], Value::Null, "{m}");
    assert!(m["has"].is_object(), "{m}");
}

async fn merchants_answers_the_default_store_to_a_single_shop(backend: Backend) {
    // No admin key: a deployment that never heard of stores.
    let app = TestApp::spawn(backend).await;
    let (status, by_public) = send(keyed(&app, PUBLIC_KEY, Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "{by_public}");
    assert_merchant_shape(&by_public);
    // The default store has no settings of its own.
    for field in ["country", "currency", "support_email"] {
        assert_eq!(by_public[field], Value::Null, "{field}: {by_public}");
    }
    let (status, by_secret) = send(keyed(&app, SECRET_KEY, Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "{by_secret}");
    assert_eq!(by_secret, by_public, "either key, the same store");

    let (status, err) = send(app.client.request(Method::GET, app.url("/v1/merchants"))).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["error"]["type"], "authentication_error");
    let (status, _) = send(keyed(
        &app,
        "pk_test_unknownunknownunknown",
        Method::GET,
        "/v1/merchants",
    ))
    .await;
    assert_eq!(status, 401);
}

async fn merchants_answers_the_store_of_the_key(backend: Backend) {
    let app = spawn(backend).await;
    let default_id = default_store_id(&app).await;
    let (status, list) = send(admin(&app, Method::GET, "/v1/stores")).await;
    assert_eq!(status, 200, "{list}");
    let marked: Vec<&Value> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|s| s["default"] == true)
        .map(|s| &s["id"])
        .collect();
    assert_eq!(marked, [&json!(default_id)], "{list}");

    let (_, b) = create_store(
        &app,
        json!({
            "name": "Shop B", "support_email": "help@shop-b.example",
            "currency": "EUR", "country": "SE",
        }),
    )
    .await;
    let (status, by_public) = send(b.public(Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "{by_public}");
    assert_merchant_shape(&by_public);
    assert_eq!(by_public["id"], b.id.as_str());
    assert_ne!(by_public["id"], default_id.as_str());
    assert_eq!(by_public["name"], "Shop B");
    assert_eq!(by_public["support_email"], "help@shop-b.example");
    assert_eq!(by_public["country"], "SE");
    assert_eq!(by_public["currency"], json!({"code": "EUR", "symbol": "€"}));
    let (status, by_secret) = send(b.secret(Method::GET, "/v1/merchants")).await;
    assert_eq!((status, by_secret), (200, by_public));

    let (status, default) = send(keyed(&app, PUBLIC_KEY, Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200);
    assert_eq!(default["id"], default_id.as_str());
    assert_ne!(default["name"], "Shop B");

    let (status, err) = send(keyed(&app, ADMIN_KEY, Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 403, "the operator's key names no store: {err}");
}

crate::on_both_backends!(
    merchants_answers_the_default_store_to_a_single_shop,
    merchants_answers_the_store_of_the_key,
);
