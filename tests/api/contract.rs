//! The OpenAPI document and the server agree, checked from the document itself so that a new
//! operation is covered without a new test: required fields, methods (405 with `Allow`), links
//! and the credential each operation needs.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp, SECRET_KEY};
use crate::store_api::{spawn as spawn_with_stores, ADMIN_KEY, DEFAULT_STORE};

async fn document(app: &TestApp) -> Value {
    app.client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

const METHODS: [&str; 4] = ["get", "post", "put", "delete"];

/// The document's paths with real ids in place of the templates (stores: the default one).
fn concrete(path: &str, customer: &str, order: &str) -> String {
    path.replace("{customer_id}", customer)
        .replace("{order_id}", order)
        .replace("{store_id}", DEFAULT_STORE)
}

/// The key an operation documents: the admin key for the store API, else the secret key.
fn key_for(op: &Value) -> &'static str {
    let schemes = op["security"].as_array().into_iter().flatten();
    if schemes
        .filter_map(Value::as_object)
        .any(|s| s.contains_key("admin_key"))
    {
        ADMIN_KEY
    } else {
        SECRET_KEY
    }
}

async fn seeded(app: &TestApp) -> (String, String) {
    let customer = app.create_email("contract@example.com").await;
    let customer = customer["id"].as_str().unwrap().to_owned();
    let (status, order) = status_json(
        app.secret(Method::POST, "/v1/orders")
            .json(&json!({
                "customer_id": customer,
                "currency": "USD",
                "line_items": [{"product_name": "Mug", "quantity": 1, "price": "9.00"}],
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    (customer, order["id"].as_str().unwrap().to_owned())
}

/// A body of `{}` is refused naming exactly the fields the document marks required (the
/// customer of an order is documented as `customer_id` or `customer`).
async fn required_fields_are_what_the_server_requires(backend: Backend) {
    let app = spawn_with_stores(backend).await;
    let (customer, order) = seeded(&app).await;
    let doc = document(&app).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let Some(schema_ref) =
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            else {
                continue;
            };
            let name = schema_ref.rsplit('/').next().unwrap();
            let schema = &doc["components"]["schemas"][name];
            // An allOf (the order's "customer_id or customer") keeps the fields in its first part.
            let schema = schema["allOf"].get(0).unwrap_or(schema);
            let mut documented: Vec<String> = schema["required"]
                .as_array()
                .map(|r| r.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            if name == "OrderCreate" {
                // anyOf: customer_id or customer; the server names customer_id.
                documented.push("customer_id".into());
            }
            documented.sort();
            let url = concrete(path, &customer, &order);
            let res = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&url))
                .header("X-Authorization", key_for(op))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let (status, body) = status_json(res).await;
            let mut refused: Vec<String> = body["error"]["errors"]
                .as_object()
                .map(|e| e.keys().cloned().collect())
                .unwrap_or_default();
            refused.sort();
            if documented.is_empty() {
                assert!(status < 400, "{method} {path} with {{}}: {status} {body}");
            } else {
                assert_eq!(status, 422, "{method} {path} with {{}}: {body}");
                assert_eq!(refused, documented, "{method} {path}: {body}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} operations with a body");
}

/// Every documented path answers 405 with `Allow` naming exactly its documented methods (and
/// HEAD beside GET) to any other method.
async fn other_methods_are_405_with_allow(backend: Backend) {
    let app = spawn_with_stores(backend).await;
    let doc = document(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let mut allowed: Vec<&str> = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| match *m {
                "get" => "GET",
                "post" => "POST",
                "put" => "PUT",
                _ => "DELETE",
            })
            .collect();
        if allowed.contains(&"GET") {
            allowed.insert(1, "HEAD");
        }
        let url = concrete(path, "cstmr_AAAAAAAAAAAAAA", "ord_AAAAAAAAAAAAAA");
        for method in ["TRACE", "PATCH", "OPTIONS", "DELETE", "PUT", "POST"] {
            if allowed.contains(&method) {
                continue;
            }
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(&url))
                .header("X-Authorization", SECRET_KEY)
                .send()
                .await
                .unwrap();
            let allow = res
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            let (status, body) = status_json(res).await;
            assert_eq!(status, 405, "{method} {path}: {body}");
            assert_error(&body, 405, "method_not_allowed", "method_not_allowed");
            assert_eq!(
                allow.as_deref(),
                Some(allowed.join(", ").as_str()),
                "{method} {path}"
            );
        }
    }
    for path in ["/openapi.json", "/docs/"] {
        let res = app
            .client
            .request(Method::TRACE, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{path}");
        assert_eq!(res.headers()["allow"], "GET, HEAD", "{path}");
    }
}

/// Each link names an operation of the document and only parameters that operation takes.
async fn links_lead_to_operations_that_take_the_ids(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = document(&app).await;
    let mut operations = std::collections::HashMap::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                operations.insert(op["operationId"].as_str().unwrap().to_owned(), op.clone());
            }
        }
    }
    let mut links = 0;
    for (source, op) in &operations {
        for (status, response) in op["responses"].as_object().unwrap() {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap();
                let target_op = operations
                    .get(target)
                    .unwrap_or_else(|| panic!("{source} {status} {name}: no operation {target}"));
                for param in link["parameters"].as_object().unwrap().keys() {
                    assert!(
                        target_op["parameters"]
                            .as_array()
                            .is_some_and(|ps| ps.iter().any(|p| p["name"] == param.as_str())),
                        "{source} {status} {name}: {target} takes no {param}"
                    );
                }
                links += 1;
            }
        }
    }
    for (source, status, name) in [
        ("create_customer", "201", "GetCustomer"),
        ("create_customer", "201", "UpdateCustomer"),
        ("create_customer", "201", "DeleteCustomer"),
        ("create_order", "201", "GetOrder"),
        ("create_order", "201", "UpdateOrder"),
        ("create_store", "201", "GetStore"),
        ("create_store", "201", "UpdateStore"),
        ("create_store", "201", "DeleteStore"),
    ] {
        assert!(
            operations[source]["responses"][status]["links"][name].is_object(),
            "{source} {status} links {name}"
        );
    }
    assert!(links >= 10, "{links}");
}

