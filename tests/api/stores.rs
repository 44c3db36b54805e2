//! Several stores in one deployment (issue 15): the operator's store API, and every merchant and
//! customer call scoped to the store of its key or JWT, over real HTTP and real SMTP.
//!
//! Two stores made through the API, A and B, hold the same email; whatever goes through A's
//! keys or JWTs must find nothing of B, and an id of B must look exactly like an id that never
//! existed.

use std::time::Duration;

use patron::config::{Config, Secret};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp, PUBLIC_KEY, SECRET_KEY};
use crate::smtp::{ReceivedMail, SmtpSink};

pub(crate) const ADMIN_KEY: &str = "ak_test_adminadminadmin";
const PASSWORD_A: &str = "correct horse battery";
const PASSWORD_B: &str = "staple battery horse";
const LINK: &str = "http://localhost:3000/account/{token}";
const LINK_A: &str = "http://localhost:3000/a/{token}";
const LINK_B: &str = "http://localhost:3000/b/{token}";
const SHOP_B_LINK: &str = "https://shop-b.example/login/{token}";
const UNKNOWN_STORE: &str = "store_AAAAAAAAAAAAAA";
const UNKNOWN_CUSTOMER: &str = "cstmr_AAAAAAAAAAAAAA";
const UNKNOWN_ORDER: &str = "ord_AAAAAAAAAAAAAA";
/// The keys of a store object, exactly.
const STORE_FIELDS: &[&str] = &[
    "id",
    "name",
    "support_email",
    "currency",
    "country",
    "link_origins",
    "mail_from",
    "mail_subject",
    "order_reference_prefix",
    "default",
    "created",
    "updated",
];
/// The settings of a store: null when not set, so that the deployment's value applies.
const SETTINGS: &[&str] = &[
    "support_email",
    "currency",
    "country",
    "link_origins",
    "mail_from",
    "mail_subject",
    "order_reference_prefix",
];

// ---- harness ---------------------------------------------------------------------------

/// A server with the store API on.
pub(crate) async fn spawn(backend: Backend) -> TestApp {
    spawn_adjusted(backend, |_| {}).await
}

pub(crate) async fn spawn_adjusted(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.admin_key = Some(Secret::new(ADMIN_KEY));
        adjust(c);
    })
    .await
}

/// A server with the store API on, whose mail goes to a fresh SMTP sink.
async fn spawn_with_mail(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
) -> (TestApp, SmtpSink) {
    TestApp::spawn_with_mail(backend, |c| {
        c.admin_key = Some(Secret::new(ADMIN_KEY));
        adjust(c);
    })
    .await
}

pub(crate) async fn send(req: RequestBuilder) -> (u16, Value) {
    status_json(req.send().await.expect("request")).await
}

/// A request with `key` in `X-Authorization` (any key: merchant, admin, or a made-up one).
pub(crate) fn keyed(app: &TestApp, key: &str, method: Method, path: &str) -> RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header("X-Authorization", key)
}

pub(crate) fn admin(app: &TestApp, method: Method, path: &str) -> RequestBuilder {
    keyed(app, ADMIN_KEY, method, path)
}

/// A request as the customer holding `jwt`, with `key` beside it as Commerce.js sends its
/// public key (or the string "undefined").
fn bearer_with(app: &TestApp, key: &str, method: Method, path: &str, jwt: &str) -> RequestBuilder {
    keyed(app, key, method, path).header("Authorization", format!("Bearer {jwt}"))
}

/// The server's time, in the unix seconds the API shows.
fn now(app: &TestApp) -> u64 {
    u64::try_from(app.clock.now().and_utc().timestamp()).expect("after 1970")
}

