//! The operator's store API (`/v1/stores`, behind `PATRON_ADMIN_KEY`) and `GET /v1/merchants`:
//! who may call them, and the shapes they answer with.

use patron::config::Secret;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp, PUBLIC_KEY, SECRET_KEY};

pub(crate) const ADMIN_KEY: &str = "ak_test_operatoroperator";
pub(crate) const DEFAULT_STORE: &str = "store_default0000000";

/// A server with the store API on (`PATRON_ADMIN_KEY` set to [`ADMIN_KEY`]).
pub(crate) async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| c.admin_key = Some(Secret::new(ADMIN_KEY))).await
}

fn with_key(app: &TestApp, key: &str, method: Method, path: &str) -> RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header("X-Authorization", key)
}

fn admin(app: &TestApp, method: Method, path: &str) -> RequestBuilder {
    with_key(app, ADMIN_KEY, method, path)
}

async fn send(req: RequestBuilder) -> (u16, Value) {
    status_json(req.send().await.expect("request")).await
}

/// Creates a store through the API; its JSON, keys included.
async fn create_store(app: &TestApp, body: Value) -> Value {
    let (status, created) = send(admin(app, Method::POST, "/v1/stores").json(&body)).await;
    assert_eq!(status, 201, "creating {body}: {created}");
    created
}

/// The server's time, in the unix seconds the API shows.
fn now(app: &TestApp) -> i64 {
    app.clock.now().and_utc().timestamp()
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

const STORE_FIELDS: &[&str] = &[
    "country",
    "created",
    "currency",
    "default",
    "id",
    "link_origins",
    "mail_from",
    "mail_subject",
    "name",
    "order_reference_prefix",
    "support_email",
    "updated",
];

/// Without `PATRON_ADMIN_KEY` there is no store API: every path and method under it is a
/// plain 404, whatever credential comes along.
async fn the_store_api_is_not_there_without_an_admin_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/v1/stores".to_owned(),
        format!("/v1/stores/{DEFAULT_STORE}"),
        "/v1/stores/nope".to_owned(),
    ] {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"] {
            for key in [None, Some(ADMIN_KEY), Some(SECRET_KEY)] {
                let mut req = app
                    .client
                    .request(method.parse().unwrap(), app.url(&path))
                    .json(&json!({"name": "Shop"}));
                if let Some(key) = key {
                    req = req.header("X-Authorization", key);
                }
                let (status, body) = send(req).await;
                assert_eq!(status, 404, "{method} {path} with {key:?}: {body}");
                assert_error(&body, 404, "not_found", "not_found");
            }
        }
    }
}

