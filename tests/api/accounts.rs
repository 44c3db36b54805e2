//! Password accounts over real HTTP and real SMTP: registration, login, lockout, reset.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp};
use crate::smtp::SmtpSink;

pub(crate) const LINK: &str = "http://localhost:3000/account/{token}";
pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    status_json(
        app.public(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn raw_post(app: &TestApp, path: &str, body: Value) -> (u16, String) {
    let res = app
        .public(Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

pub(crate) async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    post(
        app,
        "/v1/customers/login",
        json!({"email": email, "password": password}),
    )
    .await
}

fn without_request_id(mut v: Value) -> Value {
    v["error"]["request_id"] = Value::Null;
    v
}

async fn stored_hash(app: &TestApp, email: &str) -> Option<String> {
    let email = email.to_lowercase();
    app.state
        .db
        .run(move |conn| {
            Ok::<_, patron::db::DbError>(
                patron::db::customers::find_by_email(
                    conn,
                    patron::db::scope::Scope::DEFAULT,
                    &email,
                )?
                .and_then(|c| c.password_hash),
            )
        })
        .await
        .unwrap()
}

/// Registers and verifies; returns (customer id, jwt).
pub(crate) async fn registered(app: &TestApp, sink: &SmtpSink, email: &str) -> (String, String) {
    let (status, _) = post(
        app,
        "/v1/customers/register",
        json!({"email": email, "password": PASSWORD, "firstname": "Reg", "base_url": LINK}),
    )
    .await;
    assert_eq!(status, 202);
    let token = sink.last_to(email).await.token();
    let (status, body) = post(app, "/v1/customers/verify-email", json!({"token": token})).await;
    assert_eq!(status, 200, "{body}");
    (
        body["customer_id"].as_str().unwrap().to_owned(),
        body["jwt"].as_str().unwrap().to_owned(),
    )
}

async fn registration_verifies_the_email_before_password_login(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    let (status, body) = raw_post(&app, "/v1/customers/register", json!({
        "email": "new@example.com", "password": PASSWORD, "firstname": "Nora", "lastname": "New",
        "phone": "+441234", "meta": {"source": "app"}, "base_url": LINK
    }))
    .await;
    assert_eq!((status, body.as_str()), (202, r#"{"success":true}"#));
    let mail = sink.last_to("new@example.com").await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Confirm your email address")
    );
    assert!(mail
        .link()
        .starts_with("http://localhost:3000/account/ctk_"));

    let (status, refused) = login(&app, "new@example.com", PASSWORD).await;
    assert_eq!(
        status, 401,
        "unverified accounts cannot log in with a password"
    );
    assert_error(&refused, 401, "authentication_error", "invalid_credentials");

    let (status, verified) = post(
        &app,
        "/v1/customers/verify-email",
        json!({"token": mail.token()}),
    )
    .await;
    assert_eq!(status, 200, "{verified}");
    let id = verified["customer_id"].as_str().unwrap();
    let (status, me) = status_json(
        app.bearer(
            Method::GET,
            &format!("/v1/customers/{id}"),
            verified["jwt"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["firstname"], "Nora");
    assert_eq!(me["meta"], json!({"source": "app"}));
    assert_eq!(me["has_password"], true);
    assert!(me.get("password").is_none() && me.get("password_hash").is_none());

    let (status, again) = post(
        &app,
        "/v1/customers/verify-email",
        json!({"token": mail.token()}),
    )
    .await;
    assert_eq!(status, 422, "verification tokens work once");
    assert_error(&again, 422, "unprocessable_entity", "invalid_token");

    let (status, logged_in) = login(&app, "NEW@example.com", PASSWORD).await;
    assert_eq!(status, 200, "{logged_in}");
    assert_eq!(logged_in["customer_id"], id);
    let hash = stored_hash(&app, "new@example.com").await.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

async fn registering_a_taken_email_reveals_nothing_and_changes_nothing(backend: Backend) {
    let (app, sink) =
        TestApp::spawn_with_mail(backend, |c| c.rate_limits.email_per_minute = 10).await;
    let (id, _) = registered(&app, &sink, "taken@example.com").await;
    let (new_status, new_body) = raw_post(
        &app,
        "/v1/customers/register",
        json!({"email": "fresh@example.com", "password": "another password", "base_url": LINK}),
    )
    .await;
    let (taken_status, taken_body) = raw_post(&app, "/v1/customers/register", json!({"email": "Taken@example.com", "password": "another password", "firstname": "Mallory", "base_url": LINK})).await;
    assert_eq!(
        (new_status, new_body.as_str()),
        (taken_status, taken_body.as_str()),
        "byte-identical"
    );

    let mails = sink
        .wait_for("taken@example.com", 2, Duration::from_secs(10))
        .await;
    let note = &mails[1];
    assert_eq!(
        note.header("subject").as_deref(),
        Some("You already have an account")
    );
    let (status, via_link) = app.exchange(&note.token()).await;
    assert_eq!(
        status, 200,
        "the note carries a working login link: {via_link}"
    );
    assert_eq!(via_link["customer_id"], id.as_str());

    assert_eq!(
        login(&app, "taken@example.com", PASSWORD).await.0,
        200,
        "the old password still works"
    );
    assert_eq!(
        login(&app, "taken@example.com", "another password").await.0,
        401,
        "the new one was not set"
    );
    let (_, me) = status_json(
        app.secret(Method::GET, &format!("/v1/customers/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me["firstname"], "Reg", "the account is unchanged");
}

async fn every_login_failure_looks_the_same(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    registered(&app, &sink, "known@example.com").await;
    post(
        &app,
        "/v1/customers/register",
        json!({"email": "unverified@example.com", "password": PASSWORD, "base_url": LINK}),
    )
    .await;
    app.create_email("nopassword@example.com").await;
    let cases = [
        json!({"email": "known@example.com", "password": "wrong password"}),
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        json!({"email": "unverified@example.com", "password": PASSWORD}),
        json!({"email": "nopassword@example.com", "password": PASSWORD}),
        json!({"email": "not an email", "password": PASSWORD}),
    ];
    let mut answers = Vec::new();
    for body in cases {
        let res = app
            .public(Method::POST, "/v1/customers/login")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let value: Value = res.json().await.unwrap();
        assert_eq!(status, 401, "{body}");
        answers.push(without_request_id(value));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0]["error"]["type"], "authentication_error");
    assert_eq!(answers[0]["error"]["code"], "invalid_credentials");
    // A field left out is the client's mistake, the same for every address: named as such.
    for known_or_not in ["known@example.com", "nobody@example.com"] {
        let res = app
            .public(Method::POST, "/v1/customers/login")
            .json(&json!({"email": known_or_not}))
            .send()
            .await
            .unwrap();
        let (status, err) = crate::helpers::status_json(res).await;
        assert_eq!(status, 422, "{err}");
        crate::helpers::assert_error(&err, 422, "unprocessable_entity", "password_required");
    }
}

async fn ten_failures_lock_the_account_for_a_while(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.lockout_base = Duration::from_secs(60);
        c.rate_limits.email_per_minute = 10;
    })
    .await;
    registered(&app, &sink, "lock@example.com").await;
    for i in 0..10 {
        let (status, body) = login(&app, "lock@example.com", "wrong password").await;
        assert_eq!(status, 401, "failure {i}: {body}");
    }
    let (status, locked) = login(&app, "lock@example.com", PASSWORD).await;
    assert_eq!(status, 429, "even the right password waits: {locked}");
    assert_error(&locked, 429, "rate_limit_error", "account_locked");

    // A magic link still works while locked.
    let (status, _) = app.email_token("lock@example.com", LINK).await;
    assert_eq!(status, 200);
    let mails = sink
        .wait_for("lock@example.com", 2, Duration::from_secs(10))
        .await;
    assert_eq!(app.exchange(&mails[1].token()).await.0, 200);

    app.clock.advance(Duration::from_secs(30));
    let res = app
        .public(Method::POST, "/v1/customers/login")
        .json(&json!({"email": "lock@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "still locked half way");
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (20..=30).contains(&wait),
        "the wait left, by the server's clock: {wait}"
    );

    app.clock.advance(Duration::from_secs(31));
    let (status, body) = login(&app, "lock@example.com", PASSWORD).await;
    assert_eq!(status, 200, "the lockout expires: {body}");
}

/// Verification, reset and email-change links last their TTL by the server's clock.
async fn verification_reset_and_email_change_links_expire(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.login_token_ttl = Duration::from_secs(600);
        c.rate_limits.email_per_minute = 10;
    })
    .await;
    let expired = |(status, body): (u16, Value)| {
        assert_eq!(status, 422, "{body}");
        assert_error(&body, 422, "unprocessable_entity", "invalid_token");
    };

    let (status, _) = post(
        &app,
        "/v1/customers/register",
        json!({"email": "late@example.com", "password": PASSWORD, "base_url": LINK}),
    )
    .await;
    assert_eq!(status, 202);
    let verify = sink.last_to("late@example.com").await.token();
    app.clock.advance(Duration::from_secs(601));
    expired(post(&app, "/v1/customers/verify-email", json!({"token": verify})).await);

    let (status, _) = post(
        &app,
        "/v1/customers/password-reset-email",
        json!({"email": "late@example.com", "base_url": LINK}),
    )
    .await;
    assert_eq!(status, 200);
    let reset = sink
        .wait_for("late@example.com", 2, Duration::from_secs(10))
        .await[1]
        .token();
    let valid = |token: String| {
        let app = &app;
        async move {
            let (status, v) = post(
                app,
                "/v1/customers/password-reset/verify",
                json!({"token": token}),
            )
            .await;
            assert_eq!(status, 200, "{v}");
            v["valid"].as_bool().expect("valid")
        }
    };
    app.clock.advance(Duration::from_secs(590));
    assert!(valid(reset.clone()).await, "within its TTL");
    app.clock.advance(Duration::from_secs(11));
    assert!(!valid(reset.clone()).await, "past its TTL");
    expired(
        post(
            &app,
            "/v1/customers/password-reset",
            json!({"token": reset, "password": "a new secret", "confirm_password": "a new secret"}),
        )
        .await,
    );

    let mover = app.create_email("mover@example.com").await;
    let id = mover["id"].as_str().unwrap();
    let jwt = app.issue_jwt(id).await;
    let (status, body) = status_json(
        app.bearer(Method::PUT, &format!("/v1/customers/{id}"), &jwt)
            .json(&json!({"email": "moved@example.com", "base_url": LINK}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let change = sink.last_to("moved@example.com").await.token();
    app.clock.advance(Duration::from_secs(601));
    expired(
        post(
            &app,
            "/v1/customers/confirm-email-change",
            json!({"token": change}),
        )
        .await,
    );
}

async fn reset_changes_the_password_and_ends_everything(backend: Backend) {
    let (app, sink) =
        TestApp::spawn_with_mail(backend, |c| c.rate_limits.email_per_minute = 10).await;
    let (id, old_jwt) = registered(&app, &sink, "reset@example.com").await;
    let own = format!("/v1/customers/{id}");
    // An outstanding magic link from before the reset.
    app.email_token("reset@example.com", LINK).await;
    let old_link = sink
        .wait_for("reset@example.com", 2, Duration::from_secs(10))
        .await[1]
        .token();

    let (status, body) = raw_post(&app, "/v1/customers/password-reset-email", json!({"email": "reset@example.com", "base_url": "http://localhost:3000/reset?token={token}"})).await;
    assert_eq!((status, body.as_str()), (200, r#"{"success":true}"#));
    let (_, unknown) = raw_post(
        &app,
        "/v1/customers/password-reset-email",
        json!({"email": "ghost@example.com", "base_url": LINK}),
    )
    .await;
    assert_eq!(unknown, body, "the same answer for an unknown email");
    let reset_mail = sink
        .wait_for("reset@example.com", 3, Duration::from_secs(10))
        .await[2]
        .clone();
    assert_eq!(
        reset_mail.header("subject").as_deref(),
        Some("Reset your password")
    );
    let token = reset_mail.token();

    for _ in 0..2 {
        let (status, v) = post(
            &app,
            "/v1/customers/password-reset/verify",
            json!({"token": token}),
        )
        .await;
        assert_eq!(
            (status, v),
            (200, json!({"valid": true})),
            "checking does not use the token up"
        );
    }
    let (_, v) = post(
        &app,
        "/v1/customers/password-reset/verify",
        json!({"token": "ctk_nonsense"}),
    )
    .await;
    assert_eq!(v, json!({"valid": false}));

    let (status, err) = post(&app, "/v1/customers/password-reset", json!({"token": token, "password": "brand new secret", "confirm_password": "something else"})).await;
    assert_eq!(status, 422);
    assert!(
        err["error"]["errors"]["confirm_password"].is_array(),
        "{err}"
    );
    let (status, err) = post(
        &app,
        "/v1/customers/password-reset",
        json!({"token": token, "password": "short", "confirm_password": "short"}),
    )
    .await;
    assert_eq!(status, 422);
    assert!(err["error"]["errors"]["password"].is_array(), "{err}");

    let (status, changed) = post(&app, "/v1/customers/password-reset", json!({"token": token, "password": "brand new secret", "confirm_password": "brand new secret"})).await;
    assert_eq!(
        (status, changed),
        (200, json!({"changed": true})),
        "no JWT: a reset does not log in"
    );

    assert_eq!(
        app.bearer_status(Method::GET, &own, &old_jwt).await,
        401,
        "old sessions end"
    );
    assert_eq!(app.exchange(&old_link).await.0, 422, "old magic links die");
    let (_, v) = post(
        &app,
        "/v1/customers/password-reset/verify",
        json!({"token": token}),
    )
    .await;
    assert_eq!(v, json!({"valid": false}), "the reset token is used up");
    assert_eq!(login(&app, "reset@example.com", PASSWORD).await.0, 401);
    assert_eq!(
        login(&app, "reset@example.com", "brand new secret").await.0,
        200
    );
    let notice = sink
        .wait_for("reset@example.com", 4, Duration::from_secs(10))
        .await[3]
        .clone();
    assert_eq!(
        notice.header("subject").as_deref(),
        Some("Your password was changed")
    );
    assert!(
        !notice.text().contains("ctk_"),
        "the notice carries no token"
    );
}

async fn tokens_work_only_for_their_own_purpose(backend: Backend) {
    let (app, sink) =
        TestApp::spawn_with_mail(backend, |c| c.rate_limits.email_per_minute = 10).await;
    post(
        &app,
        "/v1/customers/register",
        json!({"email": "p@example.com", "password": PASSWORD, "base_url": LINK}),
    )
    .await;
    let verify = sink.last_to("p@example.com").await.token();
    assert_eq!(
        app.exchange(&verify).await.0,
        422,
        "a verification token is no login token"
    );
    let (status, _) = post(&app, "/v1/customers/password-reset", json!({"token": verify, "password": "x new password", "confirm_password": "x new password"})).await;
    assert_eq!(status, 422, "nor a reset token");

    post(
        &app,
        "/v1/customers/password-reset-email",
        json!({"email": "p@example.com", "base_url": LINK}),
    )
    .await;
    let reset = sink
        .wait_for("p@example.com", 2, Duration::from_secs(10))
        .await[1]
        .token();
    assert_eq!(
        app.exchange(&reset).await.0,
        422,
        "a reset token is no login token"
    );
    assert_eq!(
        post(&app, "/v1/customers/verify-email", json!({"token": reset}))
            .await
            .0,
        422
    );

    app.email_token("p@example.com", LINK).await;
    let login_token = sink
        .wait_for("p@example.com", 3, Duration::from_secs(10))
        .await[2]
        .token();
    let (_, v) = post(
        &app,
        "/v1/customers/password-reset/verify",
        json!({"token": login_token}),
    )
    .await;
    assert_eq!(v, json!({"valid": false}));
    assert_eq!(
        post(
            &app,
            "/v1/customers/verify-email",
            json!({"token": login_token})
        )
        .await
        .0,
        422
    );
    // Each still works where it belongs.
    assert_eq!(app.exchange(&login_token).await.0, 200);
    assert_eq!(
        post(&app, "/v1/customers/verify-email", json!({"token": verify}))
            .await
            .0,
        200
    );
}

async fn customers_change_their_own_password(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    let (id, this_session) = registered(&app, &sink, "me@example.com").await;
    let (_, other) = login(&app, "me@example.com", PASSWORD).await;
    let other = other["jwt"].as_str().unwrap().to_owned();
    let own = format!("/v1/customers/{id}");
    let put = |body: Value| {
        let req = app.bearer(Method::PUT, &own, &this_session).json(&body);
        async move { status_json(req.send().await.unwrap()).await }
    };
    let (status, err) = put(json!({"password": "my next password"})).await;
    assert_eq!(status, 422);
    assert!(
        err["error"]["errors"]["current_password"].is_array(),
        "{err}"
    );
    let (status, err) =
        put(json!({"password": "my next password", "current_password": "not it"})).await;
    assert_eq!(status, 422);
    assert_error(
        &err,
        422,
        "unprocessable_entity",
        "invalid_current_password",
    );
    let (status, err) = put(json!({"password": "short", "current_password": PASSWORD})).await;
    assert_eq!(status, 422);
    assert!(err["error"]["errors"]["password"].is_array());
    assert_eq!(
        login(&app, "me@example.com", PASSWORD).await.0,
        200,
        "refused changes changed nothing"
    );

    let (status, me) =
        put(json!({"password": "my next password", "current_password": PASSWORD})).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        app.bearer_status(Method::GET, &own, &this_session).await,
        200,
        "this session stays"
    );
    assert_eq!(
        app.bearer_status(Method::GET, &own, &other).await,
        401,
        "other sessions end"
    );
    assert_eq!(
        login(&app, "me@example.com", "my next password").await.0,
        200
    );

    // logout-all ends every session, this one too.
    let (status, body) = status_json(
        app.bearer(Method::POST, "/v1/customers/logout-all", &this_session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true})));
    assert_eq!(
        app.bearer_status(Method::GET, &own, &this_session).await,
        401
    );
}

async fn merchants_set_passwords_and_policy_holds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, c) = status_json(
        app.secret(Method::POST, "/v1/customers")
            .json(&json!({"email": "m@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["has_password"], true);
    assert!(c.get("password").is_none());
    assert_eq!(
        login(&app, "m@example.com", PASSWORD).await.0,
        200,
        "merchant-created customers count as verified"
    );
    let plain = app.create_email("plain@example.com").await;
    assert_eq!(plain["has_password"], false);

    for bad in ["1234567", &"x".repeat(129)] {
        let (status, err) = status_json(
            app.secret(Method::POST, "/v1/customers")
                .json(&json!({"email": "n@example.com", "password": bad}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422);
        assert!(err["error"]["errors"]["password"].is_array(), "{err}");
        let (status, _) = post(
            &app,
            "/v1/customers/register",
            json!({"email": "n@example.com", "password": bad, "base_url": LINK}),
        )
        .await;
        assert_eq!(status, 422);
    }
    assert_eq!(app.total_customers().await, 2);

    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    let (_, jwt) = login(&app, "m@example.com", PASSWORD).await;
    let (status, _) = status_json(
        app.secret(Method::PUT, &path)
            .json(&json!({"password": "set by the shop"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "the merchant needs no current password");
    assert_eq!(
        app.bearer_status(Method::GET, &path, jwt["jwt"].as_str().unwrap())
            .await,
        401,
        "sessions end"
    );
    assert_eq!(login(&app, "m@example.com", "set by the shop").await.0, 200);
}

async fn weaker_hashes_are_upgraded_at_login(backend: Backend) {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("legacy@example.com").await;
    let legacy = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password_with_salt(PASSWORD.as_bytes(), &[9u8; 16])
    .unwrap()
    .to_string();
    let id = c["id"].as_str().unwrap().to_owned();
    let stored = legacy.clone();
    app.state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use patron::db::schema::customers;
            diesel::update(customers::table.find(id))
                .set(customers::password_hash.eq(Some(stored)))
                .execute(conn)
                .map_err(patron::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(login(&app, "legacy@example.com", PASSWORD).await.0, 200);
    let now = stored_hash(&app, "legacy@example.com").await.unwrap();
    assert_ne!(now, legacy);
    assert!(now.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{now}");
    assert_eq!(
        login(&app, "legacy@example.com", PASSWORD).await.0,
        200,
        "the new hash works"
    );
}

async fn per_ip_login_limit_is_429(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.rate_limits.login_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(login(&app, "x@example.com", "whatever pass").await.0, 401);
    }
    let (status, body) = login(&app, "x@example.com", "whatever pass").await;
    assert_eq!(status, 429);
    assert_error(&body, 429, "rate_limit_error", "rate_limited");
}

crate::on_both_backends!(
    registration_verifies_the_email_before_password_login,
    registering_a_taken_email_reveals_nothing_and_changes_nothing,
    every_login_failure_looks_the_same,
    ten_failures_lock_the_account_for_a_while,
    verification_reset_and_email_change_links_expire,
    reset_changes_the_password_and_ends_everything,
    tokens_work_only_for_their_own_purpose,
    customers_change_their_own_password,
    merchants_set_passwords_and_policy_holds,
    weaker_hashes_are_upgraded_at_login,
    per_ip_login_limit_is_429,
);