pub(crate) fn is_store_id(id: &str) -> bool {
    id.strip_prefix("store_")
        .is_some_and(|rest| rest.len() == 14 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn without_request_id(mut v: Value) -> Value {
    v["error"]["request_id"] = Value::Null;
    v
}

fn ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {page}"))
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn total(page: &Value) -> u64 {
    page["meta"]["pagination"]["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("no total: {page}"))
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {v}"))
        .to_owned()
}

/// Whether a 422 names `field` (or an element of it, as `link_origins.0`).
fn names_field(err: &Value, field: &str) -> bool {
    err["error"]["errors"].as_object().is_some_and(|errors| {
        errors.iter().any(|(k, v)| {
            (k == field
                || k.starts_with(&format!("{field}."))
                || k.starts_with(&format!("{field}[")))
                && v.is_array()
        })
    })
}

/// The store object without the keys shown once.
fn without_keys(created: &Value) -> Value {
    let mut stored = created.clone();
    let map = stored.as_object_mut().expect("store object");
    map.remove("public_key");
    map.remove("secret_key");
    stored
}

/// A store's keys, and the calls a shop makes with them.
pub(crate) struct Shop<'a> {
    pub app: &'a TestApp,
    pub id: String,
    pub public_key: String,
    pub secret_key: String,
}

/// Creates a store through the API; returns the answer and the shop holding its keys.
pub(crate) async fn create_store<'a>(app: &'a TestApp, body: Value) -> (Value, Shop<'a>) {
    let (status, created) = send(admin(app, Method::POST, "/v1/stores").json(&body)).await;
    assert_eq!(status, 201, "creating store {body}: {created}");
    let key = |name: &str| {
        created[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {created}"))
            .to_owned()
    };
    let shop = Shop {
        app,
        id: key("id"),
        public_key: key("public_key"),
        secret_key: key("secret_key"),
    };
    (created, shop)
}

/// Stores A and B, with nothing set but their names.
async fn two_stores(app: &TestApp) -> (Shop<'_>, Shop<'_>) {
    let (_, a) = create_store(app, json!({"name": "Shop A"})).await;
    let (_, b) = create_store(app, json!({"name": "Shop B"})).await;
    (a, b)
}

/// The id of the store the configured keys belong to.
pub(crate) async fn default_store_id(app: &TestApp) -> String {
    let (status, merchant) = send(keyed(app, PUBLIC_KEY, Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "{merchant}");
    id_of(&merchant)
}

impl<'a> Shop<'a> {
    /// The store of `PATRON_PUBLIC_KEY` / `PATRON_SECRET_KEY`.
    async fn default_of(app: &'a TestApp) -> Shop<'a> {
        Shop {
            app,
            id: default_store_id(app).await,
            public_key: PUBLIC_KEY.into(),
            secret_key: SECRET_KEY.into(),
        }
    }

    pub(crate) fn public(&self, method: Method, path: &str) -> RequestBuilder {
        keyed(self.app, &self.public_key, method, path)
    }

    pub(crate) fn secret(&self, method: Method, path: &str) -> RequestBuilder {
        keyed(self.app, &self.secret_key, method, path)
    }

    /// As the customer holding `jwt`, with this store's public key beside it.
    fn bearer(&self, method: Method, path: &str, jwt: &str) -> RequestBuilder {
        bearer_with(self.app, &self.public_key, method, path, jwt)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        send(self.secret(Method::GET, path)).await
    }

    async fn post_public(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.public(Method::POST, path).json(&body)).await
    }

    async fn create_customer(&self, body: Value) -> Value {
        let (status, c) = send(self.secret(Method::POST, "/v1/customers").json(&body)).await;
        assert_eq!(status, 201, "creating {body}: {c}");
        c
    }

    async fn customers(&self, query: &str) -> Value {
        let (status, page) = self.get(&format!("/v1/customers{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        page
    }

    async fn orders(&self, query: &str) -> Value {
        let (status, page) = self.get(&format!("/v1/orders{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        page
    }

    async fn record_order(&self, body: Value) -> Value {
        let (status, o) = send(self.secret(Method::POST, "/v1/orders").json(&body)).await;
        assert_eq!(status, 201, "recording {body}: {o}");
        o
    }

    async fn issue_jwt(&self, customer_id: &str) -> String {
        let path = format!("/v1/customers/{customer_id}/issue-token");
        let (status, body) = send(self.secret(Method::POST, &path)).await;
        assert_eq!(status, 200, "issue-token: {body}");
        body["jwt"].as_str().expect("jwt").to_owned()
    }

    async fn email_token(&self, email: &str, base_url: &str) -> (u16, Value) {
        self.post_public(
            "/v1/customers/email-token",
            json!({"email": email, "base_url": base_url}),
        )
        .await
    }

    async fn exchange(&self, token: &str) -> (u16, Value) {
        self.post_public("/v1/customers/exchange-token", json!({"token": token}))
            .await
    }

    async fn password_login(&self, email: &str, password: &str) -> (u16, Value) {
        self.post_public(
            "/v1/customers/login",
            json!({"email": email, "password": password}),
        )
        .await
    }

    async fn register(&self, email: &str, password: &str, base_url: &str) -> (u16, Value) {
        self.post_public(
            "/v1/customers/register",
            json!({"email": email, "password": password, "base_url": base_url}),
        )
        .await
    }
}

fn order_for(customer_id: &str, reference: Option<&str>) -> Value {
    let mut order = json!({
        "customer_id": customer_id,
        "currency": "USD",
        "line_items": [{"product_name": "Mug", "quantity": 1, "price": "9.99"}],
    });
    if let Some(r) = reference {
        order["customer_reference"] = json!(r);
    }
    order
}

/// The `n`th mail (from 1) to `address`, waiting for it.
async fn nth_mail(sink: &SmtpSink, address: &str, n: usize) -> ReceivedMail {
    sink.wait_for(address, n, Duration::from_secs(10)).await[n - 1].clone()
}

/// Waits until `done` holds for what `probe` answers, or panics after ten seconds: a store's
/// settings may be cached for a few seconds after a change.
async fn eventually<F, Fut>(what: &str, mut probe: F, done: impl Fn(&(u16, Value)) -> bool)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = probe().await;
        if done(&answer) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still {} {} after 10 s",
            answer.0,
            answer.1
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---- the store API ---------------------------------------------------------------------

async fn the_store_api_is_off_without_an_admin_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let one = format!("/v1/stores/{UNKNOWN_STORE}");
    for (method, path) in [
        (Method::GET, "/v1/stores"),
        (Method::POST, "/v1/stores"),
        (Method::GET, one.as_str()),
        (Method::PUT, one.as_str()),
        (Method::DELETE, one.as_str()),
    ] {
        for key in [Some(ADMIN_KEY), None] {
            let mut req = app.client.request(method.clone(), app.url(path));
            if let Some(key) = key {
                req = req.header("X-Authorization", key);
            }
            if method == Method::POST || method == Method::PUT {
                req = req.json(&json!({"name": "Shop"}));
            }
            let (status, body) = send(req).await;
            assert_eq!(status, 404, "{method} {path} with {key:?}: {body}");
            assert_eq!(body["error"]["type"], "not_found", "{body}");
        }
    }
    // A single shop sees no change: its keys belong to the default store.
    let (status, merchant) = send(app.public(Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "{merchant}");
    assert!(
        is_store_id(merchant["id"].as_str().unwrap_or("")),
        "{merchant}"
    );
    assert_eq!(app.total_customers().await, 0);
}

async fn a_store_is_created_with_its_first_keys_shown_once(backend: Backend) {
    let app = spawn(backend).await;
    let before = now(&app);
    let (created, b) = create_store(
        &app,
        json!({
            "name": "Shop B",
            "support_email": "help@shop-b.example",
            "currency": "EUR",
            "country": "SE",
            "link_origins": ["https://shop-b.example"],
            "mail_from": "Shop B <no-reply@shop-b.example>",
            "mail_subject": "Log in to Shop B",
            "order_reference_prefix": "SHOPB",
        }),
    )
    .await;
    assert!(is_store_id(&b.id), "{created}");
    assert_eq!(created["name"], "Shop B");
    assert_eq!(created["support_email"], "help@shop-b.example");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["country"], "SE");
    assert_eq!(created["link_origins"], json!(["https://shop-b.example"]));
    assert_eq!(created["mail_from"], "Shop B <no-reply@shop-b.example>");
    assert_eq!(created["mail_subject"], "Log in to Shop B");
    assert_eq!(created["order_reference_prefix"], "SHOPB");
    assert_eq!(created["default"], false);
    let stamp = created["created"]
        .as_u64()
        .expect("created in unix seconds");
    assert!(
        (before.saturating_sub(5)..=now(&app) + 5).contains(&stamp),
        "{stamp}"
    );
    assert_eq!(created["updated"], created["created"]);
    assert!(
        b.public_key.starts_with("pk_") && b.public_key.len() >= 11,
        "{created}"
    );
    assert!(
        b.secret_key.starts_with("sk_") && b.secret_key.len() >= 11,
        "{created}"
    );
    assert_ne!(b.public_key, PUBLIC_KEY);
    assert_ne!(b.secret_key, SECRET_KEY);

    // Read back: the same object, without the keys, which are shown only once.
    let stored = without_keys(&created);
    let mut fields: Vec<&str> = stored
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    let mut expected_fields = STORE_FIELDS.to_vec();
    expected_fields.sort_unstable();
    assert_eq!(fields, expected_fields, "{created}");
    let (status, fetched) = send(admin(&app, Method::GET, &format!("/v1/stores/{}", b.id))).await;
    assert_eq!(status, 200, "{fetched}");
    assert_eq!(fetched, stored);
    let res = admin(&app, Method::GET, "/v1/stores")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("body");
    assert!(
        !text.contains(&b.secret_key) && !text.contains(&b.public_key),
        "the list shows no key: {text}"
    );
    let list: Value = serde_json::from_str(&text).expect("json");
    let listed = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|s| s["id"] == b.id.as_str())
        .cloned();
    assert_eq!(listed, Some(stored), "{list}");

    // The keys work at once, on a store that holds nothing yet.
    let (status, merchant) = send(b.public(Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "{merchant}");
    assert_eq!(merchant["id"], b.id.as_str());
    assert_eq!(total(&b.customers("").await), 0);

    // Only a name is needed; every setting left out is null (the deployment's applies).
    let (bare, c) = create_store(&app, json!({"name": "Bare"})).await;
    for field in SETTINGS {
        assert_eq!(bare[*field], Value::Null, "{field}: {bare}");
    }
    assert_eq!(bare["default"], false);
    assert_ne!(c.id, b.id);
    assert_ne!(c.public_key, b.public_key);
    assert_ne!(c.secret_key, b.secret_key);
}

async fn store_input_is_validated(backend: Backend) {
    let app = spawn(backend).await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": 42}), "name"),
        (json!({"name": "S", "currency": "EURO"}), "currency"),
        (json!({"name": "S", "currency": "ZZZ"}), "currency"),
        (json!({"name": "S", "currency": 978}), "currency"),
        (json!({"name": "S", "country": "Sweden"}), "country"),
        (json!({"name": "S", "country": "SWE"}), "country"),
        (json!({"name": "S", "country": "ZZ"}), "country"),
        (
            json!({"name": "S", "support_email": "not an email"}),
            "support_email",
        ),
        (
            json!({"name": "S", "mail_from": "not an address"}),
            "mail_from",
        ),
        (
            json!({"name": "S", "link_origins": ["not an origin"]}),
            "link_origins",
        ),
        (
            json!({"name": "S", "link_origins": ["https://shop.example/login"]}),
            "link_origins",
        ),
        (
            json!({"name": "S", "link_origins": ["ftp://shop.example"]}),
            "link_origins",
        ),
        (
            json!({"name": "S", "link_origins": "https://shop.example"}),
            "link_origins",
        ),
        (
            json!({"name": "S", "order_reference_prefix": "SHOP-B!"}),
            "order_reference_prefix",
        ),
        (
            json!({"name": "S", "order_reference_prefix": "A".repeat(17)}),
            "order_reference_prefix",
        ),
    ];
    for (body, field) in &cases {
        let (status, err) = send(admin(&app, Method::POST, "/v1/stores").json(body)).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["type"], "unprocessable_entity", "{err}");
        assert!(names_field(&err, field), "{field} in {err}");
    }
    let (status, err) = send(
        admin(&app, Method::POST, "/v1/stores")
            .header("Content-Type", "application/json")
            .body("{\"name\": "),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_error(&err, 400, "bad_request", "malformed_json");
    let (status, list) = send(admin(&app, Method::GET, "/v1/stores")).await;
    assert_eq!(status, 200);
    assert_eq!(total(&list), 1, "nothing but the default store: {list}");

    // The same rules on update, and a refused update changes nothing.
    let (created, b) = create_store(&app, json!({"name": "Shop B", "currency": "EUR"})).await;
    let path = format!("/v1/stores/{}", b.id);
    for (body, field) in cases
        .iter()
        .filter(|(body, _)| body.get("name").is_some_and(|n| n == "S"))
        .map(|(body, field)| {
            let mut body = body.clone();
            body.as_object_mut().expect("object").remove("name");
            (body, *field)
        })
        .chain([
            (json!({"name": ""}), "name"),
            (json!({"name": null}), "name"),
        ])
    {
        let (status, err) = send(admin(&app, Method::PUT, &path).json(&body)).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert!(names_field(&err, field), "{field} in {err}");
    }
    let (_, after) = send(admin(&app, Method::GET, &path)).await;
    assert_eq!(
        after,
        without_keys(&created),
        "failed updates changed nothing"
    );
}

async fn the_store_api_takes_only_the_admin_key(backend: Backend) {
    let app = spawn(backend).await;
    let (created, b) = create_store(&app, json!({"name": "Shop B"})).await;
    let one = format!("/v1/stores/{}", b.id);
    let routes = [
        (Method::GET, "/v1/stores"),
        (Method::POST, "/v1/stores"),
        (Method::GET, one.as_str()),
        (Method::PUT, one.as_str()),
        (Method::DELETE, one.as_str()),
    ];
    let with_body = |method: &Method, req: RequestBuilder| {
        if *method == Method::POST || *method == Method::PUT {
            req.json(&json!({"name": "Mallory's"}))
        } else {
            req
        }
    };
    for (method, path) in &routes {
        let req = app.client.request(method.clone(), app.url(path));
        let (status, body) = send(with_body(method, req)).await;
        assert_eq!(status, 401, "{method} {path} without a key: {body}");
        assert_eq!(body["error"]["type"], "authentication_error", "{body}");

        let req = keyed(&app, "ak_test_wrongwrongwrong", method.clone(), path);
        let (status, body) = send(with_body(method, req)).await;
        assert_eq!(
            status, 401,
            "{method} {path} with a wrong admin key: {body}"
        );

        for key in [
            PUBLIC_KEY,
            SECRET_KEY,
            b.public_key.as_str(),
            b.secret_key.as_str(),
        ] {
            let req = keyed(&app, key, method.clone(), path);
            let (status, body) = send(with_body(method, req)).await;
            assert_eq!(status, 403, "{method} {path} with {key}: {body}");
            assert_eq!(body["error"]["type"], "forbidden", "{body}");
        }
    }
    let (status, list) = send(admin(&app, Method::GET, "/v1/stores")).await;
    assert_eq!(status, 200);
    assert_eq!(total(&list), 2, "refused calls created nothing: {list}");
    let (status, still) = send(admin(&app, Method::GET, &one)).await;
    assert_eq!(status, 200, "refused calls deleted nothing");
    assert_eq!(
        still,
        without_keys(&created),
        "refused calls changed nothing"
    );

    // The operator's key is no merchant key: it belongs to no store.
    let customer = b.create_customer(json!({"email": "c@example.com"})).await;
    let customer_path = format!("/v1/customers/{}", id_of(&customer));
    for (method, path, body) in [
        (Method::GET, "/v1/customers", None),
        (
            Method::POST,
            "/v1/customers",
            Some(json!({"email": "admin-made@example.com"})),
        ),
        (Method::GET, customer_path.as_str(), None),
        (Method::GET, "/v1/orders", None),
        (Method::GET, "/v1/merchants", None),
        (
            Method::POST,
            "/v1/customers/email-token",
            Some(json!({"email": "c@example.com", "base_url": LINK})),
        ),
    ] {
        let mut req = admin(&app, method.clone(), path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let (status, err) = send(req).await;
        assert_eq!(status, 403, "admin key on {method} {path}: {err}");
        assert_eq!(err["error"]["type"], "forbidden", "{err}");
    }
    assert_eq!(total(&b.customers("").await), 1);
    assert_eq!(app.total_customers().await, 0);
}

async fn stores_are_listed_with_chec_pagination(backend: Backend) {
    let app = spawn(backend).await;
    let default_id = default_store_id(&app).await;
    let mut all = vec![default_id.clone()];
    for i in 0..24 {
        let (_, shop) = create_store(&app, json!({"name": format!("Shop {i:02}")})).await;
        all.push(shop.id);
    }
    all.sort();

    let (status, first) = send(admin(&app, Method::GET, "/v1/stores")).await;
    assert_eq!(status, 200, "{first}");
    let p = &first["meta"]["pagination"];
    assert_eq!(
        first["data"].as_array().expect("data").len(),
        20,
        "default limit 20"
    );
    assert_eq!(p["total"], 25);
    assert_eq!(p["count"], 20);
    assert_eq!(p["per_page"], 20);
    assert_eq!(p["current_page"], 1);
    assert_eq!(p["total_pages"], 2);
    let next = p["links"]["next"].as_str().expect("next link");
    assert!(
        next.contains("/v1/stores") && next.contains("page=2"),
        "{next}"
    );
    assert!(p["links"].get("previous").is_none(), "{p}");

    let (status, second) = send(admin(&app, Method::GET, "/v1/stores?page=2")).await;
    assert_eq!(status, 200);
    let p2 = &second["meta"]["pagination"];
    assert_eq!(p2["count"], 5);
    assert_eq!(p2["current_page"], 2);
    assert!(p2["links"]["previous"]
        .as_str()
        .expect("previous")
        .contains("page=1"));
    assert!(p2["links"].get("next").is_none(), "{p2}");

    let mut seen = ids(&first);
    seen.extend(ids(&second));
    seen.sort();
    assert_eq!(seen, all, "pages neither overlap nor skip");
    let defaults: Vec<Value> = first["data"]
        .as_array()
        .expect("data")
        .iter()
        .chain(second["data"].as_array().expect("data"))
        .filter(|s| s["default"] == true)
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(defaults, [json!(default_id)], "exactly one default store");

    let (_, one_page) = send(admin(&app, Method::GET, "/v1/stores?limit=200")).await;
    assert_eq!(one_page["data"].as_array().expect("data").len(), 25);
    assert_eq!(one_page["meta"]["pagination"]["links"], json!({}));

    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?page=0", "page"),
    ] {
        let (status, err) = send(admin(&app, Method::GET, &format!("/v1/stores{query}"))).await;
        assert_eq!(status, 422, "{query}: {err}");
        assert_error(&err, 422, "unprocessable_entity", "invalid_parameter");
        assert!(err["error"]["errors"][field].is_array(), "{query}: {err}");
    }
}

async fn a_store_is_updated_in_part_and_null_clears_a_setting(backend: Backend) {
    let app = spawn(backend).await;
    let (created, b) = create_store(
        &app,
        json!({
            "name": "Shop B", "support_email": "help@shop-b.example", "currency": "EUR",
            "country": "SE", "link_origins": ["https://shop-b.example"],
            "mail_from": "Shop B <no-reply@shop-b.example>", "mail_subject": "Log in to Shop B",
            "order_reference_prefix": "SHOPB",
        }),
    )
    .await;
    let path = format!("/v1/stores/{}", b.id);
    // `updated` is in seconds: let one pass so that a change shows.
    app.clock.advance(Duration::from_secs(1));

    let (status, renamed) =
        send(admin(&app, Method::PUT, &path).json(&json!({"name": "Shop Bee"}))).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Shop Bee");
    for field in ["id", "default", "created"].iter().chain(SETTINGS) {
        assert_eq!(renamed[*field], created[*field], "{field} kept: {renamed}");
    }
    assert!(
        renamed["updated"].as_u64() > created["updated"].as_u64(),
        "{renamed}"
    );
    assert!(renamed.get("secret_key").is_none() && renamed.get("public_key").is_none());
    let (_, fetched) = send(admin(&app, Method::GET, &path)).await;
    assert_eq!(fetched, renamed);

    let (status, cleared) = send(
        admin(&app, Method::PUT, &path)
            .json(&json!({"currency": null, "link_origins": null, "mail_subject": null})),
    )
    .await;
    assert_eq!(status, 200, "{cleared}");
    for field in ["currency", "link_origins", "mail_subject"] {
        assert_eq!(cleared[field], Value::Null, "{field}: {cleared}");
    }
    assert_eq!(cleared["name"], "Shop Bee");
    assert_eq!(cleared["country"], "SE");
    assert_eq!(cleared["mail_from"], "Shop B <no-reply@shop-b.example>");
    assert_eq!(cleared["order_reference_prefix"], "SHOPB");

    let (status, moved) = send(admin(&app, Method::PUT, &path).json(&json!({
        "country": "NO", "support_email": "hjelp@shop-b.example",
        "link_origins": ["https://shop-b.example", "https://b.example:8443"],
    })))
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["country"], "NO");
    assert_eq!(moved["support_email"], "hjelp@shop-b.example");
    assert_eq!(
        moved["link_origins"],
        json!(["https://shop-b.example", "https://b.example:8443"])
    );
    let (_, fetched) = send(admin(&app, Method::GET, &path)).await;
    assert_eq!(fetched, moved);
    // The store's keys see the change (after the settings cache, within seconds).
    eventually(
        "GET /v1/merchants after a change",
        || send(b.public(Method::GET, "/v1/merchants")),
        |(status, m)| *status == 200 && m["name"] == "Shop Bee" && m["country"] == "NO",
    )
    .await;

    for unknown in [UNKNOWN_STORE, "nope"] {
        let (status, err) = send(
            admin(&app, Method::PUT, &format!("/v1/stores/{unknown}"))
                .json(&json!({"name": "Ghost"})),
        )
        .await;
        assert_eq!(status, 404, "{unknown}: {err}");
        assert_eq!(err["error"]["type"], "not_found");
        let (status, _) = send(admin(&app, Method::GET, &format!("/v1/stores/{unknown}"))).await;
        assert_eq!(status, 404, "{unknown}");
    }

    // The default store is a store like any other here: it can be named and given settings.
    let default_id = default_store_id(&app).await;
    let (status, main) = send(
        admin(&app, Method::PUT, &format!("/v1/stores/{default_id}"))
            .json(&json!({"name": "Main shop", "currency": "SEK"})),
    )
    .await;
    assert_eq!(status, 200, "{main}");
    assert_eq!(main["default"], true);
    assert_eq!(main["currency"], "SEK");
    eventually(
        "GET /v1/merchants of the default store after a change",
        || send(app.public(Method::GET, "/v1/merchants")),
        |(status, m)| *status == 200 && m["name"] == "Main shop" && m["currency"]["code"] == "SEK",
    )
    .await;
}

async fn stores_are_deleted_but_never_the_default_store(backend: Backend) {
    let app = spawn(backend).await;
    let default = Shop::default_of(&app).await;
    let (_, b) = create_store(&app, json!({"name": "Shop B"})).await;

    let default_path = format!("/v1/stores/{}", default.id);
    let (status, err) = send(admin(&app, Method::DELETE, &default_path)).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["type"], "unprocessable_entity", "{err}");
    let (status, still) = send(admin(&app, Method::GET, &default_path)).await;
    assert_eq!((status, &still["default"]), (200, &json!(true)), "{still}");
    assert_eq!(
        total(&default.customers("").await),
        0,
        "its keys still work"
    );

    for unknown in [UNKNOWN_STORE, "nope"] {
        let (status, err) = send(admin(
            &app,
            Method::DELETE,
            &format!("/v1/stores/{unknown}"),
        ))
        .await;
        assert_eq!(status, 404, "{unknown}: {err}");
        assert_eq!(err["error"]["type"], "not_found");
    }

    let path = format!("/v1/stores/{}", b.id);
    let (status, body) = send(admin(&app, Method::DELETE, &path)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"id": b.id, "deleted": true}));
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = send(admin(&app, method.clone(), &path)).await;
        assert_eq!(status, 404, "{method} of a deleted store");
    }
    let (status, _) = send(admin(&app, Method::PUT, &path).json(&json!({"name": "Back"}))).await;
    assert_eq!(status, 404, "a deleted store cannot be changed");
    let (_, list) = send(admin(&app, Method::GET, "/v1/stores")).await;
    assert_eq!(ids(&list), vec![default.id.clone()], "{list}");
    assert_eq!(total(&list), 1);
}

