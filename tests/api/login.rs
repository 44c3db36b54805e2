//! Passwordless login over real HTTP and real SMTP: links, tokens, JWTs, sessions, the outbox.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp, TestDb};

const LINK: &str = "http://localhost:3000/login/{token}";

fn jwt_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).expect("jwt part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn magic_link_logs_a_customer_in(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.mail_from = "Shop <no-reply@shop.example>".into();
        c.mail_subject = "Log in to Shop".into();
    })
    .await;
    let customer = app
        .create_customer(json!({"email": "Leslie@Example.com", "firstname": "Leslie"}))
        .await;

    let (status, body) = app
        .email_token(
            "leslie@example.com",
            "http://localhost:3000/login?token={token}",
        )
        .await;
    assert_eq!((status, body.as_str()), (200, r#"{"success":true}"#));

    let mail = sink.last_to("Leslie@Example.com").await;
    assert_eq!(mail.header("subject").as_deref(), Some("Log in to Shop"));
    assert!(mail
        .header("from")
        .unwrap()
        .contains("no-reply@shop.example"));
    assert_eq!(mail.from, "no-reply@shop.example", "SMTP envelope sender");
    assert!(mail.text().contains("Hello Leslie"), "{}", mail.text());
    let link = mail.link();
    assert!(
        link.starts_with("http://localhost:3000/login?token=ctk_"),
        "{link}"
    );
    assert!(
        mail.html().contains(&link),
        "the HTML part carries the same link"
    );
    let token = mail.token();
    assert_eq!(token.len(), 4 + 43);

    let res = app
        .public(Method::POST, "/v1/customers/exchange-token")
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let (status, login) = status_json(res).await;
    assert_eq!(status, 200, "{login}");
    let keys: Vec<&String> = login.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["customer_id", "jwt"]);
    assert_eq!(login["customer_id"], customer["id"]);

    let jwt = login["jwt"].as_str().unwrap();
    let header = jwt_part(jwt, 0);
    let claims = jwt_part(jwt, 1);
    assert_eq!(header["alg"], "EdDSA");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(claims["cid"], customer["id"]);
    assert_eq!(claims["sub"], customer["id"]);
    assert_eq!(claims["iss"], "patron");
    assert_eq!(claims["aud"], "patron");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_400
    );
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));

    let own = format!("/v1/customers/{}", customer["id"].as_str().unwrap());
    let (status, me) = status_json(app.bearer(Method::GET, &own, jwt).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me, customer);
    let (status, me) = status_json(
        app.bearer(Method::PUT, &own, jwt)
            .json(&json!({"lastname": "Lawless"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["lastname"], "Lawless");
    let (status, orders) = status_json(
        app.bearer(
            Method::GET,
            &format!("{own}/orders?sortBy=created_at&sortDirection=desc"),
            jwt,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(orders["data"], json!([]));
    assert_eq!(orders["meta"]["pagination"]["total"], 0);
}

async fn answers_are_identical_for_known_unknown_and_throttled(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    app.create_email("known@example.com").await;
    let ask = |email: &'static str| {
        let app = &app;
        async move {
            let res = app
                .public(Method::POST, "/v1/customers/email-token")
                .json(&json!({"email": email, "base_url": LINK}))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let mut headers: Vec<(String, String)> = res
                .headers()
                .iter()
                .filter(|(k, _)| *k != "x-request-id" && *k != "date")
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            headers.sort();
            (status, headers, res.bytes().await.unwrap())
        }
    };
    let known = ask("known@example.com").await;
    let unknown = ask("nobody@example.com").await;
    let throttled = ask("known@example.com").await;
    assert_eq!(known.0, 200);
    assert_eq!(
        known, unknown,
        "known and unknown emails answer byte for byte alike"
    );
    assert_eq!(known, throttled, "a throttled request answers alike");

    assert_eq!(app.outbox_settled().await, 1, "one mail queued, and sent");
    assert_eq!(
        sink.mails_to("known@example.com").len(),
        1,
        "the throttled request sent nothing"
    );
    assert!(
        sink.mails_to("nobody@example.com").is_empty(),
        "no mail to unknown addresses"
    );
}

async fn base_url_must_be_on_an_allowed_origin(backend: Backend) {
    let (app, sink) =
        TestApp::spawn_with_mail(backend, |c| c.rate_limits.email_per_minute = 100).await;
    app.create_email("o@example.com").await;
    for bad in [
        "https://evil.example/login/{token}",
        "http://localhost.evil.example/{token}",
        "javascript:alert(1)",
        "not a url",
        "",
    ] {
        let (status, body) = app.email_token("o@example.com", bad).await;
        assert_eq!(status, 422, "{bad}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_error(&body, 422, "unprocessable_entity", "invalid_base_url");
        assert!(body["error"]["errors"]["base_url"].is_array());
    }
    let (status, _) = app.email_token("not-an-email", LINK).await;
    assert_eq!(status, 422);

    // Without {token}, the token is added to the query.
    let (status, _) = app
        .email_token("o@example.com", "http://127.0.0.1:5173/api/login")
        .await;
    assert_eq!(status, 200);
    let link = sink.last_to("o@example.com").await.link();
    assert!(
        link.starts_with("http://127.0.0.1:5173/api/login?token=ctk_"),
        "{link}"
    );
    let (status, _) = app
        .email_token("o@example.com", "http://localhost:3000/cb?next=%2Fcart")
        .await;
    assert_eq!(status, 200);
    let mails = sink
        .wait_for("o@example.com", 2, Duration::from_secs(10))
        .await;
    let link = mails[1].link();
    assert!(
        link.starts_with("http://localhost:3000/cb?next=%2Fcart&token=ctk_"),
        "{link}"
    );
    assert_eq!(mails.len(), 2, "refused requests sent nothing");
}

async fn configured_origins_replace_loopback(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.link_origins =
            vec![patron::config::AllowedOrigin::parse("https://shop.example").unwrap()];
    })
    .await;
    app.create_email("s@example.com").await;
    let (status, _) = app.email_token("s@example.com", LINK).await;
    assert_eq!(status, 422, "loopback is no longer allowed");
    let (status, _) = app
        .email_token(
            "s@example.com",
            "https://shop.example/account/login/{token}",
        )
        .await;
    assert_eq!(status, 200);
    assert!(sink
        .last_to("s@example.com")
        .await
        .link()
        .starts_with("https://shop.example/account/login/ctk_"));
}

async fn tokens_work_once_and_all_failures_look_alike(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    app.create_email("once@example.com").await;
    app.email_token("once@example.com", LINK).await;
    let token = sink.last_to("once@example.com").await.token();

    // GET and HEAD never consume.
    for method in [Method::GET, Method::HEAD] {
        let res = app
            .public(
                method.clone(),
                &format!("/v1/customers/exchange-token?token={token}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method}");
    }
    let (status, _) = app.exchange(&token).await;
    assert_eq!(status, 200);

    let (status, reused) = app.exchange(&token).await;
    assert_eq!(status, 422);
    assert_error(&reused, 422, "unprocessable_entity", "invalid_token");
    let mut fake = token.clone();
    fake.replace_range(10..14, "AAAA");
    let (_, unknown) = app.exchange(&fake).await;
    let (_, garbage) = app.exchange("1ae420a5-2f43-426f-8a61-516eabb56d33").await;
    let (_, missing) = status_json(
        app.public(Method::POST, "/v1/customers/exchange-token")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let strip = |mut v: Value| {
        v["error"]["request_id"] = Value::Null;
        v
    };
    assert_eq!(
        strip(reused.clone()),
        strip(unknown),
        "used and unknown look alike"
    );
    assert_eq!(strip(reused.clone()), strip(garbage));
    assert_eq!(strip(reused), strip(missing));
}

async fn concurrent_exchanges_have_exactly_one_winner(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| c.database_pool_size = 8).await;
    app.create_email("race@example.com").await;
    app.email_token("race@example.com", LINK).await;
    let token = sink.last_to("race@example.com").await.token();
    let attempts = (0..20).map(|_| app.exchange(&token));
    let results = futures_util::future::join_all(attempts).await;
    let winners = results.iter().filter(|(s, _)| *s == 200).count();
    let losers = results
        .iter()
        .filter(|(s, b)| *s == 422 && b["error"]["code"] == "invalid_token")
        .count();
    assert_eq!((winners, losers), (1, 19), "{results:?}");
}

async fn tokens_expire(backend: Backend) {
    let (app, sink) =
        TestApp::spawn_with_mail(backend, |c| c.login_token_ttl = Duration::from_secs(600)).await;
    app.create_email("late@example.com").await;
    // A token lasts its TTL by the server's clock, wherever that stands.
    app.clock.advance(Duration::from_secs(86_400));
    app.email_token("late@example.com", LINK).await;
    let token = sink.last_to("late@example.com").await.token();
    app.clock.advance(Duration::from_secs(590));
    let (status, body) = app.exchange(&token).await;
    assert_eq!(status, 200, "within its TTL: {body}");

    app.email_token("late@example.com", LINK).await;
    let token = sink
        .wait_for("late@example.com", 2, Duration::from_secs(10))
        .await[1]
        .token();
    app.clock.advance(Duration::from_secs(601));
    let (status, body) = app.exchange(&token).await;
    assert_eq!(status, 422);
    assert_error(&body, 422, "unprocessable_entity", "invalid_token");
}

async fn a_newer_link_voids_the_older(backend: Backend) {
    let (app, sink) =
        TestApp::spawn_with_mail(backend, |c| c.rate_limits.email_per_minute = 10).await;
    app.create_email("twice@example.com").await;
    app.email_token("twice@example.com", LINK).await;
    let first = sink.last_to("twice@example.com").await.token();
    app.email_token("twice@example.com", LINK).await;
    let mails = sink
        .wait_for("twice@example.com", 2, Duration::from_secs(10))
        .await;
    let second = mails[1].token();
    assert_ne!(first, second);
    let (status, _) = app.exchange(&first).await;
    assert_eq!(status, 422, "the older token is void");
    let (status, _) = app.exchange(&second).await;
    assert_eq!(status, 200);
}

async fn per_email_limit_is_silent_and_per_hour_too(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_per_minute = 100;
        c.rate_limits.email_per_hour = 3;
    })
    .await;
    app.create_email("flood@example.com").await;
    for _ in 0..6 {
        let (status, body) = app.email_token("flood@example.com", LINK).await;
        assert_eq!((status, body.as_str()), (200, r#"{"success":true}"#));
    }
    assert_eq!(app.outbox_settled().await, 3);
    assert_eq!(
        sink.mails_to("flood@example.com").len(),
        3,
        "at most 3 an hour"
    );
    // Past the minute, still within the hour: still nothing.
    app.clock.advance(Duration::from_secs(61));
    app.email_token("flood@example.com", LINK).await;
    assert_eq!(app.outbox_settled().await, 3, "the hour is not over");
    // The next hour's window allows mail again (the clock is at least 61 s into it).
    app.clock.advance(Duration::from_secs(3600));
    app.email_token("flood@example.com", LINK).await;
    assert_eq!(app.outbox_settled().await, 4, "a new hour");
    assert_eq!(sink.mails_to("flood@example.com").len(), 4);
}

async fn per_ip_limits_answer_429_and_trust_only_listed_proxies(backend: Backend) {
    let (app, _sink) = TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_token_per_minute = 3;
        c.rate_limits.exchange_per_minute = 2;
    })
    .await;
    let send = |xff: &'static str| {
        app.public(Method::POST, "/v1/customers/email-token")
            .header("X-Forwarded-For", xff)
            .json(&json!({"email": "ip@example.com", "base_url": LINK}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(send("1.1.1.1").await.unwrap().status(), 200);
    }
    // The peer is not a trusted proxy, so a different X-Forwarded-For changes nothing.
    let res = send("2.2.2.2").await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(
        res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 60
    );
    let (_, body) = status_json(res).await;
    assert_error(&body, 429, "rate_limit_error", "rate_limited");

    for _ in 0..2 {
        assert_eq!(app.exchange("ctk_nope").await.0, 422);
    }
    assert_eq!(app.exchange("ctk_nope").await.0, 429);
    // The next minute, by the server's clock, starts a new budget.
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(send("1.1.1.1").await.unwrap().status(), 200);
    assert_eq!(app.exchange("ctk_nope").await.0, 422);

    // Behind a trusted proxy, each forwarded client has its own budget.
    let (proxied, _sink2) = TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_token_per_minute = 2;
        c.trusted_proxies = vec![patron::config::TrustedProxy::parse("127.0.0.1").unwrap()];
    })
    .await;
    let send = |xff: &'static str| {
        proxied
            .public(Method::POST, "/v1/customers/email-token")
            .header("X-Forwarded-For", xff)
            .json(&json!({"email": "ip@example.com", "base_url": LINK}))
            .send()
    };
    assert_eq!(send("1.1.1.1").await.unwrap().status(), 200);
    assert_eq!(send("1.1.1.1").await.unwrap().status(), 200);
    assert_eq!(send("1.1.1.1").await.unwrap().status(), 429);
    assert_eq!(
        send("2.2.2.2").await.unwrap().status(),
        200,
        "another shopper behind the same storefront"
    );
}

