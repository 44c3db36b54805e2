//! The security review's account-takeover findings, each attacked the way it was found: email
//! change without proof, lockout beaten by concurrency, enumeration through the lockout, and a
//! customer writing the merchant's fields.

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::accounts::{login, post, registered, PASSWORD};
use crate::helpers::{assert_error, status_json, Backend, TestApp};
use crate::smtp::SmtpSink;

const CONFIRM_LINK: &str = "http://localhost:3000/confirm-email/{token}";

async fn app_with_mail(backend: Backend) -> (TestApp, SmtpSink) {
    TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_per_minute = 20;
        c.rate_limits.login_per_minute = 0;
    })
    .await
}

async fn put_own(app: &TestApp, id: &str, jwt: &str, body: Value) -> (u16, Value) {
    status_json(
        app.bearer(Method::PUT, &format!("/v1/customers/{id}"), jwt)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn put_as_merchant(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    status_json(
        app.secret(Method::PUT, &format!("/v1/customers/{id}"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn get_own(app: &TestApp, id: &str, jwt: &str) -> Value {
    let (status, body) = status_json(
        app.bearer(Method::GET, &format!("/v1/customers/{id}"), jwt)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn confirm(app: &TestApp, token: &str) -> (u16, Value) {
    post(
        app,
        "/v1/customers/confirm-email-change",
        json!({ "token": token }),
    )
    .await
}

/// The failed-password counter of an address, as stored.
async fn stored_failures(app: &TestApp, email: &str) -> Option<i32> {
    use patron::db::schema::login_throttle::dsl;
    let key =
        patron::service::login_guard::GuardKey::for_login(patron::db::scope::Scope::DEFAULT, email)
            .as_str()
            .to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok::<_, patron::db::DbError>(
                dsl::login_throttle
                    .find(key)
                    .select(dsl::failures)
                    .first::<i32>(conn)
                    .optional()?,
            )
        })
        .await
        .unwrap()
}

fn count(statuses: &[u16]) -> BTreeMap<u16, usize> {
    let mut m = BTreeMap::new();
    for s in statuses {
        *m.entry(*s).or_default() += 1;
    }
    m
}

async fn customer_email_change_waits_for_confirmation(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let (id, jwt) = registered(&app, &sink, "owner@example.com").await;

    let (status, body) = put_own(
        &app,
        &id,
        &jwt,
        json!({"email": "New.Owner@example.com", "base_url": CONFIRM_LINK}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "owner@example.com", "not changed yet");
    assert_eq!(body["pending_email"], "New.Owner@example.com");

    // Until confirmed, nothing about the account changes.
    let seen = get_own(&app, &id, &jwt).await;
    assert_eq!(seen["email"], "owner@example.com");
    assert!(seen.get("pending_email").is_none(), "{seen}");
    assert_eq!(
        login(&app, "new.owner@example.com", PASSWORD).await.0,
        401,
        "no password login at the unconfirmed address"
    );
    assert_eq!(login(&app, "owner@example.com", PASSWORD).await.0, 200);

    let mail = sink.last_to("New.Owner@example.com").await;
    assert!(
        mail.link()
            .starts_with("http://localhost:3000/confirm-email/ctk_"),
        "{}",
        mail.link()
    );
    let (status, body) = confirm(&app, &mail.token()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["email"], "New.Owner@example.com");

    // The old address is told, and the account now answers to the new one.
    let notices = sink
        .wait_for("owner@example.com", 2, Duration::from_secs(10))
        .await;
    let notice = notices.last().unwrap();
    assert_eq!(
        notice.header("subject").as_deref(),
        Some("Your email address was changed")
    );
    assert!(!notice.text().contains("ctk_"), "{}", notice.text());
    assert_eq!(
        get_own(&app, &id, &jwt).await["email"],
        "New.Owner@example.com"
    );
    assert_eq!(login(&app, "new.owner@example.com", PASSWORD).await.0, 200);
    assert_eq!(login(&app, "owner@example.com", PASSWORD).await.0, 401);

    // One use only.
    let (status, body) = confirm(&app, &mail.token()).await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, 422, "unprocessable_entity", "invalid_token");
}

async fn unconfirmed_address_collects_no_guest_orders(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let (id, jwt) = registered(&app, &sink, "thief@example.com").await;
    let (status, _) = put_own(&app, &id, &jwt, json!({"email": "victim@example.com"})).await;
    assert_eq!(status, 200);

    let (status, order) = status_json(
        app.secret(Method::POST, "/v1/orders")
            .json(&json!({
                "customer": {"email": "victim@example.com"},
                "currency": "USD",
                "line_items": [{"product_name": "Ring", "quantity": 1, "price": "99"}],
                "shipping": {"name": "Victim", "street": "1 Home St", "town_city": "Springfield", "country": "US"}
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    assert_ne!(order["customer"]["id"], id.as_str());
    let (status, mine) = status_json(
        app.bearer(Method::GET, &format!("/v1/customers/{id}/orders"), &jwt)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(
        mine["data"],
        json!([]),
        "the victim's order is not the thief's"
    );

    // The address has an account now: the old confirmation cannot take it.
    let token = sink.last_to("victim@example.com").await.code();
    let (status, body) = confirm(&app, &token).await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, 422, "unprocessable_entity", "email_taken");
    assert_eq!(get_own(&app, &id, &jwt).await["email"], "thief@example.com");
}

async fn email_change_to_a_taken_address_reveals_nothing(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    app.create_email("taken@example.com").await;
    let (id, jwt) = registered(&app, &sink, "mover@example.com").await;

    let (status, taken) = put_own(&app, &id, &jwt, json!({"email": "taken@example.com"})).await;
    let (status_free, free) = put_own(&app, &id, &jwt, json!({"email": "free@example.com"})).await;
    assert_eq!((status, status_free), (200, 200), "{taken} {free}");
    assert_eq!(taken["email"], free["email"], "same answer either way");

    let note = sink.last_to("taken@example.com").await;
    assert!(!note.raw.contains("ctk_"), "no token for a taken address");
    assert_eq!(get_own(&app, &id, &jwt).await["email"], "mover@example.com");

    // The code mailed to the free address works without any link.
    let token = sink.last_to("free@example.com").await.code();
    let (status, body) = confirm(&app, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "free@example.com");

    // The merchant's secret key still sets an address directly.
    let (status, body) =
        put_as_merchant(&app, &id, json!({"email": "set-by-shop@example.com"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "set-by-shop@example.com");
}

async fn customers_cannot_write_merchant_fields(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let (id, jwt) = registered(&app, &sink, "shopper@example.com").await;

    let (status, body) = put_own(
        &app,
        &id,
        &jwt,
        json!({"firstname": "Changed", "meta": {"vip": true}}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_error(&body, 403, "forbidden", "merchant_only_field");
    assert!(body["error"]["errors"]["meta"].is_array(), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("secret key")),
        "{body}"
    );

    let (status, body) = put_own(&app, &id, &jwt, json!({"external_id": null})).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["errors"]["external_id"].is_array(), "{body}");

    let seen = get_own(&app, &id, &jwt).await;
    assert_eq!(
        seen["firstname"], "Reg",
        "nothing of the refused request was saved"
    );
    assert_eq!(seen["meta"], json!([]));
    assert_eq!(seen["external_id"], Value::Null);

    // What is theirs they may change; the merchant may change the rest.
    let (status, body) = put_own(&app, &id, &jwt, json!({"firstname": "Changed"})).await;
    assert_eq!((status, body["firstname"].clone()), (200, json!("Changed")));
    let (status, body) = put_as_merchant(
        &app,
        &id,
        json!({"meta": {"vip": true}, "external_id": "crm-1"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"], json!({"vip": true}));
    assert_eq!(body["external_id"], "crm-1");
}

/// A customer whose address was never verified (a merchant issued their token) proves the new
/// address by confirming it: the account is verified there, and its `updated` time moves.
async fn a_confirmed_address_is_verified(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let (status, _) = post(
        &app,
        "/v1/customers/register",
        json!({"email": "unverified@example.com", "password": PASSWORD, "base_url": crate::accounts::LINK}),
    )
    .await;
    assert_eq!(status, 202);
    let (_, list) = app.list("?email=unverified@example.com").await;
    let id = list["data"][0]["id"]
        .as_str()
        .expect("registered")
        .to_owned();
    let jwt = app.issue_jwt(&id).await;
    let stored_updated = || {
        let id = id.clone();
        app.state.db.run(move |conn| {
            Ok::<_, patron::db::DbError>(
                patron::db::customers::find(conn, patron::db::scope::Scope::DEFAULT, &id)?
                    .expect("customer")
                    .updated_at,
            )
        })
    };
    let before = stored_updated().await.unwrap();
    let (status, _) = put_own(&app, &id, &jwt, json!({"email": "proven@example.com"})).await;
    assert_eq!(status, 200);
    assert_eq!(login(&app, "unverified@example.com", PASSWORD).await.0, 401);
    let token = sink.last_to("proven@example.com").await.code();
    let (status, body) = confirm(&app, &token).await;
    assert_eq!(status, 200, "{body}");
    assert!(stored_updated().await.unwrap() > before, "updated moves");
    assert_eq!(login(&app, "proven@example.com", PASSWORD).await.0, 200);
}

/// The confirmation leaves at once, not at the mail worker's next look at the outbox.
async fn the_confirmation_mail_goes_out_at_once(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_per_minute = 20;
        c.mail_poll_interval = Duration::from_secs(120);
    })
    .await;
    let (id, jwt) = registered(&app, &sink, "prompt@example.com").await;
    let (status, _) = put_own(&app, &id, &jwt, json!({"email": "soon@example.com"})).await;
    assert_eq!(status, 200);
    sink.wait_for("soon@example.com", 1, Duration::from_secs(10))
        .await;
}

/// Writing one's own address in another case is no change of address: it applies at once
/// and mails nothing.
async fn the_same_address_in_another_case_needs_no_confirmation(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let (id, jwt) = registered(&app, &sink, "case@example.com").await;
    let (status, body) = put_own(&app, &id, &jwt, json!({"email": "Case@Example.com"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "Case@Example.com");
    assert!(body.get("pending_email").is_none(), "{body}");
    assert_eq!(get_own(&app, &id, &jwt).await["email"], "Case@Example.com");
    // Only the verification mail of the registration was queued for it (mail is queued in
    // the request's transaction, so the outbox already holds whatever the PUT sent).
    let recipients = app
        .state
        .db
        .run(|conn| {
            use patron::db::schema::outbox::dsl;
            Ok::<_, patron::db::DbError>(dsl::outbox.select(dsl::recipient).load::<String>(conn)?)
        })
        .await
        .unwrap();
    let to_case = recipients
        .iter()
        .filter(|r| r.eq_ignore_ascii_case("case@example.com"))
        .count();
    assert_eq!(to_case, 1, "{recipients:?}");
}

/// An address the merchant sets replaces a change still waiting for confirmation.
async fn a_merchant_email_change_voids_a_pending_one(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let (id, jwt) = registered(&app, &sink, "pending@example.com").await;
    let (status, _) = put_own(&app, &id, &jwt, json!({"email": "wanted@example.com"})).await;
    assert_eq!(status, 200);
    let token = sink.last_to("wanted@example.com").await.code();
    let (status, body) = put_as_merchant(&app, &id, json!({"email": "by-shop@example.com"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = confirm(&app, &token).await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, 422, "unprocessable_entity", "invalid_token");
    assert_eq!(
        get_own(&app, &id, &jwt).await["email"],
        "by-shop@example.com"
    );
}

/// Each email change mails an address the customer chose: it counts against the per-client
/// limit of mail-sending requests, so one token cannot mail address after address.
async fn email_changes_count_against_the_client_mail_limit(backend: Backend) {
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_per_minute = 20;
        c.rate_limits.email_token_per_minute = 3;
    })
    .await;
    let (id, jwt) = registered(&app, &sink, "spammer@example.com").await;
    // The registration used one of the three.
    for n in 0..2 {
        let (status, body) = put_own(
            &app,
            &id,
            &jwt,
            json!({"email": format!("target{n}@example.com")}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = put_own(&app, &id, &jwt, json!({"email": "target9@example.com"})).await;
    assert_eq!(status, 429, "{body}");
    assert_error(&body, 429, "rate_limit_error", "rate_limited");
    // Other changes of their own are not limited.
    let (status, _) = put_own(&app, &id, &jwt, json!({"firstname": "Still"})).await;
    assert_eq!(status, 200);
}

/// 40 logins at once, one with the right password: at most ten are ever checked.
async fn concurrent_logins_check_at_most_ten_passwords(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    registered(&app, &sink, "racer@example.com").await;
    let attempts: Vec<_> = (0..40)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/v1/customers/login");
            let password = if i == 20 {
                PASSWORD.to_owned()
            } else {
                format!("wrong password {i}")
            };
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .header("X-Authorization", crate::helpers::PUBLIC_KEY)
                    .json(&json!({"email": "racer@example.com", "password": password}))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for a in attempts {
        let (status, body) = a.await.unwrap();
        if status == 429 {
            assert_eq!(body["error"]["code"], "account_locked", "{body}");
        }
        statuses.push(status);
    }
    let counted = count(&statuses);
    assert!(counted.get(&401).is_none_or(|n| *n <= 10), "{counted:?}");
    assert!(counted.get(&200).is_none_or(|n| *n <= 1), "{counted:?}");
    assert!(counted.get(&429).is_some_and(|n| *n >= 29), "{counted:?}");
    assert_eq!(
        counted
            .keys()
            .filter(|s| ![200, 401, 429].contains(*s))
            .count(),
        0,
        "{counted:?}"
    );
    assert!(
        stored_failures(&app, "racer@example.com")
            .await
            .unwrap_or(0)
            <= 10
    );
}

/// Nine wrong passwords at once are nine failures (none lost), and the tenth locks.
async fn concurrent_failures_all_count(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    registered(&app, &sink, "nine@example.com").await;
    let attempts: Vec<_> = (0..9)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/v1/customers/login");
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("X-Authorization", crate::helpers::PUBLIC_KEY)
                    .json(&json!({"email": "nine@example.com", "password": format!("wrong {i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for a in attempts {
        assert_eq!(a.await.unwrap(), 401);
    }
    assert_eq!(stored_failures(&app, "nine@example.com").await, Some(9));
    assert_eq!(login(&app, "nine@example.com", "wrong 10").await.0, 401);
    let (status, body) = login(&app, "nine@example.com", PASSWORD).await;
    assert_eq!(status, 429, "{body}");
}

/// An address without an account locks exactly like one with an account.
async fn unknown_addresses_lock_like_known_ones(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    registered(&app, &sink, "known@example.com").await;
    let mut answers = Vec::new();
    for email in ["known@example.com", "ghost@example.com"] {
        for i in 0..10 {
            let (status, body) = login(&app, email, "wrong password").await;
            assert_eq!(status, 401, "{email} failure {i}: {body}");
        }
        let (status, mut body) = login(&app, email, PASSWORD).await;
        assert_eq!(status, 429, "{email}: {body}");
        assert_error(&body, 429, "rate_limit_error", "account_locked");
        body["error"]["request_id"] = Value::Null;
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
}

/// Guessing the current password on a password change counts like a login.
async fn current_password_guesses_share_the_lockout(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let (id, jwt) = registered(&app, &sink, "changer@example.com").await;
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let request = app
                .bearer(Method::PUT, &format!("/v1/customers/{id}"), &jwt)
                .json(&json!({"password": "brand new password", "current_password": format!("guess {i}")}));
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let counted = count(&statuses);
    assert!(counted.get(&422).is_some_and(|n| *n <= 10), "{counted:?}");
    assert_eq!(
        counted.get(&429).copied().unwrap_or(0) + counted.get(&422).copied().unwrap_or(0),
        40,
        "{counted:?}"
    );
    // Locked now, for a change and for a login alike.
    let (status, body) = put_own(
        &app,
        &id,
        &jwt,
        json!({"password": "brand new password", "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert_error(&body, 429, "rate_limit_error", "account_locked");
    assert_eq!(login(&app, "changer@example.com", PASSWORD).await.0, 429);
}

/// A right password for an address never confirmed is refused, but is not a guess: it gives
/// its turn back, so trying it again and again never locks the address.
async fn right_password_on_an_unverified_account_never_locks(backend: Backend) {
    let (app, _sink) = app_with_mail(backend).await;
    let (status, _) = post(
        &app,
        "/v1/customers/register",
        json!({"email": "unconfirmed@example.com", "password": PASSWORD, "base_url": crate::accounts::LINK}),
    )
    .await;
    assert_eq!(status, 202);
    for i in 0..12 {
        let (status, body) = login(&app, "unconfirmed@example.com", PASSWORD).await;
        assert_eq!(status, 401, "try {i}: {body}");
    }
}

/// Each lockout in a row lasts twice as long as the one before.
async fn lockouts_in_a_row_double(backend: Backend) {
    use patron::db::schema::login_throttle::dsl;
    let (app, sink) = TestApp::spawn_with_mail(backend, |c| {
        c.rate_limits.email_per_minute = 20;
        c.rate_limits.login_per_minute = 0;
        c.lockout_base = Duration::from_secs(60);
    })
    .await;
    registered(&app, &sink, "twice@example.com").await;
    let key = patron::service::login_guard::GuardKey::for_login(
        patron::db::scope::Scope::DEFAULT,
        "twice@example.com",
    )
    .as_str()
    .to_owned();
    let stored = || {
        let key = key.clone();
        app.state.db.run(move |conn| {
            Ok::<_, patron::db::DbError>(
                dsl::login_throttle
                    .find(key)
                    .select((dsl::lockouts, dsl::locked_until))
                    .first::<(i32, Option<chrono::NaiveDateTime>)>(conn)?,
            )
        })
    };
    for round in 1..=2 {
        for _ in 0..10 {
            assert_eq!(
                login(&app, "twice@example.com", "wrong password").await.0,
                401
            );
        }
        let (lockouts, until) = stored().await.unwrap();
        assert_eq!(lockouts, round, "lockouts in a row");
        let left = until.expect("locked") - app.clock.now();
        let expected_ms = 60_000 * (1 << (round - 1));
        assert!(
            left.num_milliseconds() > expected_ms - 2000 && left.num_milliseconds() <= expected_ms,
            "round {round}: {left:?}"
        );
        app.clock.advance(Duration::from_millis(
            u64::try_from(expected_ms).unwrap() + 100,
        ));
    }
    // A right password ends the streak: the next lockout is the base length again.
    assert_eq!(login(&app, "twice@example.com", PASSWORD).await.0, 200);
    assert_eq!(stored().await.unwrap().0, 0);
}

/// A right password checked while wrong ones locked the address opens no session.
async fn a_lock_taken_while_checking_refuses_the_success(backend: Backend) {
    use patron::service::login_guard::{self as guard, GuardKey};
    let app = TestApp::spawn(backend).await;
    let key = GuardKey::for_login(patron::db::scope::Scope::DEFAULT, "race@example.com");
    let now = app.clock.now();
    let result = app
        .state
        .db
        .run(move |conn| {
            let first = guard::take_attempt(conn, now, &key)?;
            // Ten wrong passwords finish while this one is still being hashed.
            let mut lock = None;
            for _ in 0..10 {
                lock = guard::record_failure(conn, now, &key, Duration::from_secs(60))?;
            }
            let success = guard::record_success(conn, now, &key)?;
            Ok::<_, patron::db::DbError>((first, lock, success))
        })
        .await
        .unwrap();
    assert_eq!(result.0, None, "the first attempt may be checked");
    let lock = result.1.expect("the tenth failure locks");
    assert_eq!(result.2, Some(lock), "the success comes too late");
}

crate::on_both_backends!(
    a_confirmed_address_is_verified,
    the_confirmation_mail_goes_out_at_once,
    the_same_address_in_another_case_needs_no_confirmation,
    a_merchant_email_change_voids_a_pending_one,
    email_changes_count_against_the_client_mail_limit,
    right_password_on_an_unverified_account_never_locks,
    lockouts_in_a_row_double,
    a_lock_taken_while_checking_refuses_the_success,
    customer_email_change_waits_for_confirmation,
    unconfirmed_address_collects_no_guest_orders,
    email_change_to_a_taken_address_reveals_nothing,
    customers_cannot_write_merchant_fields,
    concurrent_logins_check_at_most_ten_passwords,
    concurrent_failures_all_count,
    unknown_addresses_lock_like_known_ones,
    current_password_guesses_share_the_lockout,
);
