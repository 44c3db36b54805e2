//! Bad input never changes data and never crashes the server.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, status_json, Backend, TestApp};

async fn malformed_and_oversized_bodies_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let nested = format!(
        "{{\"email\":\"n@example.com\",\"meta\":{}{}}}",
        "{\"a\":".repeat(5000),
        "}".repeat(5000)
    );
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"email\":".into(), 400, "malformed_json"),
        ("not json at all".into(), 400, "malformed_json"),
        (String::new(), 400, "malformed_json"),
        ("[".repeat(100_000), 400, "malformed_json"),
        (nested, 400, "malformed_json"),
        (
            format!(
                "{{\"email\":\"big@example.com\",\"firstname\":\"{}\"}}",
                "a".repeat(3 * 1024 * 1024)
            ),
            413,
            "payload_too_large",
        ),
        ("[1,2,3]".into(), 422, "invalid_body"),
        ("\"a string\"".into(), 422, "invalid_body"),
        (
            "{\"email\": [\"a@example.com\"]}".into(),
            422,
            "invalid_type",
        ),
        (
            "{\"email\": \"t@example.com\", \"meta\": 5}".into(),
            422,
            "invalid_meta",
        ),
        (
            "{\"email\": \"t@example.com\", \"meta\": [1]}".into(),
            422,
            "invalid_meta",
        ),
        (
            "{\"email\": \"t@example.com\", \"phone\": 5551234}".into(),
            422,
            "invalid_type",
        ),
        (
            "{\"email\": \"t@example.com\", \"firstname\": \"nul\\u0000byte\"}".into(),
            422,
            "invalid_characters",
        ),
    ];
    for (body, status, code) in cases {
        let shown: String = body.chars().take(60).collect();
        let res = app
            .secret(Method::POST, "/v1/customers")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (got, err) = status_json(res).await;
        assert_eq!(got, status, "{shown}: {err}");
        let kind = match status {
            400 => "bad_request",
            413 => "payload_too_large",
            _ => "unprocessable_entity",
        };
        assert_error(&err, status, kind, code);
    }
    assert_eq!(app.total_customers().await, 0, "nothing was created");
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "still serving");
}

