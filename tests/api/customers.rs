//! Create, read, update and delete customers with the secret key.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp};

fn assert_customer_shape(c: &Value) {
    let keys: Vec<&str> = c
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "external_id",
            "firstname",
            "lastname",
            "email",
            "phone",
            "meta",
            "created",
            "updated",
            "has_password"
        ],
        "Chec's customer fields in Chec's order, then has_password"
    );
    let id = c["id"].as_str().expect("id");
    assert!(id.starts_with("cstmr_") && id.len() == 20, "{id}");
    assert!(id[6..].bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    assert!(
        c["created"].as_i64().is_some_and(|t| t > 1_700_000_000),
        "Unix seconds: {c}"
    );
}

async fn create_returns_201_and_chec_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .secret(Method::POST, "/v1/customers")
        .json(&json!({
            "email": "Leslie.Lawless@Example.com",
            "phone": "+15555555555",
            "firstname": "Leslie",
            "lastname": "Lawless",
            "external_id": "crm-42",
            "meta": {"tier": "gold", "points": 12}
        }))
        .send()
        .await
        .unwrap();
    let (status, c) = status_json(res).await;
    assert_eq!(status, 201, "{c}");
    assert_customer_shape(&c);
    assert_eq!(c["email"], "Leslie.Lawless@Example.com");
    assert_eq!(c["firstname"], "Leslie");
    assert_eq!(c["lastname"], "Lawless");
    assert_eq!(c["phone"], "+15555555555");
    assert_eq!(c["external_id"], "crm-42");
    assert_eq!(c["meta"], json!({"tier": "gold", "points": 12}));
    assert_eq!(c["created"], c["updated"]);

    let id = c["id"].as_str().unwrap();
    let (status, fetched) = status_json(
        app.secret(Method::GET, &format!("/v1/customers/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetched, c, "a read returns what the create returned");
}

async fn minimal_customer_has_nulls_and_empty_meta(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("only@example.com").await;
    assert_customer_shape(&c);
    for field in ["external_id", "firstname", "lastname", "phone"] {
        assert_eq!(c[field], Value::Null, "{field}");
    }
    assert_eq!(c["meta"], json!([]), "Chec renders empty meta as []");
}

async fn email_is_required_valid_and_unique_ignoring_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_email("taken@example.com").await;

    let cases = [
        (json!({}), "email_required"),
        (json!({"email": null}), "email_required"),
        (json!({"email": "   "}), "email_required"),
        (json!({"email": "not-an-email"}), "invalid_email"),
        (json!({"email": "TAKEN@Example.COM"}), "email_taken"),
    ];
    for (body, code) in cases {
        let res = app
            .secret(Method::POST, "/v1/customers")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, err) = status_json(res).await;
        assert_eq!(status, 422, "{body}");
        assert_error(&err, 422, "unprocessable_entity", code);
        assert_eq!(err["error"]["message"], "The given data was invalid.");
        assert!(
            err["error"]["errors"]["email"][0].as_str().is_some(),
            "{err}"
        );
    }
    assert_eq!(
        app.total_customers().await,
        1,
        "no invalid request created anything"
    );
}