// ---- one store sees nothing of another -------------------------------------------------

async fn store_a_sees_nothing_of_store_b(backend: Backend) {
    let app = spawn(backend).await;
    let default = Shop::default_of(&app).await;
    let (a, b) = two_stores(&app).await;

    // The same email, external id and order reference in both stores, and a customer only B has.
    let a_same = a
        .create_customer(
            json!({"email": "same@example.com", "firstname": "Ada", "external_id": "ext-1"}),
        )
        .await;
    let b_same = b
        .create_customer(
            json!({"email": "same@example.com", "firstname": "Bea", "external_id": "ext-1"}),
        )
        .await;
    let b_only = b
        .create_customer(
            json!({"email": "only-b@example.com", "firstname": "Bo", "external_id": "ext-b"}),
        )
        .await;
    let (a_id, b_id, b_only_id) = (id_of(&a_same), id_of(&b_same), id_of(&b_only));
    assert_ne!(a_id, b_id, "the same email is two customers");
    let a_order = id_of(&a.record_order(order_for(&a_id, Some("REF-1"))).await);
    let b_order = id_of(&b.record_order(order_for(&b_id, Some("REF-1"))).await);
    let b_only_order = id_of(&b.record_order(order_for(&b_only_id, None)).await);
    let a_jwt = a.issue_jwt(&a_id).await;

    let b_paths = [
        format!("/v1/customers/{b_id}"),
        format!("/v1/customers/{b_only_id}"),
        format!("/v1/orders/{b_order}"),
        format!("/v1/orders/{b_only_order}"),
        format!("/v1/customers/{b_id}/orders"),
    ];
    let mut b_before = Vec::new();
    for path in &b_paths {
        b_before.push(b.get(path).await);
    }

    // Lists, searches, filters and counts through A hold only A's.
    let page = a.customers("").await;
    assert_eq!(
        (total(&page), ids(&page)),
        (1, vec![a_id.clone()]),
        "{page}"
    );
    for query in [
        "?email=only-b@example.com",
        "?query=only-b",
        "?query=Bea",
        "?external_id=ext-b",
    ] {
        let page = a.customers(query).await;
        assert_eq!(total(&page), 0, "{query}: {page}");
        assert_eq!(page["data"], json!([]), "{query}");
    }
    for query in [
        "?email=same@example.com",
        "?external_id=ext-1",
        "?query=same",
    ] {
        assert_eq!(
            ids(&a.customers(query).await),
            vec![a_id.clone()],
            "{query}"
        );
    }
    let orders = a.orders("").await;
    assert_eq!(
        (total(&orders), ids(&orders)),
        (1, vec![a_order.clone()]),
        "{orders}"
    );
    let (status, own_orders) = a.get(&format!("/v1/customers/{a_id}/orders")).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&own_orders), vec![a_order.clone()]);
    let (status, own_orders) =
        send(a.bearer(Method::GET, &format!("/v1/customers/{a_id}/orders"), &a_jwt)).await;
    assert_eq!(status, 200, "{own_orders}");
    assert_eq!(
        (total(&own_orders), ids(&own_orders)),
        (1, vec![a_order.clone()])
    );

    // Every id of B answers through A's secret key exactly as an id that never existed.
    type Call = (Method, String, Option<Value>);
    let calls = |customer: &str, order: &str| -> Vec<Call> {
        vec![
            (Method::GET, format!("/v1/customers/{customer}"), None),
            (
                Method::PUT,
                format!("/v1/customers/{customer}"),
                Some(json!({"firstname": "Mallory", "email": "mallory@example.com"})),
            ),
            (Method::DELETE, format!("/v1/customers/{customer}"), None),
            (
                Method::POST,
                format!("/v1/customers/{customer}/issue-token"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/customers/{customer}/orders"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/customers/{customer}/orders/{order}"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/customers/{a_id}/orders/{order}"),
                None,
            ),
            (Method::GET, format!("/v1/orders/{order}"), None),
            (
                Method::PUT,
                format!("/v1/orders/{order}"),
                Some(json!({"status_fulfillment": "fulfilled", "meta": {"by": "A"}})),
            ),
            (
                Method::GET,
                format!("/v1/orders?customer_id={customer}"),
                None,
            ),
        ]
    };
    let answer = |shop: &Shop<'_>, (method, path, body): Call| {
        let mut req = shop.secret(method, &path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move { (path, send(req).await) }
    };
    for (foreign, unknown) in calls(&b_id, &b_order)
        .into_iter()
        .zip(calls(UNKNOWN_CUSTOMER, UNKNOWN_ORDER))
    {
        let (path, (status, body)) = answer(&a, foreign).await;
        let (unknown_path, (unknown_status, unknown_body)) = answer(&a, unknown).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["type"], "not_found", "{path}: {body}");
        assert_eq!(
            (status, without_request_id(body)),
            (unknown_status, without_request_id(unknown_body)),
            "{path} answers as {unknown_path}"
        );
    }

    // And through A's customer JWT.
    for (foreign, unknown) in [
        (
            format!("/v1/customers/{b_id}"),
            format!("/v1/customers/{UNKNOWN_CUSTOMER}"),
        ),
        (
            format!("/v1/customers/{b_id}/orders"),
            format!("/v1/customers/{UNKNOWN_CUSTOMER}/orders"),
        ),
        (
            format!("/v1/customers/{a_id}/orders/{b_order}"),
            format!("/v1/customers/{a_id}/orders/{UNKNOWN_ORDER}"),
        ),
    ] {
        let (status, body) = send(a.bearer(Method::GET, &foreign, &a_jwt)).await;
        let (unknown_status, unknown_body) = send(a.bearer(Method::GET, &unknown, &a_jwt)).await;
        assert_eq!(status, 404, "{foreign}: {body}");
        assert_eq!(
            (status, without_request_id(body)),
            (unknown_status, without_request_id(unknown_body)),
            "{foreign} answers as {unknown}"
        );
    }
    let (status, _) = send(
        a.bearer(Method::PUT, &format!("/v1/customers/{b_id}"), &a_jwt)
            .json(&json!({"firstname": "Mallory"})),
    )
    .await;
    assert_eq!(status, 404, "a JWT of A cannot change a customer of B");

    // An order through A cannot be given to B's customer; by email it makes a customer of A.
    let line = json!([{"product_name": "Mug", "quantity": 1, "price": "9.99"}]);
    let (status, foreign) = send(
        a.secret(Method::POST, "/v1/orders")
            .json(&json!({"customer_id": b_only_id, "currency": "USD", "line_items": line})),
    )
    .await;
    let (_, unknown) = send(
        a.secret(Method::POST, "/v1/orders")
            .json(&json!({"customer_id": UNKNOWN_CUSTOMER, "currency": "USD", "line_items": line})),
    )
    .await;
    assert_eq!(status, 422, "{foreign}");
    assert!(
        foreign["error"]["errors"]["customer_id"].is_array(),
        "{foreign}"
    );
    assert_eq!(without_request_id(foreign), without_request_id(unknown));
    let by_email = a
        .record_order(json!({"customer": {"email": "only-b@example.com"}, "currency": "USD", "line_items": line}))
        .await;
    let buyer = by_email["customer"]["id"].as_str().expect("buyer id");
    assert!(
        buyer.starts_with("cstmr_") && buyer != b_only_id,
        "{by_email}"
    );
    assert_eq!(total(&a.customers("").await), 2, "a new customer of A");

    // Emails are unique per store, on create and on update.
    let (status, err) = send(
        a.secret(Method::POST, "/v1/customers")
            .json(&json!({"email": "same@example.com"})),
    )
    .await;
    assert_eq!(status, 422, "still unique within A: {err}");
    assert_error(&err, 422, "unprocessable_entity", "email_taken");
    let a_only = a
        .create_customer(json!({"email": "only-a@example.com"}))
        .await;
    let (status, moved) = send(
        b.secret(Method::PUT, &format!("/v1/customers/{b_only_id}"))
            .json(&json!({"email": "only-a@example.com"})),
    )
    .await;
    assert_eq!(status, 200, "an address of A is free in B: {moved}");
    assert_eq!(moved["email"], "only-a@example.com");
    let (status, a_only_now) = a.get(&format!("/v1/customers/{}", id_of(&a_only))).await;
    assert_eq!(
        (status, &a_only_now["email"]),
        (200, &json!("only-a@example.com"))
    );

    // B is untouched, but for the change made through B's own key.
    for (path, before) in b_paths.iter().zip(&b_before) {
        let mut after = b.get(path).await;
        let mut before = before.clone();
        if path.ends_with(&b_only_id) {
            for v in [&mut after.1, &mut before.1] {
                v["email"] = Value::Null;
                v["updated"] = Value::Null;
            }
        }
        if path.ends_with(&b_only_order) {
            for v in [&mut after.1, &mut before.1] {
                v["customer"] = Value::Null;
            }
        }
        assert_eq!(after, before, "{path}");
    }
    assert_eq!(total(&b.customers("").await), 2);
    assert_eq!(total(&b.orders("").await), 2);
    // And the default store holds none of it.
    assert_eq!(total(&default.customers("").await), 0);
    assert_eq!(total(&default.orders("").await), 0);
}

