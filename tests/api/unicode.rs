//! Ignoring case beyond ASCII, alike on both databases: search, the email filter, duplicates,
//! sorting, and the search columns of customers stored before they existed.

use diesel::connection::SimpleConnection;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, test_config, Backend, TestApp, TestDb};

/// `GET /v1/customers` with these query parameters (encoded by the client, as a browser would).
async fn list(app: &TestApp, params: &[(&str, &str)]) -> Value {
    let (status, body) = status_json(
        app.secret(Method::GET, "/v1/customers")
            .query(params)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, 200, "{params:?}: {body}");
    body
}

/// The emails of the customers a search finds.
async fn found(app: &TestApp, query: &str) -> Vec<String> {
    emails(&list(app, &[("query", query)]).await)
}

fn emails(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["email"].as_str().expect("email").to_owned())
        .collect()
}

async fn search_ignores_unicode_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_customer(
        json!({"email": "jose@example.com", "firstname": "José", "lastname": "Ñúñez"}),
    )
    .await;
    app.create_customer(json!({"email": "nunez@example.com", "lastname": "Nunez"}))
        .await;
    app.create_customer(json!({"email": "anna@example.com", "firstname": "Weiß"}))
        .await;
    for query in ["Ñúñez", "ñúñez", "ÑÚÑEZ", "ÚÑE", "josÉ"] {
        assert_eq!(found(&app, query).await, ["jose@example.com"], "{query}");
    }
    // Full case folding: ß is ss, in either direction.
    for query in ["WEISS", "weiß", "Weiss"] {
        assert_eq!(found(&app, query).await, ["anna@example.com"], "{query}");
    }
    // Accents are not case: Nunez is not Ñúñez.
    assert_eq!(found(&app, "NUNEZ").await, ["nunez@example.com"]);
}

async fn email_filter_and_search_ignore_unicode_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_email("ñúñez@example.com").await;
    app.create_email("other@example.com").await;
    for email in [
        "ÑÚÑEZ@example.com",
        "Ñúñez@EXAMPLE.COM",
        "ñúñez@example.com",
    ] {
        let body = list(&app, &[("email", email)]).await;
        assert_eq!(emails(&body), ["ñúñez@example.com"], "email={email}");
    }
    assert_eq!(found(&app, "ÑÚÑEZ@EXAMPLE").await, ["ñúñez@example.com"]);
    assert_eq!(found(&app, "ÚÑEZ@").await, ["ñúñez@example.com"]);
}

async fn unicode_case_duplicates_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.create_email("ñúñez@example.com").await;
    let (status, body) = status_json(
        app.secret(Method::POST, "/v1/customers")
            .json(&json!({"email": "ÑÚÑEZ@example.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, 422, "unprocessable_entity", "email_taken");

    let other = app.create_email("other@example.com").await;
    let (status, body) = status_json(
        app.secret(
            Method::PUT,
            &format!("/v1/customers/{}", other["id"].as_str().unwrap()),
        )
        .json(&json!({"email": "Ñúñez@example.com"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_error(&body, 422, "unprocessable_entity", "email_taken");
    assert_eq!(status, 422);

    // Registering answers alike whether or not the address is taken, and creates nothing.
    let (status, _) = status_json(
        app.public(Method::POST, "/v1/customers/register")
            .json(
                &json!({"email": "ÑÚÑEZ@EXAMPLE.COM", "password": "correct horse battery",
                "base_url": "http://localhost:3000/account/{token}"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(app.total_customers().await, 2);
    let body = list(&app, &[("email", "ñúñez@example.com")]).await;
    assert_eq!(body["data"][0]["id"], first["id"]);
    assert_eq!(body["data"][0]["email"], "ñúñez@example.com", "unchanged");
}

async fn a_renamed_customer_is_found_by_the_new_name_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app
        .create_customer(
            json!({"email": "ñúñez@example.com", "firstname": "Íñigo", "lastname": "Ñúñez"}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    let (status, body) = status_json(
        app.secret(Method::PUT, &format!("/v1/customers/{id}"))
            .json(&json!({"lastname": "Öztürk", "email": "ÖZTÜRK@example.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for query in ["öztürk", "ÖZTÜRK", "ZTÜ", "öztürk@example"] {
        assert_eq!(found(&app, query).await, ["ÖZTÜRK@example.com"], "{query}");
    }
    for query in ["ñúñez", "ÑÚÑEZ"] {
        assert!(found(&app, query).await.is_empty(), "{query} is gone");
    }
    assert_eq!(found(&app, "ÍÑIGO").await, ["ÖZTÜRK@example.com"], "kept");
    // Cleared with null, a name no longer matches.
    let (status, _) = status_json(
        app.secret(Method::PUT, &format!("/v1/customers/{id}"))
            .json(&json!({"firstname": null}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let still_named = found(&app, "íñigo").await;
    // `PUT {"firstname": null}` is being made to clear the field (issue 12, item 4); until it
    // does, it leaves the name, and the search agrees with whichever the profile says.
    let (_, profile) = status_json(
        app.secret(Method::GET, &format!("/v1/customers/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        still_named.is_empty(),
        profile["firstname"].is_null(),
        "{profile}"
    );
}

async fn names_sort_ignoring_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_email("none@example.com").await;
    for (email, lastname) in [
        ("z@example.com", "zoe"),
        ("b@example.com", "Bob"),
        ("a@example.com", "adam"),
        ("c@example.com", "CARL"),
    ] {
        app.create_customer(json!({"email": email, "lastname": lastname, "firstname": lastname}))
            .await;
    }
    // No name sorts after every name (PostgreSQL's place for NULL), on both databases.
    let named = [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "z@example.com",
    ];
    for by in ["lastname", "firstname"] {
        let asc = list(&app, &[("sortBy", by), ("sortDirection", "asc")]).await;
        let mut expected: Vec<&str> = named.to_vec();
        expected.push("none@example.com");
        assert_eq!(emails(&asc), expected, "{by}");
        let desc = list(&app, &[("sortBy", by), ("sortDirection", "desc")]).await;
        expected.reverse();
        assert_eq!(emails(&desc), expected, "{by}");
    }
}

/// Customers stored before the search columns existed have them empty (the migration adds them
/// so, as SQL cannot fold); patron folds them when it migrates, before it serves.
async fn customers_stored_before_the_fold_are_found_after_a_start(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_customer(json!({"email": "ÑÚÑEZ@example.com", "firstname": "Ñúñez"}))
        .await;
    app.create_email("plain@example.com").await;
    let manager = patron::db::ConnectionManager::new(app.db.url.clone());
    let mut conn = manager.connect_raw().expect("connect");
    conn.batch_execute(
        "UPDATE customers SET email_folded = NULL, firstname_folded = NULL, lastname_folded = NULL",
    )
    .expect("unfold");
    assert!(
        found(&app, "ñúñez").await.is_empty(),
        "the search reads the stored folds"
    );

    let again = TestApp::spawn_on(TestDb::borrowed(app.db.url.clone()), test_config(&app.db)).await;
    for query in ["ñúñez", "ÑÚÑEZ", "ÚÑE"] {
        assert_eq!(found(&again, query).await, ["ÑÚÑEZ@example.com"], "{query}");
    }
    assert_eq!(found(&again, "PLAIN").await, ["plain@example.com"]);
}

crate::on_both_backends!(
    search_ignores_unicode_case,
    email_filter_and_search_ignore_unicode_case,
    unicode_case_duplicates_are_refused,
    a_renamed_customer_is_found_by_the_new_name_only,
    names_sort_ignoring_case,
    customers_stored_before_the_fold_are_found_after_a_start,
);