/// The admin key opens the store API and nothing else does: a merchant key is the wrong kind
/// (403) when it is a live one, no credential (401) when not; a customer token is refused too.
async fn only_the_admin_key_opens_the_store_api(backend: Backend) {
    let app = spawn(backend).await;
    let other = create_store(&app, json!({"name": "Other"})).await;
    let other_public = other["public_key"].as_str().unwrap().to_owned();
    let customer = app.create_email("admin-probe@example.com").await;
    let jwt = app.issue_jwt(customer["id"].as_str().unwrap()).await;

    for path in [
        "/v1/stores".to_owned(),
        format!("/v1/stores/{DEFAULT_STORE}"),
    ] {
        let (status, body) = send(app.client.get(app.url(&path))).await;
        assert_eq!(status, 401, "{path} with no key: {body}");
        assert_error(&body, 401, "authentication_error", "missing_api_key");
        let (status, body) = send(with_key(&app, "", Method::GET, &path)).await;
        assert_eq!(status, 401, "{path} with an empty key: {body}");
        assert_error(&body, 401, "authentication_error", "missing_api_key");
        // A header whose bytes are not text is a key that is not valid, not a missing one.
        let garbled = reqwest::header::HeaderValue::from_bytes(b"ak_\xff\xfe").unwrap();
        let (status, body) = send(
            app.client
                .get(app.url(&path))
                .header("X-Authorization", garbled),
        )
        .await;
        assert_eq!(status, 401, "{path} with a key that is not text: {body}");
        assert_error(&body, 401, "authentication_error", "invalid_api_key");

        for key in [PUBLIC_KEY, SECRET_KEY, other_public.as_str()] {
            let (status, body) = send(with_key(&app, key, Method::GET, &path)).await;
            assert_eq!(status, 403, "{path} with {key}: {body}");
            assert_error(&body, 403, "forbidden", "admin_key_required");
        }
        for key in [
            "pk_test_notakeyatallnotakey",
            "sk_test_notakeyatallnotakey",
            "ak_test_operatoroperatoR",
            "ak_test_operatoroperator2",
            "ak_test_operator",
            "ak_",
            "anything",
        ] {
            let (status, body) = send(with_key(&app, key, Method::GET, &path)).await;
            assert_eq!(status, 401, "{path} with {key}: {body}");
            assert_error(&body, 401, "authentication_error", "invalid_api_key");
        }

        let bearer = |token: &str, key: Option<&str>| {
            let mut req = app
                .client
                .get(app.url(&path))
                .header("Authorization", format!("Bearer {token}"));
            if let Some(key) = key {
                req = req.header("X-Authorization", key);
            }
            req
        };
        for key in [None, Some(ADMIN_KEY), Some("undefined")] {
            let (status, body) = send(bearer(&jwt, key)).await;
            assert_eq!(
                status, 403,
                "{path}: a customer token beside {key:?}: {body}"
            );
            assert_error(&body, 403, "forbidden", "admin_key_required");
        }
        let (status, body) = send(bearer("not.a.jwt", Some(ADMIN_KEY))).await;
        assert_eq!(status, 401, "{path}: a bad customer token: {body}");
        assert_error(&body, 401, "authentication_error", "invalid_bearer_token");
        let (status, body) = send(bearer(ADMIN_KEY, None)).await;
        assert_eq!(
            status, 401,
            "{path}: the admin key as a bearer token: {body}"
        );
        assert_error(&body, 401, "authentication_error", "api_key_as_bearer");
        let (status, body) =
            send(admin(&app, Method::GET, &path).header("Authorization", "Basic dXNlcjpwYXNz"))
                .await;
        assert_eq!(status, 401, "{path}: Basic beside the admin key: {body}");
        assert_error(
            &body,
            401,
            "authentication_error",
            "unsupported_authorization",
        );

        let (status, body) = send(admin(&app, Method::GET, &path)).await;
        assert_eq!(status, 200, "{path} with the admin key: {body}");
    }

    // The admin key is for the store API only.
    for path in ["/v1/customers", "/v1/merchants", "/v1/orders"] {
        let (status, body) = send(admin(&app, Method::GET, path)).await;
        assert_eq!(status, 403, "{path} with the admin key: {body}");
        assert_error(&body, 403, "forbidden", "admin_key_not_allowed");
    }
}

