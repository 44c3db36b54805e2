//! Merchant keys: missing, wrong, public where secret is needed, revoked, generated on first start.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, status_json, Backend, TestApp, TestDb, PUBLIC_KEY};

async fn secret_endpoints_refuse_missing_bad_and_public_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("a@example.com").await;
    let one = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    let endpoints = [
        (Method::GET, "/v1/customers".to_owned()),
        (Method::POST, "/v1/customers".to_owned()),
        (Method::GET, one.clone()),
        (Method::PUT, one.clone()),
        (Method::DELETE, one.clone()),
    ];
    for (method, path) in &endpoints {
        let body = json!({"email": "new@example.com", "firstname": "Mallory"});
        let no_key = app
            .client
            .request(method.clone(), app.url(path))
            .json(&body);
        let (status, err) = status_json(no_key.send().await.unwrap()).await;
        assert_eq!(status, 401, "{method} {path} without a key");
        assert_error(&err, 401, "authentication_error", "missing_api_key");

        let bad_key = app
            .client
            .request(method.clone(), app.url(path))
            .header("X-Authorization", "sk_test_notarealkeyatall")
            .json(&body);
        let (status, err) = status_json(bad_key.send().await.unwrap()).await;
        assert_eq!(status, 401, "{method} {path} with a wrong key");
        assert_error(&err, 401, "authentication_error", "invalid_api_key");

        let public = app.public(method.clone(), path).json(&body);
        let (status, err) = status_json(public.send().await.unwrap()).await;
        assert_eq!(status, 403, "{method} {path} with the public key");
        assert_error(&err, 403, "forbidden", "secret_key_required");
    }
    // None of the refused requests changed anything.
    let (_, now) = status_json(app.secret(Method::GET, &one).send().await.unwrap()).await;
    assert_eq!(now, c);
    assert_eq!(app.total_customers().await, 1);
}

async fn first_start_generates_a_working_pair_once(backend: Backend) {
    let db = TestDb::new(backend);
    let mut config = crate::helpers::test_config(&db);
    config.public_key = None;
    config.secret_key = None;
    let app = TestApp::spawn_on(db, config.clone()).await;
    let (public, secret) = app
        .initial_keys
        .clone()
        .expect("keys printed on first start");
    assert!(public.starts_with("pk_") && public.len() > 30, "{public}");
    assert!(secret.starts_with("sk_") && secret.len() > 30, "{secret}");

    let res = app
        .client
        .post(app.url("/v1/customers"))
        .header("X-Authorization", &secret)
        .json(&json!({"email": "k@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .client
        .get(app.url("/v1/customers"))
        .header("X-Authorization", &public)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "the generated public key is a public key"
    );

    // Only hashes are stored.
    let listed = app.state.keys.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    for k in &listed {
        assert!(
            k.prefix.len() < 12,
            "only a short display prefix is kept: {}",
            k.prefix
        );
    }

    // A second start on the same database makes no new pair.
    let again = TestApp::spawn_on(clone_db(&app.db), config).await;
    assert!(again.initial_keys.is_none());
    let res = again
        .client
        .get(again.url("/v1/customers"))
        .header("X-Authorization", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "keys survive a restart");
}

/// The same database, without taking over its clean-up.
fn clone_db(db: &TestDb) -> TestDb {
    TestDb::borrowed(db.url.clone())
}

async fn created_keys_work_and_revoked_keys_do_not(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let issued = app
        .state
        .keys
        .create(patron::service::KeyKind::Secret)
        .await
        .unwrap();
    let key = issued.key.expose().to_owned();
    let get = || {
        app.client
            .get(app.url("/v1/customers"))
            .header("X-Authorization", key.clone())
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(
        app.state.keys.revoke(&issued.id).await.unwrap(),
        patron::service::keys::Revocation::Revoked(issued.id.clone())
    );
    let (status, err) = status_json(get().await.unwrap()).await;
    assert_eq!(status, 401, "a revoked key is refused at once");
    assert_error(&err, 401, "authentication_error", "invalid_api_key");
    // Configured keys are unaffected.
    assert_eq!(
        app.public(Method::GET, "/v1/customers")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_ne!(PUBLIC_KEY, key);
}

/// Two live keys that share their listed prefix: revoking by that prefix is refused as
/// ambiguous and revokes neither; each can still be revoked by its id.
async fn an_ambiguous_key_prefix_revokes_nothing(backend: Backend) {
    use patron::db::api_keys::{self, ApiKeyRow};
    use patron::service::keys::Revocation;
    let app = TestApp::spawn(backend).await;
    let row = |id: &str, hash: &str| ApiKeyRow {
        id: id.into(),
        kind: "secret".into(),
        key_prefix: "sk_Twins1".into(),
        key_hash: hash.into(),
        created_at: chrono::Utc::now().naive_utc(),
        revoked_at: None,
        store_id: patron::domain::StoreId::DEFAULT.into(),
    };
    let (a, b) = (row("key_twinA", "aa"), row("key_twinB", "bb"));
    app.state
        .db
        .run(move |conn| {
            api_keys::insert(conn, &a)?;
            api_keys::insert(conn, &b).map_err(patron::db::DbError::from)
        })
        .await
        .unwrap();
    for shown in ["sk_Twins1", "sk_Twins1…"] {
        assert_eq!(
            app.state.keys.revoke(shown).await.unwrap(),
            Revocation::Ambiguous(vec!["key_twinA".into(), "key_twinB".into()]),
            "{shown}"
        );
    }
    assert_eq!(
        app.state.keys.revoke("key_twinB").await.unwrap(),
        Revocation::Revoked("key_twinB".into())
    );
    assert_eq!(
        app.state.keys.revoke("sk_Twins1…").await.unwrap(),
        Revocation::Revoked("key_twinA".into()),
        "once one is revoked the prefix names the other alone"
    );
    assert_eq!(
        app.state.keys.revoke("sk_Twins1").await.unwrap(),
        Revocation::NotFound
    );
}

async fn a_merchant_key_as_bearer_is_told_to_use_x_authorization(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("b@example.com").await;
    let one = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    for key in [
        crate::helpers::SECRET_KEY,
        PUBLIC_KEY,
        "sk_live_notarealkey",
    ] {
        for path in ["/v1/customers", one.as_str()] {
            let res = app
                .client
                .get(app.url(path))
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap();
            let (status, err) = status_json(res).await;
            assert_eq!(status, 401, "{key} {path}: {err}");
            assert_error(&err, 401, "authentication_error", "api_key_as_bearer");
            let message = err["error"]["message"].as_str().unwrap();
            assert!(message.contains("X-Authorization"), "{message}");
        }
    }
    // A JWT that is merely wrong keeps its own answer.
    let res = app
        .client
        .get(app.url(&one))
        .header("Authorization", "Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln")
        .send()
        .await
        .unwrap();
    let (status, err) = status_json(res).await;
    assert_eq!(status, 401);
    assert_error(&err, 401, "authentication_error", "invalid_bearer_token");
}

crate::on_both_backends!(
    an_ambiguous_key_prefix_revokes_nothing,
    a_merchant_key_as_bearer_is_told_to_use_x_authorization,
    secret_endpoints_refuse_missing_bad_and_public_keys,
    first_start_generates_a_working_pair_once,
    created_keys_work_and_revoked_keys_do_not,
);