async fn a_customer_jwt_is_refused_with_another_stores_key(backend: Backend) {
    let app = spawn(backend).await;
    let (a, b) = two_stores(&app).await;
    let a_id = id_of(&a.create_customer(json!({"email": "jo@example.com"})).await);
    let b_id = id_of(&b.create_customer(json!({"email": "jo@example.com"})).await);
    let a_jwt = a.issue_jwt(&a_id).await;
    let b_jwt = b.issue_jwt(&b_id).await;
    let own_b = format!("/v1/customers/{b_id}");
    let own_a = format!("/v1/customers/{a_id}");

    let (status, me) = send(b.bearer(Method::GET, &own_b, &b_jwt)).await;
    assert_eq!((status, &me["id"]), (200, &json!(b_id)), "{me}");
    let (status, me) = send(bearer_with(&app, "undefined", Method::GET, &own_b, &b_jwt)).await;
    assert_eq!(
        (status, &me["id"]),
        (200, &json!(b_id)),
        "the JWT names its store; Commerce.js may send no key: {me}"
    );

    for key in [
        a.public_key.as_str(),
        a.secret_key.as_str(),
        PUBLIC_KEY,
        SECRET_KEY,
    ] {
        for (method, path) in [
            (Method::GET, own_b.clone()),
            (Method::GET, format!("{own_b}/orders")),
            (Method::PUT, own_b.clone()),
            (Method::POST, "/v1/customers/logout".to_owned()),
        ] {
            let mut req = bearer_with(&app, key, method.clone(), &path, &b_jwt);
            if method == Method::PUT {
                req = req.json(&json!({"firstname": "Mallory"}));
            }
            let (status, err) = send(req).await;
            assert_eq!(status, 401, "B's JWT with {key} on {method} {path}: {err}");
            assert_eq!(err["error"]["type"], "authentication_error", "{err}");
        }
    }
    let (status, err) = send(bearer_with(
        &app,
        &b.public_key,
        Method::GET,
        &own_a,
        &a_jwt,
    ))
    .await;
    assert_eq!(status, 401, "A's JWT with B's key: {err}");

    // Refused, they changed and ended nothing: both sessions still work with their own keys.
    let (status, me) = send(b.bearer(Method::GET, &own_b, &b_jwt)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["firstname"], Value::Null, "{me}");
    assert_eq!(send(a.bearer(Method::GET, &own_a, &a_jwt)).await.0, 200);

    // With its own store's key, B's JWT still reaches only B.
    let (status, _) = send(b.bearer(Method::GET, &own_a, &b_jwt)).await;
    assert_eq!(status, 404, "A's customer through B's JWT");
}

