//! The OpenAPI document: committed, served, and complete.

use serde_json::Value;

use crate::helpers::{Backend, TestApp};

#[test]
fn committed_openapi_matches_the_code() {
    let generated = patron::http::openapi::document();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var("PATRON_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("write openapi/openapi.json");
        return;
    }
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json` \
         (or PATRON_UPDATE_OPENAPI=1 cargo test committed_openapi) and commit it"
    );
}

#[actix_web::test]
async fn served_document_is_openapi_31_with_both_security_schemes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value = serde_json::from_str(&patron::http::openapi::document()).unwrap();
    assert_eq!(doc, committed, "the served document is the generated one");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["merchant_key"]["type"], "apiKey");
    assert_eq!(schemes["merchant_key"]["name"], "X-Authorization");
    assert_eq!(schemes["customer_jwt"]["scheme"], "bearer");
    for (path, methods) in [
        ("/v1/customers", &["get", "post"][..]),
        ("/v1/customers/{customer_id}", &["get", "put", "delete"][..]),
        ("/v1/customers/email-token", &["post"][..]),
        ("/v1/customers/exchange-token", &["post"][..]),
        ("/v1/customers/{customer_id}/issue-token", &["post"][..]),
        ("/v1/customers/logout", &["post"][..]),
        ("/v1/customers/{customer_id}/orders", &["get"][..]),
        (
            "/v1/customers/{customer_id}/orders/{order_id}",
            &["get"][..],
        ),
        ("/v1/orders", &["get", "post"][..]),
        ("/v1/orders/{order_id}", &["get", "put"][..]),
        ("/.well-known/jwks.json", &["get"][..]),
        ("/v1/customers/register", &["post"][..]),
        ("/v1/customers/verify-email", &["post"][..]),
        ("/v1/customers/login", &["post"][..]),
        ("/v1/customers/password-reset-email", &["post"][..]),
        ("/v1/customers/password-reset/verify", &["post"][..]),
        ("/v1/customers/password-reset", &["post"][..]),
        ("/v1/customers/logout-all", &["post"][..]),
        ("/healthz", &["get"][..]),
        ("/readyz", &["get"][..]),
    ] {
        for m in methods {
            assert!(doc["paths"][path][m].is_object(), "{m} {path} documented");
        }
    }
    // Passwords are write-only: documented on requests, never on the customer object.
    let customer = &doc["components"]["schemas"]["CustomerView"]["properties"];
    assert!(customer["has_password"].is_object());
    assert!(customer.get("password").is_none() && customer.get("password_hash").is_none());
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "Swagger UI is served"
    );
}
