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

crate::on_both_backends!(
    malformed_and_oversized_bodies_are_refused,
    hostile_strings_are_stored_verbatim,
    get_bodies_are_ignored_and_unknown_routes_are_json,
    errors_carry_the_request_id_header,
);