async fn logins_links_and_resets_stay_in_their_store(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, |c| c.rate_limits.email_per_minute = 100).await;
    let (a, b) = two_stores(&app).await;
    const EMAIL: &str = "both@example.com";
    let mut mails = 0;

    // Registered in both, with different passwords: two customers, two hashes.
    let (status, body) = a.register(EMAIL, PASSWORD_A, LINK).await;
    assert_eq!(status, 202, "{body}");
    mails += 1;
    let verify_a = nth_mail(&sink, EMAIL, mails).await.token();
    let (status, registered_a) = a
        .post_public("/v1/customers/verify-email", json!({"token": verify_a}))
        .await;
    assert_eq!(status, 200, "{registered_a}");
    let a_id = registered_a["customer_id"].as_str().expect("id").to_owned();
    let a_jwt = registered_a["jwt"].as_str().expect("jwt").to_owned();

    let (status, body) = b.register(EMAIL, PASSWORD_B, LINK).await;
    assert_eq!(status, 202, "{body}");
    mails += 1;
    let mail = nth_mail(&sink, EMAIL, mails).await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Confirm your email address"),
        "a new account in B, not A's 'already have an account' note"
    );
    let verify_b = mail.token();
    let (status, err) = a
        .post_public("/v1/customers/verify-email", json!({"token": verify_b}))
        .await;
    assert_eq!(status, 422, "B's verification token through A: {err}");
    assert_error(&err, 422, "unprocessable_entity", "invalid_token");
    let (status, registered_b) = b
        .post_public("/v1/customers/verify-email", json!({"token": verify_b}))
        .await;
    assert_eq!(status, 200, "{registered_b}");
    let b_id = registered_b["customer_id"].as_str().expect("id").to_owned();
    let b_jwt = registered_b["jwt"].as_str().expect("jwt").to_owned();
    assert_ne!(a_id, b_id);

    // Password login: each store knows only its own customer and password.
    let (status, body) = a.password_login(EMAIL, PASSWORD_A).await;
    assert_eq!(
        (status, &body["customer_id"]),
        (200, &json!(a_id)),
        "{body}"
    );
    let (status, body) = b.password_login(EMAIL, PASSWORD_B).await;
    assert_eq!(
        (status, &body["customer_id"]),
        (200, &json!(b_id)),
        "{body}"
    );
    let (status, err) = a.password_login(EMAIL, PASSWORD_B).await;
    assert_eq!(status, 401, "B's password in A: {err}");
    assert_error(&err, 401, "authentication_error", "invalid_credentials");
    assert_eq!(b.password_login(EMAIL, PASSWORD_A).await.0, 401);
    b.create_customer(json!({"email": "only-b@example.com", "password": PASSWORD_B}))
        .await;
    let (status, err) = a.password_login("only-b@example.com", PASSWORD_B).await;
    assert_eq!(status, 401, "B's customer in A: {err}");
    assert_error(&err, 401, "authentication_error", "invalid_credentials");

    // Each has its own orders, and each JWT lists only those.
    let a_order = id_of(&a.record_order(order_for(&a_id, None)).await);
    let b_order = id_of(&b.record_order(order_for(&b_id, None)).await);
    for (shop, id, jwt, order) in [(&a, &a_id, &a_jwt, &a_order), (&b, &b_id, &b_jwt, &b_order)] {
        let (status, page) =
            send(shop.bearer(Method::GET, &format!("/v1/customers/{id}/orders"), jwt)).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), vec![order.clone()], "{page}");
    }

    // Magic links: a token of one store is no token in the other, and is not used up there.
    let (status, body) = a.email_token(EMAIL, LINK_A).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    mails += 1;
    let token_a = nth_mail(&sink, EMAIL, mails).await;
    assert!(
        token_a.link().starts_with("http://localhost:3000/a/ctk_"),
        "{}",
        token_a.link()
    );
    let (status, _) = b.email_token(EMAIL, LINK_B).await;
    assert_eq!(status, 200);
    mails += 1;
    let token_b = nth_mail(&sink, EMAIL, mails).await;
    assert!(
        token_b.link().starts_with("http://localhost:3000/b/ctk_"),
        "{}",
        token_b.link()
    );
    let (status, err) = a.exchange(&token_b.token()).await;
    assert_eq!(status, 422, "B's token through A: {err}");
    assert_error(&err, 422, "unprocessable_entity", "invalid_token");
    let (status, _) = b.exchange(&token_a.token()).await;
    assert_eq!(status, 422, "A's token through B");
    let (status, body) = a.exchange(&token_a.token()).await;
    assert_eq!(
        (status, &body["customer_id"]),
        (200, &json!(a_id)),
        "{body}"
    );
    let (status, body) = b.exchange(&token_b.token()).await;
    assert_eq!(
        (status, &body["customer_id"]),
        (200, &json!(b_id)),
        "{body}"
    );

    // Addresses only B knows get A's answer for unknown addresses, and no mail.
    let (status, body) = a.email_token("only-b@example.com", LINK_A).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let (status, body) = a
        .post_public(
            "/v1/customers/password-reset-email",
            json!({"email": "only-b@example.com", "base_url": LINK_A}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"success": true})));

    // Password resets: B's reset token is nothing in A; a reset in B leaves A alone.
    let (status, _) = a
        .post_public(
            "/v1/customers/password-reset-email",
            json!({"email": EMAIL, "base_url": LINK_A}),
        )
        .await;
    assert_eq!(status, 200);
    mails += 1;
    let reset_a = nth_mail(&sink, EMAIL, mails).await.token();
    let (status, _) = b
        .post_public(
            "/v1/customers/password-reset-email",
            json!({"email": EMAIL, "base_url": LINK_B}),
        )
        .await;
    assert_eq!(status, 200);
    mails += 1;
    let reset_mail = nth_mail(&sink, EMAIL, mails).await;
    assert!(
        reset_mail.link().starts_with("http://localhost:3000/b/"),
        "{}",
        reset_mail.link()
    );
    let reset_b = reset_mail.token();
    let (_, valid) = a
        .post_public(
            "/v1/customers/password-reset/verify",
            json!({"token": reset_b}),
        )
        .await;
    assert_eq!(valid, json!({"valid": false}), "B's reset token in A");
    let (status, _) = a
        .post_public(
            "/v1/customers/password-reset",
            json!({"token": reset_b, "password": "taken over", "confirm_password": "taken over"}),
        )
        .await;
    assert_eq!(status, 422, "B's reset token cannot reset through A");
    let (_, valid) = b
        .post_public(
            "/v1/customers/password-reset/verify",
            json!({"token": reset_b}),
        )
        .await;
    assert_eq!(
        valid,
        json!({"valid": true}),
        "and is not used up by trying"
    );
    let (_, valid) = b
        .post_public(
            "/v1/customers/password-reset/verify",
            json!({"token": reset_a}),
        )
        .await;
    assert_eq!(valid, json!({"valid": false}), "A's reset token in B");
    let (status, changed) = b
        .post_public(
            "/v1/customers/password-reset",
            json!({"token": reset_b, "password": "new b secret", "confirm_password": "new b secret"}),
        )
        .await;
    assert_eq!((status, changed), (200, json!({"changed": true})));
    assert_eq!(b.password_login(EMAIL, "new b secret").await.0, 200);
    assert_eq!(b.password_login(EMAIL, PASSWORD_B).await.0, 401);
    assert_eq!(
        send(b.bearer(Method::GET, &format!("/v1/customers/{b_id}"), &b_jwt))
            .await
            .0,
        401,
        "the reset ended B's sessions"
    );
    assert_eq!(
        a.password_login(EMAIL, PASSWORD_A).await.0,
        200,
        "A's password is unchanged"
    );
    assert_eq!(a.password_login(EMAIL, "new b secret").await.0, 401);
    assert_eq!(
        send(a.bearer(Method::GET, &format!("/v1/customers/{a_id}"), &a_jwt))
            .await
            .0,
        200,
        "and A's sessions go on"
    );
    let (_, valid) = a
        .post_public(
            "/v1/customers/password-reset/verify",
            json!({"token": reset_a}),
        )
        .await;
    assert_eq!(
        valid,
        json!({"valid": true}),
        "A's reset token still works in A"
    );

    // An email change confirmed only in its own store.
    let (_, b_login) = b.password_login(EMAIL, "new b secret").await;
    let b_jwt = b_login["jwt"].as_str().expect("jwt").to_owned();
    let (status, pending) = send(
        b.bearer(Method::PUT, &format!("/v1/customers/{b_id}"), &b_jwt)
            .json(&json!({"email": "moved-b@example.com", "base_url": LINK_B})),
    )
    .await;
    assert_eq!(status, 200, "{pending}");
    let confirm = nth_mail(&sink, "moved-b@example.com", 1).await.token();
    let (status, err) = a
        .post_public(
            "/v1/customers/confirm-email-change",
            json!({"token": confirm}),
        )
        .await;
    assert_eq!(status, 422, "B's confirmation through A: {err}");
    let (status, confirmed) = b
        .post_public(
            "/v1/customers/confirm-email-change",
            json!({"token": confirm}),
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["email"], "moved-b@example.com");
    let (_, a_me) = a.get(&format!("/v1/customers/{a_id}")).await;
    assert_eq!(a_me["email"], EMAIL, "A's customer keeps the address");

    app.outbox_settled().await;
    assert!(
        sink.mails_to("only-b@example.com").is_empty(),
        "no mail through A to an address only B knows"
    );
}