async fn update_is_partial_and_null_clears(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app
        .create_customer(json!({
            "email": "p@example.com", "firstname": "Pat", "lastname": "Lee",
            "phone": "123", "meta": {"a": 1}
        }))
        .await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/v1/customers/{id}");

    let (status, u) = status_json(
        app.secret(Method::PUT, &path)
            .json(&json!({"firstname": "Patricia"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["firstname"], "Patricia");
    assert_eq!(u["lastname"], "Lee", "absent fields keep their values");
    assert_eq!(u["phone"], "123");
    assert_eq!(u["meta"], json!({"a": 1}));
    assert!(u["updated"].as_i64() >= c["updated"].as_i64());
    assert_eq!(u["created"], c["created"]);

    let (status, u) = status_json(
        app.secret(Method::PUT, &path)
            .json(&json!({"phone": null, "meta": {"b": true}, "email": "New@Example.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["phone"], Value::Null, "null clears");
    assert_eq!(u["meta"], json!({"b": true}), "meta is replaced");
    assert_eq!(u["email"], "New@Example.com");

    let (_, fetched) = status_json(app.secret(Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(fetched, u, "the change was stored");
}

async fn update_refuses_bad_data_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_email("other@example.com").await;
    let c = app
        .create_customer(json!({"email": "me@example.com", "firstname": "Me"}))
        .await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());

    for (body, field, code) in [
        (
            json!({"email": "OTHER@example.com", "firstname": "Changed"}),
            "email",
            "email_taken",
        ),
        (json!({"email": null}), "email", "email_required"),
        (
            json!({"email": "bad", "firstname": "Changed"}),
            "email",
            "invalid_email",
        ),
        (json!({"firstname": 12}), "firstname", "invalid_type"),
        (json!({"meta": "text"}), "meta", "invalid_meta"),
        (
            json!({"firstname": "x".repeat(256)}),
            "firstname",
            "too_long",
        ),
    ] {
        let (status, err) = status_json(
            app.secret(Method::PUT, &path)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_error(&err, 422, "unprocessable_entity", code);
        assert!(err["error"]["errors"][field].is_array(), "{err}");
    }
    let (_, now) = status_json(app.secret(Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(now, c, "failed updates changed nothing");
}

async fn unknown_and_malformed_ids_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for id in [
        "cstmr_AAAAAAAAAAAAAA",
        "nope",
        "cstmr_'; DROP TABLE customers;--",
    ] {
        let path = format!("/v1/customers/{}", urlencode(id));
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let mut req = app.secret(method.clone(), &path);
            if method == Method::PUT {
                req = req.json(&json!({"firstname": "x"}));
            }
            let (status, err) = status_json(req.send().await.unwrap()).await;
            assert_eq!(status, 404, "{method} {id}");
            assert_error(&err, 404, "not_found", "customer_not_found");
        }
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

async fn delete_erases_the_customer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("gone@example.com").await;
    let keep = app.create_email("stays@example.com").await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());

    let (status, body) = status_json(app.secret(Method::DELETE, &path).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"id": c["id"], "deleted": true}));

    let (status, _) = status_json(app.secret(Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(status, 404, "gone afterwards");
    let (status, _) = status_json(app.secret(Method::DELETE, &path).send().await.unwrap()).await;
    assert_eq!(status, 404, "a second delete finds nothing");
    assert_eq!(app.total_customers().await, 1);
    let (status, _) = status_json(
        app.secret(
            Method::GET,
            &format!("/v1/customers/{}", keep["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "other customers untouched");
    // The address is free again.
    app.create_email("GONE@example.com").await;
}

/// Every nullable field of `PUT /v1/customers/{id}`, with a value to set and its empty rendering.
const NULLABLE: [(&str, &str); 5] = [
    ("firstname", "\"Ann\""),
    ("lastname", "\"Lee\""),
    ("phone", "\"555\""),
    ("external_id", "\"crm-1\""),
    ("meta", "{\"tier\": \"gold\"}"),
];

fn cleared(field: &str) -> Value {
    if field == "meta" {
        json!([])
    } else {
        Value::Null
    }
}

/// PUTs `body` as `who` and returns the customer as stored afterwards.
async fn put_and_read(app: &TestApp, path: &str, jwt: Option<&str>, body: Value) -> Value {
    let req = match jwt {
        Some(jwt) => app.bearer(Method::PUT, path, jwt),
        None => app.secret(Method::PUT, path),
    };
    let (status, u) = status_json(req.json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}: {u}");
    let (_, stored) = status_json(app.secret(Method::GET, path).send().await.unwrap()).await;
    assert_eq!(stored, u, "{body}: the answer is what was stored");
    stored
}

/// For each field: left out keeps it, `null` clears it (and only it), a value sets it.
async fn check_absent_null_value(app: &TestApp, path: &str, jwt: Option<&str>, fields: &[&str]) {
    let full: serde_json::Map<String, Value> = NULLABLE
        .iter()
        .map(|(f, v)| ((*f).to_owned(), serde_json::from_str(v).unwrap()))
        .collect();
    let before = put_and_read(app, path, None, Value::Object(full.clone())).await;
    for field in fields {
        let kept = put_and_read(app, path, jwt, json!({})).await;
        assert_eq!(kept[*field], full[*field], "{field}: absent keeps");
        let after = put_and_read(app, path, jwt, json!({ *field: null })).await;
        assert_eq!(after[*field], cleared(field), "{field}: null clears");
        for (other, _) in NULLABLE.iter().filter(|(o, _)| o != field) {
            assert_eq!(
                after[*other], before[*other],
                "{field}: null leaves {other}"
            );
        }
        let set = put_and_read(app, path, jwt, json!({ *field: full[*field] })).await;
        assert_eq!(set[*field], full[*field], "{field}: a value sets");
    }
}

async fn every_nullable_field_is_kept_cleared_or_set_by_the_merchant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("nullable@example.com").await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    let all: Vec<&str> = NULLABLE.iter().map(|(f, _)| *f).collect();
    check_absent_null_value(&app, &path, None, &all).await;
}

async fn a_customer_keeps_clears_or_sets_their_own_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("own@example.com").await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/v1/customers/{id}");
    let jwt = app.issue_jwt(id).await;
    check_absent_null_value(&app, &path, Some(&jwt), &["firstname", "lastname", "phone"]).await;
    // The merchant's fields stay the merchant's, even to clear them.
    for field in ["meta", "external_id"] {
        let res = app
            .bearer(Method::PUT, &path, &jwt)
            .json(&json!({ field: null }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{field}");
    }
}

async fn fields_that_cannot_be_cleared_refuse_null(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app
        .create_customer(json!({"email": "keep@example.com", "password": "correct horse"}))
        .await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    for field in ["email", "password"] {
        let (status, err) = status_json(
            app.secret(Method::PUT, &path)
                .json(&json!({ field: null, "firstname": "Changed" }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422, "{field}: {err}");
        assert!(err["error"]["errors"][field].is_array(), "{field}: {err}");
    }
    let (_, now) = status_json(app.secret(Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(now, c, "a refused update changed nothing");
}

crate::on_both_backends!(
    create_returns_201_and_chec_shape,
    minimal_customer_has_nulls_and_empty_meta,
    email_is_required_valid_and_unique_ignoring_case,
    update_is_partial_and_null_clears,
    update_refuses_bad_data_and_changes_nothing,
    unknown_and_malformed_ids_are_404,
    delete_erases_the_customer,
    every_nullable_field_is_kept_cleared_or_set_by_the_merchant,
    a_customer_keeps_clears_or_sets_their_own_fields,
    fields_that_cannot_be_cleared_refuse_null,
);