async fn hostile_strings_are_stored_verbatim(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let nasty = [
        "Robert'); DROP TABLE customers;--",
        "\"quoted\" and 'single' and `back`",
        "emoji 🦀🎉 and ñ, ü, 漢字, עברית",
        "<script>alert(1)</script>",
        "back\\slash and %wild_cards%",
    ];
    for (i, s) in nasty.iter().enumerate() {
        let c = app
            .create_customer(json!({
                "email": format!("h{i}@example.com"),
                "firstname": s, "lastname": s, "external_id": s,
                "meta": {"note": s, s.to_string(): [s]}
            }))
            .await;
        let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
        let (_, got) = status_json(app.secret(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(got["firstname"], *s);
        assert_eq!(got["lastname"], *s);
        assert_eq!(got["external_id"], *s);
        assert_eq!(got["meta"]["note"], *s);
        assert_eq!(got["meta"][s], json!([s]));
        let (_, found) = app
            .list(&format!(
                "?external_id={}",
                url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
            ))
            .await;
        assert_eq!(found["meta"]["pagination"]["total"], 1, "{s}");
    }
    assert_eq!(app.total_customers().await, nasty.len() as u64);
}

async fn get_bodies_are_ignored_and_unknown_routes_are_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("g@example.com").await;
    // Commerce.js sends the JSON body `null` with every GET.
    let res = app
        .secret(
            Method::GET,
            &format!("/v1/customers/{}", c["id"].as_str().unwrap()),
        )
        .header("Content-Type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (status, err) = status_json(
        app.secret(Method::GET, "/v1/nothing-here")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_error(&err, 404, "not_found", "not_found");
    let (status, err) = status_json(
        app.secret(Method::PATCH, "/v1/customers")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
    assert_error(&err, 405, "method_not_allowed", "method_not_allowed");
}

async fn errors_carry_the_request_id_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .client
        .get(app.url("/v1/customers"))
        .header("X-Request-Id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-123");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (_, err) = status_json(res).await;
    assert_eq!(err["error"]["request_id"], "trace-123");
    // An id that is not plain text is replaced, never echoed.
    let res = app
        .client
        .get(app.url("/v1/customers"))
        .header("X-Request-Id", "bad id <script>")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.starts_with("req_"), "{id}");
}

/// Asserts a 422 that names `field` as holding NUL.
fn assert_nul_refused(what: &str, status: u16, err: &serde_json::Value, field: &str) {
    assert_eq!(status, 422, "{what}: {err}");
    assert_error(err, 422, "unprocessable_entity", "invalid_characters");
    let messages = &err["error"]["errors"][field];
    assert!(
        messages[0].as_str().is_some_and(|m| m.contains("NUL")),
        "{what}: {field} not named in {err}"
    );
}

/// Some customers and an order, so that a filter which reached the database would have rows.
async fn seed(app: &TestApp) -> (String, String) {
    let c = app
        .create_customer(json!({"email": "seed@example.com", "external_id": "ab"}))
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let (status, o) = status_json(
        app.secret(Method::POST, "/v1/orders")
            .json(&json!({"customer_id": id, "currency": "USD",
                "line_items": [{"product_name": "Pen", "quantity": 1, "price": "1"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{o}");
    (id, o["id"].as_str().unwrap().to_owned())
}

async fn nul_in_any_list_filter_is_422_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, _) = seed(&app).await;
    let paging = ["limit", "page", "sortDirection", "sortBy"];
    let lists: [(String, Vec<&str>); 3] = [
        (
            "/v1/customers".into(),
            [&paging[..], &["query", "email", "external_id"]].concat(),
        ),
        (
            "/v1/orders".into(),
            [&paging[..], &["customer_id"]].concat(),
        ),
        (format!("/v1/customers/{customer}/orders"), paging.to_vec()),
    ];
    for (path, filters) in lists {
        for filter in filters {
            // A value that would otherwise be valid, with NUL inside it.
            let value = match filter {
                "limit" | "page" => "1%002",
                "sortDirection" => "asc%00",
                "sortBy" => "created_at%00",
                "customer_id" => "cstmr_%00",
                _ => "a%00b",
            };
            let url = format!("{path}?{filter}={value}");
            let (status, err) =
                status_json(app.secret(Method::GET, &url).send().await.unwrap()).await;
            assert_nul_refused(&url, status, &err, filter);
        }
    }
    // The case of the issue, as a customer would send it too (bearer token).
    let jwt = app.issue_jwt(&customer).await;
    let res = app
        .bearer(
            Method::GET,
            &format!("/v1/customers/{customer}/orders?sortBy=%00"),
            &jwt,
        )
        .send()
        .await
        .unwrap();
    let (status, err) = status_json(res).await;
    assert_nul_refused("customer's own orders", status, &err, "sortBy");
    let (status, err) = app.list("?external_id=a%00b&query=%00").await;
    assert_nul_refused("two filters", status, &err, "external_id");
    assert_nul_refused("two filters", status, &err, "query");
}

async fn nul_in_path_ids_is_422_naming_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, order) = seed(&app).await;
    let cases = [
        (
            Method::GET,
            "/v1/customers/cstmr_%00".to_owned(),
            "customer_id",
        ),
        (Method::PUT, "/v1/customers/%00".to_owned(), "customer_id"),
        (
            Method::DELETE,
            format!("/v1/customers/{customer}%00"),
            "customer_id",
        ),
        (
            Method::POST,
            "/v1/customers/%00/issue-token".to_owned(),
            "customer_id",
        ),
        (
            Method::GET,
            "/v1/customers/%00/orders".to_owned(),
            "customer_id",
        ),
        (
            Method::GET,
            format!("/v1/customers/{customer}/orders/{order}%00"),
            "order_id",
        ),
        (
            Method::GET,
            format!("/v1/customers/%00/orders/{order}"),
            "customer_id",
        ),
        (Method::GET, format!("/v1/orders/%00{order}"), "order_id"),
        (Method::PUT, "/v1/orders/ord_%00".to_owned(), "order_id"),
    ];
    for (method, path, field) in cases {
        let what = format!("{method} {path}");
        let res = app
            .secret(method, &path)
            .json(&json!({"firstname": "x"}))
            .send()
            .await
            .unwrap();
        let (status, err) = status_json(res).await;
        assert_nul_refused(&what, status, &err, field);
    }
    assert_eq!(app.total_customers().await, 1, "nothing was deleted");
}

async fn nul_in_body_fields_is_422_naming_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, order) = seed(&app).await;
    let nul = "a\u{0}b";
    let line = |name: &str| json!({"product_name": name, "quantity": 1, "price": "1"});
    let cases: Vec<(Method, String, serde_json::Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/v1/customers".into(),
            json!({"email": "n@example.com", "external_id": nul, "phone": nul}),
            vec!["external_id", "phone"],
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json!({"email": "n@example.com", "meta": {"a": {"b": ["ok", nul]}, "k\u{0}": 1}}),
            vec!["meta.a.b.1", "meta.k\\u0000"],
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json!({"email": "n\u{0}@example.com", "password": "pass\u{0}word"}),
            vec!["email", "password"],
        ),
        (
            Method::PUT,
            format!("/v1/customers/{customer}"),
            json!({"lastname": nul, "meta": {"note": nul}}),
            vec!["lastname", "meta.note"],
        ),
        (
            Method::POST,
            "/v1/orders".into(),
            json!({"customer_id": customer, "currency": "USD", "line_items": [line("ok"), line(nul)]}),
            vec!["line_items.1.product_name"],
        ),
        (
            Method::POST,
            "/v1/orders".into(),
            json!({"customer": {"email": "buyer@example.com", "firstname": nul}, "currency": "USD",
                "line_items": [line("ok")], "customer_reference": nul,
                "shipping": {"street": nul, "meta": {"gate": nul}}, "references": {"crm": nul}}),
            vec![
                "customer.firstname",
                "customer_reference",
                "shipping.street",
                "shipping.meta.gate",
                "references.crm",
            ],
        ),
        (
            Method::PUT,
            format!("/v1/orders/{order}"),
            json!({"status": "open\u{0}", "meta": {"x": [nul]}}),
            vec!["status", "meta.x.0"],
        ),
        (
            Method::POST,
            "/v1/customers/email-token".into(),
            json!({"email": "seed@example.com\u{0}", "base_url": "http://localhost:3000/{token}\u{0}"}),
            vec!["email", "base_url"],
        ),
        (
            Method::POST,
            "/v1/customers/exchange-token".into(),
            json!({"token": nul}),
            vec!["token"],
        ),
        (
            Method::POST,
            "/v1/customers/login".into(),
            json!({"email": "seed@example.com", "password": nul}),
            vec!["password"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let what = format!("{method} {path} {body}");
        let res = app.secret(method, &path).json(&body).send().await.unwrap();
        let (status, err) = status_json(res).await;
        for field in fields {
            assert_nul_refused(&what, status, &err, field);
        }
    }
    assert_eq!(app.total_customers().await, 1, "nothing was created");
    let (_, c) = status_json(
        app.secret(Method::GET, &format!("/v1/customers/{customer}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        c["lastname"],
        serde_json::Value::Null,
        "nothing was changed"
    );
    let (_, orders) =
        status_json(app.secret(Method::GET, "/v1/orders").send().await.unwrap()).await;
    assert_eq!(orders["meta"]["pagination"]["total"], 1);
    assert_eq!(orders["data"][0]["meta"], json!([]));
}

/// Header values cannot carry NUL at all: the HTTP parser refuses the request before patron.
async fn nul_in_a_header_never_reaches_patron(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let answer = app
        .raw(b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nX-Authorization: sk_test_\0x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

crate::on_both_backends!(
    malformed_and_oversized_bodies_are_refused,
    hostile_strings_are_stored_verbatim,
    get_bodies_are_ignored_and_unknown_routes_are_json,
    errors_carry_the_request_id_header,
    nul_in_any_list_filter_is_422_naming_it,
    nul_in_path_ids_is_422_naming_them,
    nul_in_body_fields_is_422_naming_them,
    nul_in_a_header_never_reaches_patron,
);