/// Another replica serves a store's settings from its cache for `CACHE_TTL` after a change
/// made elsewhere, by its own clock, then reads them again.
async fn another_replica_reads_changed_settings_after_the_cache_ttl(backend: Backend) {
    let app = spawn(backend).await;
    let (_, b) = create_store(
        &app,
        json!({"name": "Shop B", "link_origins": ["https://one.example"]}),
    )
    .await;
    let mut config = crate::helpers::test_config(&app.db);
    config.admin_key = Some(Secret::new(ADMIN_KEY));
    let replica =
        TestApp::spawn_on(crate::helpers::TestDb::borrowed(app.db.url.clone()), config).await;
    let on_replica = Shop {
        app: &replica,
        id: b.id.clone(),
        public_key: b.public_key.clone(),
        secret_key: b.secret_key.clone(),
    };
    let link_on = |origin: &str| {
        let body =
            json!({"email": "nobody@example.com", "base_url": format!("{origin}/login/{{token}}")});
        on_replica.post_public("/v1/customers/email-token", body)
    };
    assert_eq!(link_on("https://one.example").await.0, 200, "now cached");

    let (status, body) = send(
        admin(&app, Method::PUT, &format!("/v1/stores/{}", b.id))
            .json(&json!({"link_origins": ["https://two.example"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Served from the replica's cache (no database read per request) until its time is up.
    // (The test clock moves with real time too: half the time leaves room for a slow machine.)
    let half = patron::service::stores::CACHE_TTL / 2;
    replica.clock.advance(half);
    assert_eq!(link_on("https://one.example").await.0, 200, "still cached");
    assert_eq!(link_on("https://two.example").await.0, 422, "still cached");
    replica.clock.advance(half);
    assert_eq!(
        link_on("https://two.example").await.0,
        200,
        "read again after the cache's time"
    );
    assert_eq!(link_on("https://one.example").await.0, 422);
}

async fn password_lockouts_count_per_store(backend: Backend) {
    let app = spawn_adjusted(backend, |c| c.lockout_base = Duration::from_secs(60)).await;
    let (a, b) = two_stores(&app).await;
    const EMAIL: &str = "lock@example.com";
    a.create_customer(json!({"email": EMAIL, "password": PASSWORD_A}))
        .await;
    b.create_customer(json!({"email": EMAIL, "password": PASSWORD_A}))
        .await;

    for i in 0..10 {
        let (status, body) = a.password_login(EMAIL, "wrong password").await;
        assert_eq!(status, 401, "failure {i} in A: {body}");
    }
    let (status, locked) = a.password_login(EMAIL, PASSWORD_A).await;
    assert_eq!(status, 429, "A is locked: {locked}");
    assert_error(&locked, 429, "rate_limit_error", "account_locked");

    let (status, body) = b.password_login(EMAIL, PASSWORD_A).await;
    assert_eq!(status, 200, "A's lockout does not lock B: {body}");
    // B's count starts from its own failures only: nine more do not lock it.
    for i in 0..9 {
        let (status, body) = b.password_login(EMAIL, "wrong password").await;
        assert_eq!(status, 401, "failure {i} in B: {body}");
    }
    assert_eq!(b.password_login(EMAIL, PASSWORD_A).await.0, 200);
    assert_eq!(
        a.password_login(EMAIL, PASSWORD_A).await.0,
        429,
        "A stays locked"
    );
}

async fn per_address_mail_limits_count_per_store(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, |c| {
        c.rate_limits.email_per_minute = 1;
        c.rate_limits.email_per_hour = 5;
    })
    .await;
    let (a, b) = two_stores(&app).await;
    const EMAIL: &str = "limit@example.com";
    a.create_customer(json!({"email": EMAIL})).await;
    b.create_customer(json!({"email": EMAIL})).await;

    for _ in 0..2 {
        let (status, body) = a.email_token(EMAIL, LINK_A).await;
        assert_eq!((status, body), (200, json!({"success": true})));
    }
    let first = nth_mail(&sink, EMAIL, 1).await;
    assert!(
        first.link().starts_with("http://localhost:3000/a/"),
        "{}",
        first.link()
    );

    for _ in 0..2 {
        let (status, body) = b.email_token(EMAIL, LINK_B).await;
        assert_eq!((status, body), (200, json!({"success": true})));
    }
    let second = nth_mail(&sink, EMAIL, 2).await;
    assert!(
        second.link().starts_with("http://localhost:3000/b/"),
        "A's limit does not hold back B's mail: {}",
        second.link()
    );
    assert_eq!(app.outbox_settled().await, 2, "two mails queued in all");
    assert_eq!(
        sink.mails_to(EMAIL).len(),
        2,
        "one a minute per address in each store"
    );
}

async fn deleting_a_store_refuses_its_keys_and_sessions_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let default = Shop::default_of(&app).await;
    let (a, b) = two_stores(&app).await;
    let a_id = id_of(
        &a.create_customer(json!({"email": "d@example.com", "firstname": "Ada"}))
            .await,
    );
    let b_id = id_of(
        &b.create_customer(json!({"email": "d@example.com", "password": PASSWORD_A}))
            .await,
    );
    a.record_order(order_for(&a_id, None)).await;
    b.record_order(order_for(&b_id, None)).await;
    let a_jwt = a.issue_jwt(&a_id).await;
    let b_jwt = b.issue_jwt(&b_id).await;
    let own_a = format!("/v1/customers/{a_id}");
    let own_b = format!("/v1/customers/{b_id}");
    assert_eq!(send(b.bearer(Method::GET, &own_b, &b_jwt)).await.0, 200);
    assert_eq!(b.password_login("d@example.com", PASSWORD_A).await.0, 200);
    let a_customers = a.customers("").await;
    let a_orders = a.orders("").await;
    let (_, a_me) = a.get(&own_a).await;

    let (status, body) = send(admin(&app, Method::DELETE, &format!("/v1/stores/{}", b.id))).await;
    assert_eq!((status, body), (200, json!({"id": b.id, "deleted": true})));

    // At once, with no wait for any cache.
    for (key, method, path, body) in [
        (&b.secret_key, Method::GET, "/v1/customers", None),
        (&b.secret_key, Method::GET, own_b.as_str(), None),
        (
            &b.secret_key,
            Method::POST,
            "/v1/customers",
            Some(json!({"email": "late@example.com"})),
        ),
        (&b.secret_key, Method::GET, "/v1/orders", None),
        (&b.public_key, Method::GET, "/v1/merchants", None),
        (
            &b.public_key,
            Method::POST,
            "/v1/customers/email-token",
            Some(json!({"email": "d@example.com", "base_url": LINK})),
        ),
        (
            &b.public_key,
            Method::POST,
            "/v1/customers/login",
            Some(json!({"email": "d@example.com", "password": PASSWORD_A})),
        ),
    ] {
        let mut req = keyed(&app, key, method.clone(), path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let (status, err) = send(req).await;
        assert_eq!(status, 401, "B's key on {method} {path}: {err}");
        assert_eq!(err["error"]["type"], "authentication_error", "{err}");
    }
    for key in [b.public_key.as_str(), "undefined"] {
        for path in [own_b.clone(), format!("{own_b}/orders")] {
            let (status, err) = send(bearer_with(&app, key, Method::GET, &path, &b_jwt)).await;
            assert_eq!(status, 401, "B's JWT with {key} on {path}: {err}");
        }
    }

    // A is untouched.
    assert_eq!(a.customers("").await, a_customers);
    assert_eq!(a.orders("").await, a_orders);
    assert_eq!(a.get(&own_a).await, (200, a_me));
    let (status, me) = send(a.bearer(Method::GET, &own_a, &a_jwt)).await;
    assert_eq!((status, &me["firstname"]), (200, &json!("Ada")), "{me}");
    let (status, merchant) = send(a.public(Method::GET, "/v1/merchants")).await;
    assert_eq!((status, &merchant["id"]), (200, &json!(a.id)), "{merchant}");
    a.create_customer(json!({"email": "after@example.com"}))
        .await;
    assert_eq!(
        total(&default.customers("").await),
        0,
        "the default store works on"
    );
    let (_, list) = send(admin(&app, Method::GET, "/v1/stores")).await;
    let mut expected = vec![default.id.clone(), a.id.clone()];
    expected.sort();
    assert_eq!(ids(&list), expected, "{list}");
}

// ---- settings of one store apply to it alone -------------------------------------------

async fn link_origins_apply_to_their_store_only(backend: Backend) {
    // The deployment allows loopback only (no PATRON_LINK_ORIGINS).
    let (app, sink) = spawn_with_mail(backend, |c| c.rate_limits.email_per_minute = 100).await;
    let (_, a) = create_store(&app, json!({"name": "Shop A"})).await;
    let (_, b) = create_store(
        &app,
        json!({"name": "Shop B", "link_origins": ["https://shop-b.example"]}),
    )
    .await;
    const EMAIL: &str = "o@example.com";
    a.create_customer(json!({"email": EMAIL})).await;
    b.create_customer(json!({"email": EMAIL})).await;

    let (status, err) = a.email_token(EMAIL, SHOP_B_LINK).await;
    assert_eq!(status, 422, "B's origin is not A's: {err}");
    assert_error(&err, 422, "unprocessable_entity", "invalid_base_url");
    let (status, body) = b.email_token(EMAIL, SHOP_B_LINK).await;
    assert_eq!(status, 200, "{body}");
    let link = nth_mail(&sink, EMAIL, 1).await.link();
    assert!(
        link.starts_with("https://shop-b.example/login/ctk_"),
        "{link}"
    );

    let (status, err) = b.email_token(EMAIL, LINK).await;
    assert_eq!(status, 422, "B's origins replace the deployment's: {err}");
    assert_error(&err, 422, "unprocessable_entity", "invalid_base_url");
    let (status, _) = a.email_token(EMAIL, LINK).await;
    assert_eq!(status, 200, "A keeps the deployment's");
    let link = nth_mail(&sink, EMAIL, 2).await.link();
    assert!(
        link.starts_with("http://localhost:3000/account/ctk_"),
        "{link}"
    );

    // Registration and password resets check the same list.
    let (status, err) = a.register("new@example.com", PASSWORD_A, SHOP_B_LINK).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["error"]["errors"]["base_url"].is_array(), "{err}");
    let (status, _) = b.register("new@example.com", PASSWORD_A, SHOP_B_LINK).await;
    assert_eq!(status, 202);
    let link = nth_mail(&sink, "new@example.com", 1).await.link();
    assert!(
        link.starts_with("https://shop-b.example/login/ctk_"),
        "{link}"
    );
    let (status, err) = a
        .post_public(
            "/v1/customers/password-reset-email",
            json!({"email": EMAIL, "base_url": SHOP_B_LINK}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_error(&err, 422, "unprocessable_entity", "invalid_base_url");

    // Cleared, B falls back to the deployment's origins.
    let (status, cleared) = send(
        admin(&app, Method::PUT, &format!("/v1/stores/{}", b.id))
            .json(&json!({"link_origins": null})),
    )
    .await;
    assert_eq!(
        (status, &cleared["link_origins"]),
        (200, &Value::Null),
        "{cleared}"
    );
    eventually(
        "B refusing its old origin once cleared",
        || b.email_token(EMAIL, SHOP_B_LINK),
        |(status, _)| *status == 422,
    )
    .await;
    let (status, _) = b.email_token(EMAIL, LINK).await;
    assert_eq!(status, 200, "loopback is B's again");
}

async fn mail_sender_and_subject_apply_to_their_store_only(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, |c| {
        c.mail_from = "Deployment <no-reply@deploy.example>".into();
        c.mail_subject = "Your deployment link".into();
        c.rate_limits.email_per_minute = 100;
    })
    .await;
    let (_, a) = create_store(&app, json!({"name": "Shop A"})).await;
    let (_, b) = create_store(
        &app,
        json!({
            "name": "Shop B",
            "mail_from": "Shop B <no-reply@shop-b.example>",
            "mail_subject": "Log in to Shop B",
        }),
    )
    .await;
    const EMAIL: &str = "m@example.com";
    a.create_customer(json!({"email": EMAIL})).await;
    b.create_customer(json!({"email": EMAIL})).await;

    assert_eq!(a.email_token(EMAIL, LINK_A).await.0, 200);
    let from_a = nth_mail(&sink, EMAIL, 1).await;
    assert_eq!(b.email_token(EMAIL, LINK_B).await.0, 200);
    let from_b = nth_mail(&sink, EMAIL, 2).await;
    assert!(from_a.link().contains("/a/") && from_b.link().contains("/b/"));

    let header_from_a = from_a.header("from").expect("From");
    assert!(
        header_from_a.contains("no-reply@deploy.example"),
        "{header_from_a}"
    );
    assert_eq!(
        from_a.from, "no-reply@deploy.example",
        "SMTP envelope sender"
    );
    assert_eq!(
        from_a.header("subject").as_deref(),
        Some("Your deployment link")
    );

    let header_from_b = from_b.header("from").expect("From");
    assert!(
        header_from_b.contains("no-reply@shop-b.example") && header_from_b.contains("Shop B"),
        "{header_from_b}"
    );
    assert_eq!(
        from_b.from, "no-reply@shop-b.example",
        "SMTP envelope sender"
    );
    assert_eq!(
        from_b.header("subject").as_deref(),
        Some("Log in to Shop B")
    );

    // Every mail of B comes from B's sender; A's from the deployment's.
    assert_eq!(
        b.register("reg-b@example.com", PASSWORD_A, LINK).await.0,
        202
    );
    assert_eq!(
        a.register("reg-a@example.com", PASSWORD_A, LINK).await.0,
        202
    );
    let reg_b = nth_mail(&sink, "reg-b@example.com", 1).await;
    let reg_a = nth_mail(&sink, "reg-a@example.com", 1).await;
    assert_eq!(reg_b.from, "no-reply@shop-b.example");
    assert!(reg_b
        .header("from")
        .expect("From")
        .contains("no-reply@shop-b.example"));
    assert_eq!(reg_a.from, "no-reply@deploy.example");
    assert!(reg_a
        .header("from")
        .expect("From")
        .contains("no-reply@deploy.example"));
}

async fn order_reference_prefix_applies_to_its_store_only(backend: Backend) {
    let app = spawn(backend).await;
    let (_, a) = create_store(&app, json!({"name": "Shop A"})).await;
    let (_, b) = create_store(
        &app,
        json!({"name": "Shop B", "order_reference_prefix": "SHOPB"}),
    )
    .await;
    let a_id = id_of(&a.create_customer(json!({"email": "r@example.com"})).await);
    let b_id = id_of(&b.create_customer(json!({"email": "r@example.com"})).await);
    let reference = |o: &Value| {
        o["customer_reference"]
            .as_str()
            .expect("reference")
            .to_owned()
    };

    let a_ref = reference(&a.record_order(order_for(&a_id, None)).await);
    let b_ref = reference(&b.record_order(order_for(&b_id, None)).await);
    assert!(
        a_ref.starts_with("ORD-"),
        "the deployment's prefix in A: {a_ref}"
    );
    assert!(b_ref.starts_with("SHOPB-"), "B's own prefix: {b_ref}");

    let (status, _) = send(
        admin(&app, Method::PUT, &format!("/v1/stores/{}", b.id))
            .json(&json!({"order_reference_prefix": null})),
    )
    .await;
    assert_eq!(status, 200);
    let (b, b_id) = (&b, b_id.as_str());
    eventually(
        "B's orders on the deployment's prefix once cleared",
        move || async move { (201, b.record_order(order_for(b_id, None)).await) },
        |(_, o)| {
            o["customer_reference"]
                .as_str()
                .is_some_and(|r| r.starts_with("ORD-"))
        },
    )
    .await;
}

crate::on_both_backends!(
    another_replica_reads_changed_settings_after_the_cache_ttl,
    the_store_api_is_off_without_an_admin_key,
    a_store_is_created_with_its_first_keys_shown_once,
    store_input_is_validated,
    the_store_api_takes_only_the_admin_key,
    stores_are_listed_with_chec_pagination,
    a_store_is_updated_in_part_and_null_clears_a_setting,
    stores_are_deleted_but_never_the_default_store,
    store_a_sees_nothing_of_store_b,
    a_customer_jwt_is_refused_with_another_stores_key,
    logins_links_and_resets_stay_in_their_store,
    password_lockouts_count_per_store,
    per_address_mail_limits_count_per_store,
    deleting_a_store_refuses_its_keys_and_sessions_at_once,
    link_origins_apply_to_their_store_only,
    mail_sender_and_subject_apply_to_their_store_only,
    order_reference_prefix_applies_to_its_store_only,
);
