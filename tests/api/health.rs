//! Liveness, readiness, database outages and startup errors.

use std::time::Duration;

use patron::config::{Config, DatabaseUrl};
use patron::startup::Application;
use reqwest::Method;

use crate::helpers::{assert_error, postgres_url, status_json, Backend, TcpProxy, TestApp, TestDb};

async fn health_and_readiness_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) =
        status_json(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) =
        status_json(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
}

async fn head_is_answered_wherever_get_is(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("head@example.com").await;
    let one = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    for path in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/.well-known/jwks.json",
        "/docs/",
        "/docs/index.html",
    ] {
        let get = app.client.get(app.url(path)).send().await.unwrap();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(get.status(), 200, "GET {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(head.headers().contains_key("x-request-id"), "HEAD {path}");
        // On the wire: the headers and nothing after them.
        let request = format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = app.raw(request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "HEAD {path}: {answer}");
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("?");
        assert_eq!(body, "", "HEAD {path} sends no body");
    }
    // The API's reads too, with their own status.
    let head = app.secret(Method::HEAD, &one).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let head = app.client.head(app.url(&one)).send().await.unwrap();
    assert_eq!(head.status(), 401, "as GET without a key");
    let head = app
        .secret(Method::HEAD, "/v1/customers/email-token")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 405, "no GET there, so no HEAD");
}

async fn docs_redirects_to_docs_slash(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for method in [Method::GET, Method::HEAD] {
        let res = client
            .request(method.clone(), app.url("/docs"))
            .send()
            .await
            .unwrap();
        assert!(
            [301, 308].contains(&res.status().as_u16()),
            "{method} /docs: {}",
            res.status()
        );
        assert_eq!(res.headers()["location"], "/docs/", "{method}");
    }
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), 200, "followed, the UI");
    assert!(res.text().await.unwrap().contains("swagger"));
}

crate::on_both_backends!(
    health_and_readiness_answer,
    head_is_answered_wherever_get_is,
    docs_redirects_to_docs_slash,
);

/// PostgreSQL goes away under a running patron: requests get 503 (not 500), readiness fails,
/// and when the database is back the service recovers by itself with no data lost.
#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn postgres_outage_is_503_then_recovers() {
    let base = url::Url::parse(&postgres_url().unwrap()).unwrap();
    let upstream = format!(
        "{}:{}",
        base.host_str().unwrap_or("127.0.0.1"),
        base.port().unwrap_or(5432)
    );
    let upstream = tokio::net::lookup_host(upstream)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = TcpProxy::start(upstream).await;

    let db = TestDb::new(Backend::Postgres);
    let DatabaseUrl::Postgres(direct) = db.url.clone() else {
        unreachable!()
    };
    let mut via_proxy = url::Url::parse(&direct).unwrap();
    via_proxy.set_host(Some("127.0.0.1")).unwrap();
    via_proxy.set_port(Some(proxy.port)).unwrap();
    let mut config = crate::helpers::test_config(&db);
    config.database_url = DatabaseUrl::Postgres(via_proxy.to_string());
    config.database_timeout = Duration::from_secs(1);
    let app = TestApp::spawn_on(db, config).await;

    let c = app.create_email("durable@example.com").await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    // A customer's requests check their session on the asynchronous connection (pg_async).
    let jwt = app.issue_jwt(c["id"].as_str().unwrap()).await;
    assert_eq!(app.bearer_status(Method::GET, &path, &jwt).await, 200);

    proxy.cut();
    for _ in 0..3 {
        let (status, err) =
            status_json(app.bearer(Method::GET, &path, &jwt).send().await.unwrap()).await;
        assert_eq!(status, 503, "{err}");
        assert_error(&err, 503, "service_unavailable", "service_unavailable");
    }
    for _ in 0..3 {
        let (status, err) = status_json(app.secret(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(status, 503, "{err}");
        assert_error(&err, 503, "service_unavailable", "service_unavailable");
        assert!(
            !err.to_string().contains("connection"),
            "no internal error text: {err}"
        );
    }
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the process itself is up");

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..50 {
        let res = app.secret(Method::GET, &path).send().await.unwrap();
        if res.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "patron recovers when the database is back");
    let mut customer_recovered = false;
    for _ in 0..50 {
        if app.bearer_status(Method::GET, &path, &jwt).await == 200 {
            customer_recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(customer_recovered, "the session check reconnects by itself");
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.total_customers().await,
        1,
        "nothing acknowledged was lost"
    );
}

#[actix_web::test]
async fn unreachable_database_is_a_clear_startup_error() {
    let mut config = Config::defaults();
    config.bind = "127.0.0.1:0".into();
    config.database_url =
        DatabaseUrl::Postgres("postgres://patron:secretpw@127.0.0.1:1/patron".into());
    let err = match Application::build(config).await {
        Ok(_) => panic!("started without a database"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("cannot connect to postgres://"), "{err}");
    assert!(err.contains("127.0.0.1:1"), "names the server: {err}");
    assert!(
        !err.contains("secretpw"),
        "never prints the password: {err}"
    );
}