/// `POST /v1/stores`: 201, the store with its settings normalised and its first key pair,
/// which works at once and is not shown again.
async fn a_store_is_created_with_its_keys_shown_once(backend: Backend) {
    let app = spawn(backend).await;
    let before = now(&app);
    let created = create_store(
        &app,
        json!({
            "name": "  Shop B  ",
            "support_email": "help@shop-b.example",
            "currency": "eur",
            "country": "se",
            "link_origins": ["HTTPS://Shop-B.example/", "http://localhost:*"],
            "mail_from": "Shop B <no-reply@shop-b.example>",
            "mail_subject": "Your Shop B login link",
            "order_reference_prefix": "SHOPB",
            "unknown_field": "\u{0}ignored",
        }),
    )
    .await;
    let mut expected_keys: Vec<String> = STORE_FIELDS.iter().map(|f| f.to_string()).collect();
    expected_keys.extend(["public_key".to_owned(), "secret_key".to_owned()]);
    expected_keys.sort();
    assert_eq!(keys_of(&created), expected_keys, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("store_")
            && id.len() == 20
            && id[6..].bytes().all(|b| b.is_ascii_alphanumeric()),
        "{id}"
    );
    assert_eq!(created["name"], "Shop B");
    assert_eq!(created["support_email"], "help@shop-b.example");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["country"], "SE");
    assert_eq!(
        created["link_origins"],
        json!(["https://shop-b.example", "http://localhost:*"])
    );
    assert_eq!(created["mail_from"], "Shop B <no-reply@shop-b.example>");
    assert_eq!(created["mail_subject"], "Your Shop B login link");
    assert_eq!(created["order_reference_prefix"], "SHOPB");
    assert_eq!(created["default"], false);
    let created_at = created["created"].as_i64().expect("created");
    assert!(
        (before - 1..=now(&app) + 1).contains(&created_at),
        "{created_at}"
    );
    assert_eq!(created["updated"], created["created"]);
    let public = created["public_key"].as_str().unwrap();
    let secret = created["secret_key"].as_str().unwrap();
    assert!(
        public.starts_with("pk_") && secret.starts_with("sk_"),
        "{created}"
    );

    // The keys are the new store's, and work at once.
    let (status, merchant) = send(with_key(&app, public, Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "{merchant}");
    assert_eq!(merchant["id"], id.as_str());
    let (status, list) = send(with_key(&app, secret, Method::GET, "/v1/customers")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["meta"]["pagination"]["total"], 0);
    let (status, _) = send(with_key(&app, public, Method::GET, "/v1/customers")).await;
    assert_eq!(status, 403, "the public key is a public key");

    // Read back: the same store, without its keys.
    let (status, fetched) = send(admin(&app, Method::GET, &format!("/v1/stores/{id}"))).await;
    assert_eq!(status, 200, "{fetched}");
    let mut without_keys = created.clone();
    let obj = without_keys.as_object_mut().unwrap();
    obj.remove("public_key");
    obj.remove("secret_key");
    assert_eq!(fetched, without_keys);

    // The default store: every setting follows the deployment (null).
    let (status, default) = send(admin(
        &app,
        Method::GET,
        &format!("/v1/stores/{DEFAULT_STORE}"),
    ))
    .await;
    assert_eq!(status, 200, "{default}");
    let mut fields = STORE_FIELDS
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>();
    fields.sort();
    assert_eq!(keys_of(&default), fields, "{default}");
    assert_eq!(default["default"], true);
    assert_eq!(default["name"], "Default store");
    for setting in [
        "support_email",
        "currency",
        "country",
        "link_origins",
        "mail_from",
        "mail_subject",
        "order_reference_prefix",
    ] {
        assert!(default[setting].is_null(), "{setting}: {default}");
    }
}

