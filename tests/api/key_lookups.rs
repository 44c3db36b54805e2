//! What a presented merchant key costs the database: one query per request for a live key (so
//! a revocation anywhere counts from the next request), one per key and `UNKNOWN_TTL` for a
//! bad one (so a flood of bad keys cannot take the pool).

use patron::service::keys::unknown::UNKNOWN_TTL;
use patron::service::keys::Revocation;
use patron::service::{KeyKind, KeyService};
use reqwest::Method;

use crate::helpers::{assert_error, status_json, Backend, TestApp};

/// A key of the generated shape that no one holds.
fn bad_key() -> String {
    format!("sk_{}", patron::domain::random::alphanumeric(40))
}

async fn list_status(app: &TestApp, key: &str) -> u16 {
    let res = app
        .client
        .get(app.url("/v1/customers"))
        .header("X-Authorization", key)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 401 {
        let (_, err) = status_json(res).await;
        assert_error(&err, 401, "authentication_error", "invalid_api_key");
    }
    status
}

/// Database lookups made by the server's key service while `requests` run.
async fn lookups_during<F: std::future::Future<Output = ()>>(app: &TestApp, requests: F) -> u64 {
    let before = app.state.keys.stored_lookups();
    requests.await;
    app.state.keys.stored_lookups() - before
}

async fn a_bad_key_costs_one_lookup_per_ttl_and_a_live_key_one_per_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // Each of many distinct bad keys is looked up once, however often it is presented.
    let flood: Vec<String> = (0..25).map(|_| bad_key()).collect();
    let n = lookups_during(&app, async {
        for key in &flood {
            for _ in 0..2 {
                assert_eq!(list_status(&app, key).await, 401);
            }
        }
    })
    .await;
    assert_eq!(n, 25, "one lookup per distinct bad key");

    // One bad key presented again and again: one lookup per `UNKNOWN_TTL` (a slow machine
    // may take longer than one to send them all).
    let repeated = bad_key();
    let started = std::time::Instant::now();
    let n = lookups_during(&app, async {
        for _ in 0..40 {
            assert_eq!(list_status(&app, &repeated).await, 401);
        }
    })
    .await;
    let windows = started.elapsed().as_millis() / UNKNOWN_TTL.as_millis() + 1;
    assert!(
        n >= 1 && u128::from(n) <= windows,
        "{n} lookups in {windows} TTLs"
    );
    // Once its TTL is over, the key is asked about again.
    app.clock.advance(UNKNOWN_TTL);
    let started = std::time::Instant::now();
    let n = lookups_during(&app, async {
        for _ in 0..5 {
            assert_eq!(list_status(&app, &repeated).await, 401);
        }
    })
    .await;
    let windows = started.elapsed().as_millis() / UNKNOWN_TTL.as_millis() + 1;
    assert!(
        n >= 1 && u128::from(n) <= windows,
        "{n} lookups in {windows} TTLs after the TTL"
    );

    // A live key is looked up on every request: nothing about it is kept.
    let live = app.state.keys.create(KeyKind::Secret).await.unwrap();
    let n = lookups_during(&app, async {
        for _ in 0..3 {
            assert_eq!(list_status(&app, live.key.expose()).await, 200);
        }
    })
    .await;
    assert_eq!(n, 3);
    // Keys from the configuration never reach the database.
    let n = lookups_during(&app, async {
        let res = app
            .secret(Method::GET, "/v1/customers")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    })
    .await;
    assert_eq!(n, 0);
}

/// The key service of another process on the server's database (what `patron keys` runs):
/// its own pool and its own memory, nothing shared with the server's.
async fn another_process(app: &TestApp) -> KeyService {
    let url = app.db.url.clone();
    let db = tokio::task::spawn_blocking(move || {
        patron::db::connect_and_migrate(&url, 1, std::time::Duration::from_secs(10))
    })
    .await
    .unwrap()
    .expect("open the database");
    KeyService::new(db, patron::clock::Clock::system(), None, None)
}

/// Another process creates a key and revokes it: the running server takes the new key and
/// refuses the revoked one from the very next request.
async fn keys_created_and_revoked_elsewhere_count_from_the_next_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cli = another_process(&app).await;
    // Bad keys seen before do not hide a new one.
    assert_eq!(list_status(&app, &bad_key()).await, 401);

    let issued = cli.create(KeyKind::Secret).await.unwrap();
    let key = issued.key.expose();
    assert_eq!(list_status(&app, key).await, 200, "a new key works at once");
    assert_eq!(list_status(&app, key).await, 200);

    assert_eq!(
        cli.revoke(&issued.id).await.unwrap(),
        Revocation::Revoked(issued.id.clone())
    );
    assert_eq!(
        list_status(&app, key).await,
        401,
        "a key revoked elsewhere is refused from the next request on"
    );
}

crate::on_both_backends!(
    a_bad_key_costs_one_lookup_per_ttl_and_a_live_key_one_per_request,
    keys_created_and_revoked_elsewhere_count_from_the_next_request,
    a_key_beside_a_customer_token_is_looked_up_once,
);

/// Beside a customer token, a merchant key is checked for its store once: Commerce.js sends its
/// public key with every call, and those calls must not cost a key lookup each. Two keys in
/// turn are both remembered (not only the last one seen).
async fn a_key_beside_a_customer_token_is_looked_up_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.state.keys.create(KeyKind::Public).await.unwrap();
    let second = app.state.keys.create(KeyKind::Public).await.unwrap();
    let customer = app.create_email("beside@example.com").await;
    let id = customer["id"].as_str().unwrap().to_owned();
    let jwt = app.issue_jwt(&id).await;
    let n = lookups_during(&app, async {
        for _ in 0..5 {
            for key in [&first, &second] {
                let res = app
                    .client
                    .get(app.url(&format!("/v1/customers/{id}")))
                    .header("Authorization", format!("Bearer {jwt}"))
                    .header("X-Authorization", key.key.expose())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status().as_u16(), 200);
            }
        }
    })
    .await;
    assert_eq!(n, 2, "one lookup per key, then its store is remembered");
}
