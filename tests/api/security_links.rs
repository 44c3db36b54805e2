//! What patron puts into a mail and what it trusts on each request: links built only from the
//! checked URL, no control characters in free text, key retirement at once, secrets at rest.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use patron::db::signing_keys;
use patron::secrets::SecretsKey;
use patron::service::sessions::KeysAtRest;
use patron::startup::Application;

use crate::helpers::{assert_error, status_json, Backend, TestApp, TestDb};

const PASSWORD: &str = "correct horse battery";

async fn post_public(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    status_json(
        app.public(Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn outbox_rows(app: &TestApp) -> i64 {
    app.state
        .db
        .run(|conn| {
            use patron::db::schema::outbox;
            Ok::<_, patron::db::DbError>(outbox::table.count().get_result::<i64>(conn)?)
        })
        .await
        .expect("count outbox")
}

/// Raw `base_url`s whose origin parses as allowed but which carry a second URL for the token.
const SMUGGLING: &[&str] = &[
    "http://localhost:3000/ https://evil.example/{token}",
    "http://localhost:3000/\thttps://evil.example/{token}",
    "http://localhost:3000/\nhttps://evil.example/{token}",
    "http://localhost:3000/<https://evil.example/{token}>",
    "http://localhost:3000/\\https://evil.example/{token}",
    "http://localhost:3000/\"https://evil.example/{token}",
];

async fn smuggling_base_urls_are_refused_and_nothing_is_mailed(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_per_minute = 1000;
    })
    .await;
    app.create_email("victim@example.com").await;
    for raw in SMUGGLING {
        let bodies = [
            (
                "/v1/customers/email-token",
                json!({"email": "victim@example.com", "base_url": raw}),
            ),
            (
                "/v1/customers/register",
                json!({"email": "new@example.com", "password": PASSWORD, "base_url": raw}),
            ),
            (
                "/v1/customers/password-reset-email",
                json!({"email": "victim@example.com", "base_url": raw}),
            ),
        ];
        for (path, body) in bodies {
            let (status, body) = post_public(&app, path, body).await;
            assert_eq!(status, 422, "{path} {raw:?}: {body}");
            assert_error(&body, 422, "unprocessable_entity", "invalid_base_url");
            assert!(body["error"]["errors"]["base_url"].is_array(), "{body}");
        }
    }
    assert_eq!(
        outbox_rows(&app).await,
        0,
        "no mail queued, so none can be sent"
    );
    assert_eq!(app.total_customers().await, 1, "nobody registered");
    assert!(sink.mails().is_empty(), "no mail sent");
}

async fn the_mail_carries_the_serialised_url(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    app.create_email("shopper@example.com").await;
    // Upper case host, a `.` segment and a bare `|`: the parser normalises them and the mail
    // shows what the parser produced, the form that was checked.
    let raw = "http://LOCALHOST:3000/shop/./login?next=%2Fcart&token={token}&x=a|b#top";
    let (status, body) = app.email_token("shopper@example.com", raw).await;
    assert_eq!(status, 200, "{body}");
    let mail = sink.last_to("shopper@example.com").await;
    let token = mail.token();
    assert!(token.starts_with("ctk_"), "{token}");
    let expected = format!("http://localhost:3000/shop/login?next=%2Fcart&token={token}&x=a|b#top");
    assert_eq!(mail.link(), expected);
    let text = mail.text();
    assert_eq!(
        text.matches("http").count(),
        1,
        "one URL in the text:\n{text}"
    );
    assert!(
        mail.html()
            .contains(&format!("href=\"{}\"", expected.replace('&', "&amp;"))),
        "{}",
        mail.html()
    );
    let (status, body) = app.exchange(&token).await;
    assert_eq!(status, 200, "{body}");
}

async fn registration_refuses_a_multi_line_firstname(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    for name in [
        "Ann\nVisit https://evil.example",
        "Ann\r\nVisit https://evil.example",
        "Ann\u{2028}Visit https://evil.example",
        "Ann\u{202E}elpmaxe.live",
    ] {
        let (status, body) = post_public(
            &app,
            "/v1/customers/register",
            json!({"email": "ann@example.com", "password": PASSWORD, "firstname": name,
                   "base_url": "http://localhost:3000/verify/{token}"}),
        )
        .await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert_error(&body, 422, "unprocessable_entity", "invalid_characters");
        assert!(body["error"]["errors"]["firstname"].is_array(), "{body}");
    }
    assert_eq!(app.total_customers().await, 0, "nothing created");
    assert_eq!(
        outbox_rows(&app).await,
        0,
        "no mail queued, so none can be sent"
    );
    assert!(sink.mails().is_empty(), "no mail sent");
}

async fn customer_writes_refuse_control_characters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for bad in ["Smith\u{7}", "Smith\tJr", "Smith\u{85}", "Smith\u{7f}"] {
        let (status, body) = status_json(
            app.secret(Method::POST, "/v1/customers")
                .json(&json!({"email": "c@example.com", "lastname": bad}))
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        assert_error(&body, 422, "unprocessable_entity", "invalid_characters");
        assert!(body["error"]["errors"]["lastname"].is_array(), "{body}");
    }
    assert_eq!(app.total_customers().await, 0, "nothing created");

    let customer = app
        .create_customer(json!({"email": "c@example.com", "lastname": "Smith"}))
        .await;
    let path = format!("/v1/customers/{}", customer["id"].as_str().expect("id"));
    let (status, body) = status_json(
        app.secret(Method::PUT, &path)
            .json(&json!({"lastname": "Smith\nhttps://evil.example"}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, 422, "unprocessable_entity", "invalid_characters");
    assert!(body["error"]["errors"]["lastname"].is_array(), "{body}");
    let (_, stored) = status_json(app.secret(Method::GET, &path).send().await.expect("get")).await;
    assert_eq!(stored["lastname"], "Smith", "unchanged");
}

fn jwt_kid(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().expect("jwt header");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    let header: Value = serde_json::from_slice(&header).expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

async fn a_retired_key_is_refused_at_once_on_every_replica(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let config = crate::helpers::test_config(&a.db);
    let b = TestApp::spawn_on(TestDb::borrowed(a.db.url.clone()), config).await;
    let c = a.create_email("replicas@example.com").await;
    let own = format!("/v1/customers/{}", c["id"].as_str().expect("id"));
    let jwt = a.issue_jwt(c["id"].as_str().expect("id")).await;
    // Both replicas verify the token and so hold its key in their keyring caches.
    assert_eq!(a.bearer_status(Method::GET, &own, &jwt).await, 200);
    assert_eq!(b.bearer_status(Method::GET, &own, &jwt).await, 200);

    // What `patron keys retire-jwt` does, on replica A.
    let kid = jwt_kid(&jwt);
    assert!(a.state.sessions.retire(&kid).await.expect("retire"));
    a.state
        .sessions
        .ensure_signing_key()
        .await
        .expect("new key");

    assert_eq!(
        b.bearer_status(Method::GET, &own, &jwt).await,
        401,
        "the other replica refuses it on the very next request"
    );
    assert_eq!(a.bearer_status(Method::GET, &own, &jwt).await, 401);

    // A token signed by the new key works on the replica that did not make it, well before
    // its keyring cache (10 s) would have been re-read.
    let fresh = a.issue_jwt(c["id"].as_str().expect("id")).await;
    assert_ne!(jwt_kid(&fresh), kid);
    // Past the 1 s a replica waits before re-reading its keyring for an unknown kid.
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(b.bearer_status(Method::GET, &own, &fresh).await, 200);
}

/// `openssl rand -base64 32` output, fixed so that restarts use the same key.
const SECRETS_KEY: &str = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=";
const OTHER_SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn secrets_key(encoded: &str) -> SecretsKey {
    SecretsKey::parse(encoded).expect("a valid key")
}

async fn stored_signing_keys(app: &TestApp) -> Vec<signing_keys::SigningKeyRow> {
    app.state
        .db
        .run(|conn| Ok::<_, patron::db::DbError>(signing_keys::list(conn)?))
        .await
        .expect("signing keys")
}

/// Every way the 32-byte seed could be written out in base64.
fn seed_encodings(seed: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .map(|e| e.encode(seed))
        .collect()
}

/// The seed's public key, as stored beside it.
fn public_of(seed: &[u8]) -> String {
    use base64::Engine;
    let seed: [u8; 32] = seed.try_into().expect("32-byte seed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes(),
    )
}

async fn own_profile_status(app: &TestApp, customer_id: &str, jwt: &str) -> u16 {
    app.bearer_status(Method::GET, &format!("/v1/customers/{customer_id}"), jwt)
        .await
}

async fn start_error(db: &TestDb, secrets: Option<&str>) -> String {
    let mut config = crate::helpers::test_config(db);
    config.secrets_key = secrets.map(secrets_key);
    match Application::build(config).await {
        Ok(_) => panic!("patron started"),
        Err(e) => e.to_string(),
    }
}

async fn signing_keys_are_stored_encrypted_with_the_secrets_key(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, |c| c.secrets_key = Some(secrets_key(SECRETS_KEY))).await;
    let key = secrets_key(SECRETS_KEY);
    let rows = stored_signing_keys(&app).await;
    assert_eq!(rows.len(), 1);
    for row in &rows {
        assert!(
            row.private_key.starts_with("enc:v1:"),
            "{}",
            row.private_key
        );
        let seed = key.open(&row.kid, &row.private_key).expect("opens");
        assert_eq!(public_of(&seed), row.public_key, "the real key is inside");
        for encoded in seed_encodings(&seed) {
            assert!(
                !row.private_key.contains(&encoded),
                "the seed is not in clear"
            );
        }
    }

    // Tokens are signed with the decrypted key and verify.
    let c = app.create_email("sealed@example.com").await;
    let id = c["id"].as_str().expect("id");
    let jwt = app.issue_jwt(id).await;
    assert_eq!(own_profile_status(&app, id, &jwt).await, 200);

    // A restart with the same key reads the keys; its tokens and the old ones work.
    let mut config = crate::helpers::test_config(&app.db);
    config.secrets_key = Some(secrets_key(SECRETS_KEY));
    let again = TestApp::spawn_on(TestDb::borrowed(app.db.url.clone()), config).await;
    assert_eq!(own_profile_status(&again, id, &jwt).await, 200);
    let newer = again.issue_jwt(id).await;
    assert_eq!(own_profile_status(&again, id, &newer).await, 200);

    // Without the key, or with another one, patron refuses to start and says why.
    let without = start_error(&app.db, None).await;
    assert!(
        without.contains("encrypted") && without.contains("PATRON_SECRETS_KEY is not set"),
        "{without}"
    );
    let wrong = start_error(&app.db, Some(OTHER_SECRETS_KEY)).await;
    assert!(
        wrong.contains("PATRON_SECRETS_KEY does not decrypt"),
        "{wrong}"
    );
    assert!(!wrong.contains(OTHER_SECRETS_KEY) && !wrong.contains(SECRETS_KEY));
}

async fn turning_the_secrets_key_on_encrypts_keys_stored_in_clear(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.state
            .sessions
            .secure_stored_keys()
            .await
            .expect("check"),
        KeysAtRest::Unencrypted
    );
    let c = app.create_email("later@example.com").await;
    let id = c["id"].as_str().expect("id");
    let before_rotation = app.issue_jwt(id).await;
    app.state.sessions.rotate().await.expect("rotate");
    let jwt = app.issue_jwt(id).await;
    let clear = stored_signing_keys(&app).await;
    assert_eq!(clear.len(), 2);
    assert!(clear.iter().all(|r| !r.private_key.starts_with("enc:")));

    let mut config = crate::helpers::test_config(&app.db);
    config.secrets_key = Some(secrets_key(SECRETS_KEY));
    let with_key = TestApp::spawn_on(TestDb::borrowed(app.db.url.clone()), config).await;
    let key = secrets_key(SECRETS_KEY);
    let sealed = stored_signing_keys(&with_key).await;
    assert_eq!(sealed.len(), 2);
    for (old, new) in clear.iter().zip(&sealed) {
        assert_eq!(old.kid, new.kid);
        assert!(
            new.private_key.starts_with("enc:v1:"),
            "{}",
            new.private_key
        );
        let seed = key.open(&new.kid, &new.private_key).expect("opens");
        assert!(
            seed_encodings(&seed).contains(&old.private_key),
            "the same key"
        );
    }
    assert_eq!(
        with_key
            .state
            .sessions
            .secure_stored_keys()
            .await
            .expect("check"),
        KeysAtRest::Encrypted { newly: 0 }
    );
    for token in [&before_rotation, &jwt] {
        assert_eq!(own_profile_status(&with_key, id, token).await, 200);
    }
    let newer = with_key.issue_jwt(id).await;
    assert_eq!(own_profile_status(&with_key, id, &newer).await, 200);
}

crate::on_both_backends!(
    smuggling_base_urls_are_refused_and_nothing_is_mailed,
    the_mail_carries_the_serialised_url,
    registration_refuses_a_multi_line_firstname,
    customer_writes_refuse_control_characters,
    a_retired_key_is_refused_at_once_on_every_replica,
    signing_keys_are_stored_encrypted_with_the_secrets_key,
    turning_the_secrets_key_on_encrypts_keys_stored_in_clear,
);

/// libpq quotes a password it cannot decode; the start error must not.
#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn a_database_password_never_reaches_the_start_error() {
    let base = crate::helpers::postgres_url().expect("PATRON_TEST_DATABASE_URL");
    let sep = if base.contains('?') { '&' } else { '?' };
    let db = TestDb::borrowed(patron::config::DatabaseUrl::Postgres(format!(
        "{base}{sep}password=hunter%zz"
    )));
    let err = start_error(&db, None).await;
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("hunter"), "{err}");
}