/// Every invalid field is refused by name (422) and nothing is created.
async fn creation_validates_every_field(backend: Backend) {
    let app = spawn(backend).await;
    let total = || async {
        let (status, list) = send(admin(&app, Method::GET, "/v1/stores")).await;
        assert_eq!(status, 200, "{list}");
        list["meta"]["pagination"]["total"].as_u64().unwrap()
    };
    assert_eq!(total().await, 1, "only the default store");
    let fifty_one: Vec<String> = (0..51)
        .map(|i| format!("https://shop{i}.example"))
        .collect();
    for (body, field, code) in [
        (json!({}), "name", "name_required"),
        (json!({"name": null}), "name", "name_required"),
        (json!({"name": "   "}), "name", "name_required"),
        (json!({"name": "a\nb"}), "name", "invalid_characters"),
        (json!({"name": "x".repeat(256)}), "name", "too_long"),
        (json!({"name": 5}), "name", "invalid_type"),
        (
            json!({"name": "S", "support_email": "nope"}),
            "support_email",
            "invalid_support_email",
        ),
        (
            json!({"name": "S", "currency": "XXX"}),
            "currency",
            "invalid_currency",
        ),
        (
            json!({"name": "S", "currency": "EURO"}),
            "currency",
            "invalid_currency",
        ),
        (
            json!({"name": "S", "country": "XX"}),
            "country",
            "invalid_country",
        ),
        (
            json!({"name": "S", "country": "SWE"}),
            "country",
            "invalid_country",
        ),
        (
            json!({"name": "S", "link_origins": ["https://a.example/path"]}),
            "link_origins",
            "invalid_link_origin",
        ),
        (
            json!({"name": "S", "link_origins": fifty_one}),
            "link_origins",
            "too_many_link_origins",
        ),
        (
            json!({"name": "S", "link_origins": "https://a.example"}),
            "link_origins",
            "invalid_type",
        ),
        (
            json!({"name": "S", "mail_from": "not a mailbox"}),
            "mail_from",
            "invalid_mail_from",
        ),
        (
            json!({"name": "S", "mail_subject": "a\u{7}b"}),
            "mail_subject",
            "invalid_characters",
        ),
        (
            json!({"name": "S", "order_reference_prefix": "ORD-"}),
            "order_reference_prefix",
            "invalid_order_reference_prefix",
        ),
        (
            json!({"name": "S", "order_reference_prefix": "A".repeat(17)}),
            "order_reference_prefix",
            "invalid_order_reference_prefix",
        ),
        (json!({"name": "a\u{0}b"}), "name", "invalid_characters"),
    ] {
        let (status, err) = send(admin(&app, Method::POST, "/v1/stores").json(&body)).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert!(err["error"]["errors"][field].is_array(), "{body}: {err}");
        assert_eq!(err["error"]["code"], code, "{body}: {err}");
    }
    for body in ["null", "[]", "\"Shop\""] {
        let (status, err) = send(
            admin(&app, Method::POST, "/v1/stores")
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_error(&err, 422, "unprocessable_entity", "invalid_body");
    }
    let (status, err) = send(
        admin(&app, Method::POST, "/v1/stores")
            .header("Content-Type", "application/json")
            .body("{\"name\":"),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_error(&err, 400, "bad_request", "malformed_json");
    assert_eq!(total().await, 1, "no invalid request made a store");

    // Blank settings are "no value": the deployment's.
    let created = create_store(
        &app,
        json!({"name": "Blank", "currency": "  ", "country": "", "mail_subject": null}),
    )
    .await;
    assert!(
        created["currency"].is_null() && created["country"].is_null(),
        "{created}"
    );
    assert!(created["mail_subject"].is_null(), "{created}");
}

/// Chec's pagination, as on `/v1/customers`: newest first by default, `limit`, `page`,
/// `sortDirection`, links to the neighbouring pages, and 422 for a bad parameter.
async fn stores_are_listed_with_chec_pagination(backend: Backend) {
    let app = spawn(backend).await;
    let mut ids = vec![DEFAULT_STORE.to_owned()];
    for name in ["One", "Two", "Three"] {
        let created = create_store(&app, json!({ "name": name })).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let listed = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, body) = send(admin(&app, Method::GET, "/v1/stores")).await;
    assert_eq!(status, 200, "{body}");
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed(&body), newest_first);
    assert_eq!(
        body["meta"]["pagination"],
        json!({"total": 4, "count": 4, "per_page": 20, "current_page": 1, "total_pages": 1, "links": {}})
    );
    for store in body["data"].as_array().unwrap() {
        let mut fields = STORE_FIELDS
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>();
        fields.sort();
        assert_eq!(keys_of(store), fields, "no keys in a list: {store}");
    }

    let (status, body) = send(admin(&app, Method::GET, "/v1/stores?sortDirection=asc")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), ids);

    let (status, body) = send(admin(
        &app,
        Method::GET,
        "/v1/stores?sortDirection=asc&limit=2&page=2",
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), ids[2..].to_vec());
    let pagination = &body["meta"]["pagination"];
    assert_eq!(pagination["count"], 2);
    assert_eq!(pagination["per_page"], 2);
    assert_eq!(pagination["total_pages"], 2);
    let previous = pagination["links"]["previous"].as_str().expect("previous");
    assert!(
        previous.ends_with("/v1/stores?sortDirection=asc&limit=2&page=1"),
        "{previous}"
    );
    assert!(pagination["links"]["next"].is_null(), "{body}");

    let (status, body) = send(admin(&app, Method::GET, "/v1/stores?page=9")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), Vec::<String>::new());

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("sortDirection=DESC", "sortDirection"),
        ("sortDirection=", "sortDirection"),
    ] {
        let (status, body) = send(admin(&app, Method::GET, &format!("/v1/stores?{query}"))).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(body["error"]["errors"][field].is_array(), "{query}: {body}");
    }
}