/// A customer-only operation without a customer token is a 401 that names the scheme, with or
/// without a merchant key beside it; a customer token where a secret key is needed is a 403.
async fn missing_credentials_are_401_and_the_wrong_kind_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, _) = seeded(&app).await;
    for path in ["/v1/customers/logout", "/v1/customers/logout-all"] {
        for key in [None, Some(SECRET_KEY), Some(crate::helpers::PUBLIC_KEY)] {
            let mut req = app.client.post(app.url(path));
            if let Some(key) = key {
                req = req.header("X-Authorization", key);
            }
            let res = req.send().await.unwrap();
            let challenge = res
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            let (status, body) = status_json(res).await;
            assert_eq!(status, 401, "{path} with {key:?}: {body}");
            if key.is_some() {
                assert_error(
                    &body,
                    401,
                    "authentication_error",
                    "customer_token_required",
                );
                assert_eq!(challenge.as_deref(), Some("Bearer realm=\"patron\""));
            }
        }
    }
    // A credential patron cannot use is refused, not ignored in favour of the merchant key
    // beside it.
    for value in ["Basic dXNlcjpwYXNz", "abc", "Bearerabc", ""] {
        let res = app
            .secret(Method::GET, &format!("/v1/customers/{customer}/orders"))
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        let (status, body) = status_json(res).await;
        assert_eq!(status, 401, "Authorization: {value:?}: {body}");
        assert_error(
            &body,
            401,
            "authentication_error",
            "unsupported_authorization",
        );
    }
    let jwt = app.issue_jwt(&customer).await;
    // Beside a customer token the merchant header is not checked (Commerce.js sends its public
    // key, or the string "undefined"), but junk there is refused like any unusable credential.
    let own = format!("/v1/customers/{customer}");
    for (beside, expected) in [
        (None, 200),
        (Some("undefined"), 200),
        (Some(""), 401),
        (Some(crate::helpers::PUBLIC_KEY), 200),
        (Some("not-a-key"), 401),
        (Some("Bearer abc"), 401),
    ] {
        let mut req = app
            .client
            .get(app.url(&own))
            .header("Authorization", format!("Bearer {jwt}"));
        if let Some(value) = beside {
            req = req.header("X-Authorization", value);
        }
        let (status, body) = status_json(req.send().await.unwrap()).await;
        assert_eq!(status, expected, "X-Authorization {beside:?}: {body}");
    }
    let res = app
        .client
        .get(app.url("/v1/customers"))
        .header("Authorization", format!("Bearer {jwt}"))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(res).await;
    assert_eq!(status, 403, "{body}");
}

/// A body that is not an object (`null` included) is refused wherever a body is read.
async fn a_null_body_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/v1/customers",
        "/v1/customers/password-reset/verify",
        "/v1/customers/email-token",
    ] {
        let res = app
            .secret(Method::POST, path)
            .header("Content-Type", "application/json")
            .body("null")
            .send()
            .await
            .unwrap();
        let (status, body) = status_json(res).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_error(&body, 422, "unprocessable_entity", "invalid_body");
    }
}

/// Enumerated and numeric parameters take exactly the documented values: an empty value is not
/// "absent" but a 422, as is a value in another case.
async fn empty_or_miscased_parameters_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, _) = seeded(&app).await;
    let lists = [
        "/v1/customers".to_owned(),
        "/v1/orders".to_owned(),
        format!("/v1/customers/{customer}/orders"),
    ];
    for list in &lists {
        for (query, field) in [
            ("sortDirection=", "sortDirection"),
            ("sortDirection=DESC", "sortDirection"),
            ("sortBy=", "sortBy"),
            ("sortBy=CREATED_AT", "sortBy"),
            ("limit=", "limit"),
            ("page=", "page"),
        ] {
            let url = format!("{list}?{query}");
            let (status, body) =
                status_json(app.secret(Method::GET, &url).send().await.unwrap()).await;
            assert_eq!(status, 422, "{url}: {body}");
            assert!(body["error"]["errors"][field].is_array(), "{url}: {body}");
        }
        for query in ["sortDirection=asc", "sortBy=created_at", "sortBy=updated"] {
            let url = format!("{list}?{query}");
            let (status, body) =
                status_json(app.secret(Method::GET, &url).send().await.unwrap()).await;
            assert_eq!(status, 200, "{url}: {body}");
        }
    }
}

crate::on_both_backends!(
    required_fields_are_what_the_server_requires,
    other_methods_are_405_with_allow,
    links_lead_to_operations_that_take_the_ids,
    missing_credentials_are_401_and_the_wrong_kind_403,
    a_null_body_is_refused,
    empty_or_miscased_parameters_are_refused,
);