async fn issue_token_is_secret_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("issued@example.com").await;
    let path = format!("/v1/customers/{}/issue-token", c["id"].as_str().unwrap());
    let (status, _) = status_json(app.public(Method::POST, &path).send().await.unwrap()).await;
    assert_eq!(status, 403);
    let (status, body) = status_json(app.secret(Method::POST, &path).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["customer_id"], c["id"]);
    let jwt = body["jwt"].as_str().unwrap();
    let own = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    assert_eq!(app.bearer_status(Method::GET, &own, jwt).await, 200);
    let (status, body) = status_json(
        app.secret(
            Method::POST,
            "/v1/customers/cstmr_AAAAAAAAAAAAAA/issue-token",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_error(&body, 404, "not_found", "customer_not_found");
}

async fn a_customer_sees_only_their_own_data(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    let (alice, jwt) = app.login(&sink, "alice@example.com").await;
    let bob = app.create_email("bob@example.com").await;
    let bob_id = bob["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/v1/customers/{bob_id}")),
        (Method::PUT, format!("/v1/customers/{bob_id}")),
        (Method::GET, format!("/v1/customers/{bob_id}/orders")),
    ] {
        let res = app
            .bearer(method.clone(), &path, &jwt)
            .json(&json!({"firstname": "Mallory"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{method} {path}");
    }
    for (method, path) in [
        (Method::GET, "/v1/customers".to_owned()),
        (Method::POST, "/v1/customers".to_owned()),
        (Method::DELETE, format!("/v1/customers/{alice}")),
        (Method::DELETE, format!("/v1/customers/{bob_id}")),
        (Method::POST, format!("/v1/customers/{alice}/issue-token")),
        (Method::POST, "/v1/customers/email-token".to_owned()),
    ] {
        let res = app
            .bearer(method.clone(), &path, &jwt)
            .json(&json!({"email": "x@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
    }
    let (_, still) = status_json(
        app.secret(Method::GET, &format!("/v1/customers/{bob_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(still, bob, "nothing of Bob's changed");
    assert_eq!(app.total_customers().await, 2);
}

async fn forged_and_expired_jwts_are_401(backend: Backend) {
    let (app, sink) =
        TestApp::spawn_with_mail(backend, |c| c.jwt_ttl = Duration::from_secs(600)).await;
    let (alice, jwt) = app.login(&sink, "alice@example.com").await;
    let bob = app.create_email("bob@example.com").await;
    let own = format!("/v1/customers/{alice}");
    assert_eq!(app.bearer_status(Method::GET, &own, &jwt).await, 200);

    let header = jwt_part(&jwt, 0);
    let claims = jwt_part(&jwt, 1);
    let signature = jwt.split('.').nth(2).unwrap();

    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let alg_none = format!("{}.{}.", b64(&none_header), b64(&claims));

    let mut swapped = claims.clone();
    swapped["cid"] = bob["id"].clone();
    swapped["sub"] = bob["id"].clone();
    let swapped_payload = format!("{}.{}.{signature}", b64(&header), b64(&swapped));

    // HS256 signed with the published public key as the HMAC secret (key confusion).
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = header["kid"].as_str().map(str::to_owned);
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(public_x.as_bytes()),
    )
    .unwrap();

    let mut bad_sig = jwt.clone();
    let last = bad_sig.pop().unwrap();
    bad_sig.push(if last == 'A' { 'B' } else { 'A' });

    for (name, token) in [
        ("alg none", alg_none),
        ("swapped payload", swapped_payload),
        ("hs256 with public key", hs256),
        ("bad signature", bad_sig),
        ("garbage", "not.a.jwt".to_owned()),
        ("empty", String::new()),
    ] {
        let (status, body) =
            status_json(app.bearer(Method::GET, &own, &token).send().await.unwrap()).await;
        assert_eq!(status, 401, "{name}");
        assert_error(&body, 401, "authentication_error", "invalid_bearer_token");
    }
    app.clock.advance(Duration::from_secs(601));
    let (status, _) = status_json(app.bearer(Method::GET, &own, &jwt).send().await.unwrap()).await;
    assert_eq!(status, 401, "expired");
}

/// The server checks a JWT's `exp` by its own clock, allowing 5 s for clocks a little apart,
/// also for a token whose signature it checked before; this does not depend on the session
/// row, which the test keeps alive.
async fn a_jwt_expires_by_its_exp_claim(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.jwt_ttl = Duration::from_secs(600)).await;
    let customer = app.create_email("exp@example.com").await;
    let id = customer["id"].as_str().unwrap();
    let own = format!("/v1/customers/{id}");
    let jwt = app.issue_jwt(id).await;
    assert_eq!(app.bearer_status(Method::GET, &own, &jwt).await, 200);

    let claims = jwt_part(&jwt, 1);
    let session = claims["jti"].as_str().unwrap().to_owned();
    app.state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use patron::db::schema::sessions::dsl;
            let later = patron::db::now() + chrono::TimeDelta::days(365);
            diesel::update(dsl::sessions.find(session))
                .set(dsl::expires_at.eq(later))
                .execute(conn)?;
            Ok::<_, patron::db::DbError>(())
        })
        .await
        .unwrap();
    let exp = chrono::DateTime::from_timestamp(claims["exp"].as_i64().unwrap(), 0)
        .unwrap()
        .naive_utc();

    // The start of the last second the leeway allows.
    let to_edge = exp + chrono::TimeDelta::seconds(5) - app.clock.now();
    app.clock.advance(to_edge.to_std().expect("exp is ahead"));
    assert_eq!(
        app.bearer_status(Method::GET, &own, &jwt).await,
        200,
        "within the leeway"
    );
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(
        app.bearer_status(Method::GET, &own, &jwt).await,
        401,
        "past exp and the leeway"
    );
}

async fn another_audience_refuses_our_tokens(backend: Backend) {
    let db = TestDb::new(backend);
    let config = crate::helpers::test_config(&db);
    let app = TestApp::spawn_on(db, config.clone()).await;
    let c = app.create_email("aud@example.com").await;
    let id = c["id"].as_str().unwrap();
    let jwt = &app.issue_jwt(id).await;
    let mut other = config;
    other.jwt_audience = "another-service".into();
    let elsewhere = TestApp::spawn_on(TestDb::borrowed(app.db.url.clone()), other).await;
    let res = elsewhere
        .bearer(Method::GET, &format!("/v1/customers/{id}"), jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "wrong aud");
    let res = app
        .bearer(Method::GET, &format!("/v1/customers/{id}"), jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn logout_ends_only_that_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("out@example.com").await;
    let id = c["id"].as_str().unwrap();
    let issue = || app.issue_jwt(id);
    let (phone, laptop) = (issue().await, issue().await);
    let own = format!("/v1/customers/{id}");
    let (status, body) = status_json(
        app.bearer(Method::POST, "/v1/customers/logout", &phone)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true})));
    assert_eq!(app.bearer_status(Method::GET, &own, &phone).await, 401);
    assert_eq!(app.bearer_status(Method::GET, &own, &laptop).await, 200);
    assert_eq!(
        app.secret(Method::POST, "/v1/customers/logout")
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "a merchant key is not the customer token logout needs"
    );
    // Deleting the customer ends their sessions too.
    assert_eq!(
        app.secret(Method::DELETE, &own)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(app.bearer_status(Method::GET, &own, &laptop).await, 401);
}

async fn keys_rotate_without_logging_anyone_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("rot@example.com").await;
    let id = c["id"].as_str().unwrap();
    let own = format!("/v1/customers/{id}");
    let issue = || app.issue_jwt(id);
    let old = issue().await;
    let old_kid = jwt_part(&old, 0)["kid"].as_str().unwrap().to_owned();
    let new_kid = app.state.sessions.rotate().await.unwrap();
    assert_ne!(old_kid, new_kid);
    let new = issue().await;
    assert_eq!(
        jwt_part(&new, 0)["kid"],
        new_kid.as_str(),
        "new tokens use the new key"
    );
    assert_eq!(
        app.bearer_status(Method::GET, &own, &old).await,
        200,
        "old tokens still work"
    );
    assert_eq!(app.bearer_status(Method::GET, &own, &new).await, 200);

    let res = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=600");
    let jwks: Value = res.json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{jwks}"
    );
    for k in jwks["keys"].as_array().unwrap() {
        assert_eq!(k["kty"], "OKP");
        assert!(k.get("d").is_none(), "no private part is published");
    }

    assert!(app.state.sessions.retire(&old_kid).await.unwrap());
    assert_eq!(
        app.bearer_status(Method::GET, &own, &old).await,
        401,
        "a retired key's tokens are refused"
    );
    assert_eq!(app.bearer_status(Method::GET, &own, &new).await, 200);
}

/// Waits until the one message in the outbox is queued again after a failed try, and returns
/// how many tries failed.
async fn queued_after_a_failed_try(app: &TestApp) -> i32 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = app
            .state
            .db
            .run(|conn| {
                use diesel::prelude::*;
                use patron::db::schema::outbox::dsl;
                Ok::<_, patron::db::DbError>(
                    dsl::outbox
                        .select((dsl::status, dsl::attempts, dsl::last_error))
                        .first::<(String, i32, Option<String>)>(conn)?,
                )
            })
            .await
            .expect("the queued message");
        if let ("queued", tries, Some(_)) = (row.0.as_str(), row.1, &row.2) {
            return tries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never queued again after a failed try: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn smtp_outage_delays_mail_but_loses_none(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    app.create_email("patient@example.com").await;
    sink.stop();
    let (status, _) = app.email_token("patient@example.com", LINK).await;
    assert_eq!(status, 200, "an SMTP outage never fails the request");
    let tries = queued_after_a_failed_try(&app).await;
    assert!(tries >= 1, "kept for a retry after {tries} failed tries");
    sink.restart().await;
    let mails = sink
        .wait_for("patient@example.com", 1, Duration::from_secs(15))
        .await;
    assert_eq!(app.outbox_settled().await, 1);
    assert_eq!(
        sink.mails_to("patient@example.com").len(),
        1,
        "delivered exactly once"
    );
    let (status, _) = app.exchange(&mails[0].token()).await;
    assert_eq!(status, 200, "the delayed link still works");
}

async fn two_servers_on_one_database_send_each_mail_once(backend: Backend) {
    let (first, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    let mut config = crate::helpers::test_config(&first.db);
    config.smtp_url = Some(patron::config::Secret::new(sink.url()));
    let second = TestApp::spawn_on(TestDb::borrowed(first.db.url.clone()), config).await;
    let n = 12;
    for i in 0..n {
        first.create_email(&format!("m{i}@example.com")).await;
    }
    for i in 0..n {
        let server = if i % 2 == 0 { &first } else { &second };
        let (status, _) = server.email_token(&format!("m{i}@example.com"), LINK).await;
        assert_eq!(status, 200);
    }
    assert_eq!(first.outbox_settled().await, n as i64);
    for i in 0..n {
        assert_eq!(sink.mails_to(&format!("m{i}@example.com")).len(), 1, "m{i}");
    }
    assert_eq!(
        sink.mails().len(),
        n,
        "each message once, whichever worker took it"
    );
    // A link asked for on one server is exchanged on the other.
    let token = sink.mails_to("m0@example.com")[0].token();
    let (status, login) = second.exchange(&token).await;
    assert_eq!(status, 200);
    let id = login["customer_id"].as_str().unwrap();
    let jwt = login["jwt"].as_str().unwrap();
    assert_eq!(
        first
            .bearer(Method::GET, &format!("/v1/customers/{id}"), jwt)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn audit_trail_records_events_and_no_secrets(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |_| {}).await;
    let (id, jwt) = app.login(&sink, "audit@example.com").await;
    let token = sink.last_to("audit@example.com").await.token();
    app.exchange(&token).await;
    app.bearer(Method::POST, "/v1/customers/logout", &jwt)
        .send()
        .await
        .unwrap();

    let events = app
        .state
        .db
        .run(|conn| patron::db::audit::all(conn).map_err(patron::db::DbError::from))
        .await
        .unwrap();
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e.customer_id.as_deref() == Some(id.as_str()))
        .map(|e| e.event.as_str())
        .collect();
    for expected in [
        "authn_token_created",
        "authn_login_success",
        "session_created",
        "authn_token_reuse",
        "session_logout",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        events.iter().all(|e| e.ip.as_deref() == Some("127.0.0.1")),
        "client ip recorded"
    );
    assert!(events.iter().all(|e| e
        .request_id
        .as_deref()
        .is_some_and(|r| r.starts_with("req_"))));

    // The token is nowhere in the database: not in tokens, audit or the (sent) outbox.
    let dump = app
        .state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use patron::db::schema::{login_tokens, outbox};
            let hashes: Vec<String> = login_tokens::table
                .select(login_tokens::token_hash)
                .load(conn)?;
            let bodies: Vec<(String, String, String)> = outbox::table
                .select((outbox::body_text, outbox::body_html, outbox::status))
                .load(conn)?;
            Ok::<_, patron::db::DbError>(format!("{hashes:?} {bodies:?}"))
        })
        .await
        .unwrap();
    assert!(!dump.contains(&token), "the plain token is not stored");
    assert!(dump.contains("sent"), "{dump}");
    assert!(!format!("{events:?}").contains(&token));
}

crate::on_both_backends!(
    magic_link_logs_a_customer_in,
    answers_are_identical_for_known_unknown_and_throttled,
    base_url_must_be_on_an_allowed_origin,
    configured_origins_replace_loopback,
    tokens_work_once_and_all_failures_look_alike,
    concurrent_exchanges_have_exactly_one_winner,
    tokens_expire,
    a_newer_link_voids_the_older,
    per_email_limit_is_silent_and_per_hour_too,
    per_ip_limits_answer_429_and_trust_only_listed_proxies,
    issue_token_is_secret_only,
    a_customer_sees_only_their_own_data,
    forged_and_expired_jwts_are_401,
    another_audience_refuses_our_tokens,
    logout_ends_only_that_session,
    keys_rotate_without_logging_anyone_out,
    a_jwt_expires_by_its_exp_claim,
    smtp_outage_delays_mail_but_loses_none,
    two_servers_on_one_database_send_each_mail_once,
    audit_trail_records_events_and_no_secrets,
);