/// `PUT` is partial: an absent field keeps its value, `null` gives a setting back to the
/// deployment; `name` cannot be cleared; an invalid request changes nothing.
async fn a_put_changes_only_what_it_names(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_store(
        &app,
        json!({
            "name": "Shop C",
            "currency": "USD",
            "country": "US",
            "support_email": "help@shop-c.example",
            "link_origins": ["https://shop-c.example"],
        }),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/stores/{id}");
    // `updated` is in seconds: let one pass so that a change shows.
    app.clock.advance(std::time::Duration::from_secs(1));

    let (status, updated) = send(admin(&app, Method::PUT, &path).json(&json!({
        "name": "Shop C2",
        "currency": null,
        "country": "  ",
        "mail_subject": "Log in to Shop C",
    })))
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Shop C2");
    assert!(updated["currency"].is_null(), "{updated}");
    assert!(updated["country"].is_null(), "{updated}");
    assert_eq!(updated["mail_subject"], "Log in to Shop C");
    assert_eq!(
        updated["support_email"], "help@shop-c.example",
        "absent: kept"
    );
    assert_eq!(updated["link_origins"], json!(["https://shop-c.example"]));
    assert_eq!(updated["created"], created["created"]);
    assert!(
        updated["updated"].as_i64().unwrap() > created["updated"].as_i64().unwrap(),
        "{updated}"
    );
    let (_, fetched) = send(admin(&app, Method::GET, &path)).await;
    assert_eq!(fetched, updated, "what PUT answered is what was saved");

    let (status, same) = send(admin(&app, Method::PUT, &path).json(&json!({}))).await;
    assert_eq!(status, 200, "{same}");
    for field in STORE_FIELDS.iter().filter(|f| **f != "updated") {
        assert_eq!(same[*field], updated[*field], "{field}");
    }
    let (status, cleared) =
        send(admin(&app, Method::PUT, &path).json(&json!({"link_origins": null}))).await;
    assert_eq!(status, 200, "{cleared}");
    assert!(cleared["link_origins"].is_null(), "{cleared}");

    for (body, field) in [
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "Shop D", "currency": "XYZ"}), "currency"),
        (
            json!({"name": "Shop D", "link_origins": ["ftp://x.example"]}),
            "link_origins",
        ),
        (
            json!({"name": "Shop D", "support_email": 7}),
            "support_email",
        ),
    ] {
        let (status, err) = send(admin(&app, Method::PUT, &path).json(&body)).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert!(err["error"]["errors"][field].is_array(), "{body}: {err}");
    }
    let (_, after) = send(admin(&app, Method::GET, &path)).await;
    assert_eq!(
        after["name"], "Shop C2",
        "no refused PUT changed anything: {after}"
    );

    // The default store's settings can be set too.
    let default_path = format!("/v1/stores/{DEFAULT_STORE}");
    let (status, default) = send(
        admin(&app, Method::PUT, &default_path).json(&json!({"support_email": "hi@main.example"})),
    )
    .await;
    assert_eq!(status, 200, "{default}");
    assert_eq!(default["support_email"], "hi@main.example");
    assert_eq!(default["default"], true);

    for missing in [
        "store_AAAAAAAAAAAAAA",
        "store_x",
        "cstmr_AAAAAAAAAAAAAA",
        "nope",
    ] {
        let (status, err) = send(
            admin(&app, Method::PUT, &format!("/v1/stores/{missing}")).json(&json!({"name": "X"})),
        )
        .await;
        assert_eq!(status, 404, "{missing}: {err}");
        assert_error(&err, 404, "not_found", "store_not_found");
    }
}

/// `DELETE`: `{"id", "deleted": true}`; the store's keys are refused on the next request, the
/// store is gone from the API; the default store cannot be deleted.
async fn deleting_a_store_refuses_its_keys_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_store(&app, json!({"name": "Doomed"})).await;
    let id = created["id"].as_str().unwrap();
    let public = created["public_key"].as_str().unwrap();
    let secret = created["secret_key"].as_str().unwrap();
    let path = format!("/v1/stores/{id}");
    // Used once, so the store is in the server's cache when it is deleted.
    let (status, _) = send(with_key(&app, secret, Method::GET, "/v1/customers")).await;
    assert_eq!(status, 200);

    let (status, deleted) = send(admin(&app, Method::DELETE, &path)).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted, json!({"id": id, "deleted": true}));

    for (key, path) in [(secret, "/v1/customers"), (public, "/v1/merchants")] {
        let (status, err) = send(with_key(&app, key, Method::GET, path)).await;
        assert_eq!(status, 401, "{path}: {err}");
        assert_error(&err, 401, "authentication_error", "invalid_api_key");
    }
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let (status, err) = send(admin(&app, method.clone(), &path).json(&json!({}))).await;
        assert_eq!(status, 404, "{method} {path} after deletion: {err}");
        assert_error(&err, 404, "not_found", "store_not_found");
    }
    let (_, list) = send(admin(&app, Method::GET, "/v1/stores")).await;
    assert_eq!(list["meta"]["pagination"]["total"], 1, "{list}");
    assert_eq!(list["data"][0]["id"], DEFAULT_STORE);

    let (status, err) = send(admin(
        &app,
        Method::DELETE,
        &format!("/v1/stores/{DEFAULT_STORE}"),
    ))
    .await;
    assert_eq!(status, 422, "{err}");
    assert_error(&err, 422, "unprocessable_entity", "default_store");
    let (status, _) = send(app.public(Method::GET, "/v1/merchants")).await;
    assert_eq!(status, 200, "the default store still serves");

    for missing in ["store_AAAAAAAAAAAAAA", "store_", "x"] {
        let (status, err) = send(admin(
            &app,
            Method::DELETE,
            &format!("/v1/stores/{missing}"),
        ))
        .await;
        assert_eq!(status, 404, "{missing}: {err}");
        assert_error(&err, 404, "not_found", "store_not_found");
    }
    let (status, err) = send(admin(&app, Method::DELETE, "/v1/stores/store_%00")).await;
    assert_eq!(status, 422, "NUL in the path is refused by name: {err}");
    assert!(err["error"]["errors"]["store_id"].is_array(), "{err}");
}

/// Each path of the store API and of `/v1/merchants` answers other methods 405 with `Allow`.
async fn other_methods_are_405_with_allow(backend: Backend) {
    let app = spawn(backend).await;
    for (path, allow, methods) in [
        (
            "/v1/stores",
            "GET, HEAD, POST",
            &["PUT", "DELETE", "PATCH"][..],
        ),
        (
            "/v1/stores/store_AAAAAAAAAAAAAA",
            "GET, HEAD, PUT, DELETE",
            &["POST", "PATCH", "TRACE"][..],
        ),
        ("/v1/merchants", "GET, HEAD", &["POST", "PUT", "DELETE"][..]),
    ] {
        for method in methods {
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.headers().get("allow").map(|v| v.to_str().unwrap()),
                Some(allow)
            );
            let (status, body) = status_json(res).await;
            assert_eq!(status, 405, "{method} {path}: {body}");
            assert_error(&body, 405, "method_not_allowed", "method_not_allowed");
        }
    }
    let res = admin(&app, Method::HEAD, "/v1/stores")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .public(Method::HEAD, "/v1/merchants")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// `GET /v1/merchants` (`commerce.merchants.about()`): the caller's store in Chec's shape,
/// with either key or a customer token, and nothing secret.
async fn merchants_about_shows_the_callers_store(backend: Backend) {
    let app = spawn(backend).await;
    let empty = |id: &str, name: &str| {
        json!({
            "id": id,
            "name": name,
            "description": "",
            "status": "active",
            "country": null,
            "currency": null,
            "support_email": null,
            "logo": null,
            "logo_shape": null,
            "cover": null,
            "has": {"logo": false, "cover": false, "analytics": false, "description": false},
            "analytics": {"google": {"settings": {"tracking_id": null, "linked_domains": []}}},
            "meta": [],
        })
    };
    let customer = app.create_email("merchant-about@example.com").await;
    let jwt = app.issue_jwt(customer["id"].as_str().unwrap()).await;
    let default = empty(DEFAULT_STORE, "Default store");
    for req in [
        app.public(Method::GET, "/v1/merchants"),
        app.secret(Method::GET, "/v1/merchants"),
        app.bearer(Method::GET, "/v1/merchants", &jwt),
        // As Commerce.js sends it: the public key beside the customer's token.
        app.client
            .get(app.url("/v1/merchants"))
            .header("Authorization", format!("Bearer {jwt}"))
            .header("X-Authorization", PUBLIC_KEY),
    ] {
        let (status, body) = send(req).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, default);
    }

    let created = create_store(
        &app,
        json!({
            "name": "Shop E",
            "currency": "eur",
            "country": "se",
            "support_email": "help@shop-e.example",
            "mail_from": "Shop E <no-reply@shop-e.example>",
            "link_origins": ["https://shop-e.example"],
        }),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let mut expected = empty(id, "Shop E");
    expected["country"] = json!("SE");
    expected["currency"] = json!({"code": "EUR", "symbol": "€"});
    expected["support_email"] = json!("help@shop-e.example");
    for key in ["public_key", "secret_key"] {
        let (status, body) = send(with_key(
            &app,
            created[key].as_str().unwrap(),
            Method::GET,
            "/v1/merchants",
        ))
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, expected, "with the {key}");
    }
    // A change through the store API shows at once through the replica that made it.
    let (status, _) = send(
        admin(&app, Method::PUT, &format!("/v1/stores/{id}")).json(&json!({"currency": "JPY"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = send(with_key(
        &app,
        created["public_key"].as_str().unwrap(),
        Method::GET,
        "/v1/merchants",
    ))
    .await;
    assert_eq!(body["currency"], json!({"code": "JPY", "symbol": "¥"}));

    let (status, body) = send(app.client.get(app.url("/v1/merchants"))).await;
    assert_eq!(status, 401, "{body}");
    assert_error(&body, 401, "authentication_error", "missing_api_key");
}

/// Purging a deleted store erases its per-address counters and nothing else: another store's
/// counter whose key differs only where the id has its `_` (LIKE's wildcard) stays.
async fn purge_erases_the_stores_counters_only(backend: Backend) {
    use diesel::prelude::*;
    use patron::db::schema::login_throttle::dsl;
    use patron::service::stores::Purge;

    let app = spawn(backend).await;
    let created = create_store(&app, json!({"name": "Gone"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let own = format!("{id}:pw:abc");
    let lookalike = format!("storeX{}:pw:abc", &id["store_".len()..]);
    let (a, b) = (own.clone(), lookalike.clone());
    app.state
        .db
        .run(move |conn| {
            for key in [&a, &b] {
                diesel::insert_into(dsl::login_throttle)
                    .values((
                        dsl::key.eq(key),
                        dsl::attempts.eq(1),
                        dsl::failures.eq(1),
                        dsl::lockouts.eq(0),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, patron::db::DbError>(())
        })
        .await
        .unwrap();
    let (status, _) = send(admin(&app, Method::DELETE, &format!("/v1/stores/{id}"))).await;
    assert_eq!(status, 200);
    let store = patron::domain::StoreId::parse(&id).unwrap();
    let purged = app.state.stores.purge(&store).await.unwrap();
    assert_eq!(purged, Purge::Purged { customers: 0 });
    let left: Vec<String> = app
        .state
        .db
        .run(|conn| Ok::<_, patron::db::DbError>(dsl::login_throttle.select(dsl::key).load(conn)?))
        .await
        .unwrap();
    assert_eq!(left, vec![lookalike]);
}

crate::on_both_backends!(
    purge_erases_the_stores_counters_only,
    the_store_api_is_not_there_without_an_admin_key,
    only_the_admin_key_opens_the_store_api,
    a_store_is_created_with_its_keys_shown_once,
    creation_validates_every_field,
    stores_are_listed_with_chec_pagination,
    a_put_changes_only_what_it_names,
    deleting_a_store_refuses_its_keys_at_once,
    other_methods_are_405_with_allow,
    merchants_about_shows_the_callers_store,
);
