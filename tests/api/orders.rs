//! Orders: recorded with the secret key, read by the customer in Chec's shape.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp};

async fn record(app: &TestApp, body: Value) -> (u16, Value) {
    status_json(
        app.secret(Method::POST, "/v1/orders")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn book_order(customer_id: &str) -> Value {
    json!({
        "customer_id": customer_id,
        "currency": "USD",
        "line_items": [
            {"product_id": "prod_book", "product_name": "The Story of My Life", "product_sku": "BK-1", "quantity": 2, "price": "18.75"},
            {"product_id": "prod_pen", "product_name": "Pen", "quantity": 1, "price": 1.1}
        ],
        "shipping_price": "5",
        "tax": 2.5,
        "status_payment": "paid",
        "shipping": {"name": "Leslie Lawless", "street": "1 Main St", "town_city": "Springfield", "postal_zip_code": "12345", "country": "US"},
        "references": {"checkout_customer": "chk_cus_42"},
        "meta": {"channel": "web"}
    })
}

async fn orders_are_recorded_with_exact_money(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app
        .create_customer(json!({"email": "leslie@example.com", "firstname": "Leslie"}))
        .await;
    let (status, o) = record(&app, book_order(c["id"].as_str().unwrap())).await;
    assert_eq!(status, 201, "{o}");
    let id = o["id"].as_str().unwrap();
    assert!(id.starts_with("ord_") && id.len() == 18, "{id}");
    assert!(
        o["customer_reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("ORD-")),
        "generated: {o}"
    );
    assert_eq!(o["currency"], json!({"code": "USD", "symbol": "$"}));
    // 2 × 18.75 + 1.10 = 38.60; + 5 shipping + 2.50 tax = 46.10
    assert_eq!(
        o["order"]["subtotal"],
        json!({"raw": 38.6, "formatted": "38.60", "formatted_with_symbol": "$38.60", "formatted_with_code": "38.60 USD"})
    );
    assert_eq!(o["order"]["total"]["raw"], json!(46.1));
    assert_eq!(o["order_value"]["formatted_with_symbol"], "$46.10");
    assert_eq!(o["order"]["shipping"]["price"]["raw"], json!(5));
    assert_eq!(o["tax"]["amount"]["formatted"], "2.50");
    assert_eq!(
        o["order"]["total_paid"]["raw"],
        json!(46.1),
        "paid orders are paid in full"
    );
    let line = &o["order"]["line_items"][0];
    assert!(line["id"].as_str().unwrap().starts_with("item_"));
    assert_eq!(line["product_name"], "The Story of My Life");
    assert_eq!(line["product_sku"], "BK-1");
    assert_eq!(line["quantity"], 2);
    assert_eq!(line["price"]["raw"], json!(18.75));
    assert_eq!(line["line_total"]["formatted_with_code"], "37.50 USD");
    assert_eq!(o["order"]["line_items"][1]["price"]["formatted"], "1.10");
    assert_eq!(o["status"], "open");
    assert_eq!(o["status_payment"], "paid");
    assert_eq!(o["status_fulfillment"], "not_fulfilled");
    assert_eq!(o["shipping"]["name"], "Leslie Lawless");
    assert_eq!(
        o["shipping"]["street_2"],
        Value::Null,
        "every Chec address field is present"
    );
    assert_eq!(
        o["billing"],
        json!([]),
        "no billing address, as Chec renders it"
    );
    assert_eq!(o["customer"]["id"], c["id"]);
    assert_eq!(o["customer"]["email"], "leslie@example.com");
    assert_eq!(o["references"], json!({"checkout_customer": "chk_cus_42"}));
    assert_eq!(o["meta"], json!({"channel": "web"}));
    assert!(o.get("_event").is_none());

    let (status, fetched) = status_json(
        app.secret(Method::GET, &format!("/v1/orders/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetched, o);
}

async fn yen_has_no_decimals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("jp@example.com").await;
    let (status, o) = record(
        &app,
        json!({
            "customer_id": c["id"], "currency": "jpy",
            "line_items": [{"product_name": "Tea", "quantity": 3, "price": 400}]
        }),
    )
    .await;
    assert_eq!(status, 201, "{o}");
    assert_eq!(
        o["order_value"],
        json!({"raw": 1200, "formatted": "1,200", "formatted_with_symbol": "¥1,200", "formatted_with_code": "1,200 JPY"})
    );
    let (status, err) = record(
        &app,
        json!({
            "customer_id": c["id"], "currency": "JPY",
            "line_items": [{"product_name": "Tea", "quantity": 1, "price": "400.5"}]
        }),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        err["error"]["errors"]["line_items.0.price"].is_array(),
        "{err}"
    );
}

async fn a_customer_object_finds_or_creates_the_buyer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let existing = app
        .create_customer(json!({"email": "known@example.com", "firstname": "Kim"}))
        .await;
    let line = json!([{"product_name": "Mug", "quantity": 1, "price": "9.99"}]);
    let (status, o) = record(
        &app,
        json!({"customer": {"email": "KNOWN@example.com"}, "currency": "EUR", "line_items": line}),
    )
    .await;
    assert_eq!(status, 201, "{o}");
    assert_eq!(
        o["customer"]["id"], existing["id"],
        "attached to the customer with that email"
    );
    assert_eq!(app.total_customers().await, 1);

    let (status, o) = record(&app, json!({
        "customer": {"email": "new@example.com", "firstname": "Nia", "lastname": "Ngo", "phone": "+4912345"},
        "currency": "EUR", "line_items": line
    }))
    .await;
    assert_eq!(status, 201, "{o}");
    assert_eq!(app.total_customers().await, 2, "whoever buys is a customer");
    let created_id = o["customer"]["id"].as_str().unwrap();
    let (_, created) = status_json(
        app.secret(Method::GET, &format!("/v1/customers/{created_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(created["email"], "new@example.com");
    assert_eq!(created["firstname"], "Nia");
    assert_eq!(created["phone"], "+4912345");
}

async fn bad_orders_are_refused_and_record_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("b@example.com").await;
    let id = c["id"].as_str().unwrap();
    let ok_line = json!([{"product_name": "x", "quantity": 1, "price": "1.00"}]);
    let cases = [
        (
            json!({"currency": "USD", "line_items": ok_line}),
            "customer_id",
        ),
        (
            json!({"customer_id": "cstmr_AAAAAAAAAAAAAA", "currency": "USD", "line_items": ok_line}),
            "customer_id",
        ),
        (
            json!({"customer_id": id, "line_items": ok_line}),
            "currency",
        ),
        (
            json!({"customer_id": id, "currency": "DOLLARS", "line_items": ok_line}),
            "currency",
        ),
        (json!({"customer_id": id, "currency": "USD"}), "line_items"),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": []}),
            "line_items",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": [{"product_name": "x", "quantity": 0, "price": "1"}]}),
            "line_items.0.quantity",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": [{"product_name": "x", "quantity": 1.5, "price": "1"}]}),
            "line_items.0.quantity",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": [{"product_name": "x", "quantity": 1, "price": "-1"}]}),
            "line_items.0.price",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": [{"product_name": "x", "quantity": 1, "price": "1.001"}]}),
            "line_items.0.price",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": [{"product_name": "x", "quantity": 1, "price": "lots"}]}),
            "line_items.0.price",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": [{"quantity": 1, "price": "1"}]}),
            "line_items.0.product_name",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": [{"product_name": "x", "quantity": 1000, "price": "99999999999"}]}),
            "line_items.0.price",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": ok_line, "status_payment": "maybe"}),
            "status_payment",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": ok_line, "shipping": "1 Main St"}),
            "shipping",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": ok_line, "shipping": {"planet": "Mars"}}),
            "shipping.planet",
        ),
        (
            json!({"customer_id": id, "currency": "USD", "line_items": ok_line, "tax": "-2"}),
            "tax",
        ),
        (
            json!({"customer": {"email": "nope"}, "currency": "USD", "line_items": ok_line}),
            "customer.email",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = record(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["type"], "unprocessable_entity");
        assert!(err["error"]["errors"][field].is_array(), "{field} in {err}");
    }
    let (status, _) = record(&app, json!({"customer_id": id, "currency": "USD", "line_items": ok_line, "customer_reference": "REF-1"})).await;
    assert_eq!(status, 201);
    let (status, err) = record(&app, json!({"customer_id": id, "currency": "USD", "line_items": ok_line, "customer_reference": "REF-1"})).await;
    assert_eq!(status, 422, "a reference is recorded once");
    assert_error(
        &err,
        422,
        "unprocessable_entity",
        "customer_reference_taken",
    );

    let (_, all) = status_json(app.secret(Method::GET, "/v1/orders").send().await.unwrap()).await;
    assert_eq!(
        all["meta"]["pagination"]["total"], 1,
        "only the valid order was recorded"
    );
    assert_eq!(
        app.total_customers().await,
        1,
        "no customer was created by a refused order"
    );
    let (status, _) = status_json(
        app.public(Method::POST, "/v1/orders")
            .json(&book_order(id))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
}

async fn merchant_updates_statuses_and_meta(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("u@example.com").await;
    let (_, o) = record(&app, book_order(c["id"].as_str().unwrap())).await;
    let path = format!("/v1/orders/{}", o["id"].as_str().unwrap());
    let (status, u) = status_json(
        app.secret(Method::PUT, &path)
            .json(&json!({"status_fulfillment": "fulfilled", "meta": {"tracking": "1Z999"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["status_fulfillment"], "fulfilled");
    assert_eq!(
        u["status_payment"], "paid",
        "absent fields keep their value"
    );
    assert_eq!(u["meta"], json!({"tracking": "1Z999"}));
    assert_eq!(u["order_value"], o["order_value"], "money never changes");
    let (status, _) = status_json(
        app.secret(Method::PUT, &path)
            .json(&json!({"status_payment": "sort of"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = status_json(
        app.secret(Method::PUT, "/v1/orders/ord_AAAAAAAAAAAAAA")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

async fn customers_read_their_own_orders_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.create_email("alice@example.com").await;
    let bob = app.create_email("bob@example.com").await;
    let alice_id = alice["id"].as_str().unwrap();
    let bob_id = bob["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for (i, created) in [1_700_000_000, 1_700_000_100, 1_700_000_200]
        .iter()
        .enumerate()
    {
        let (status, o) = record(
            &app,
            json!({
                "customer_id": alice_id, "currency": "USD", "created": created,
                "line_items": [{"product_name": format!("thing {i}"), "quantity": 1, "price": "10"}]
            }),
        )
        .await;
        assert_eq!(status, 201, "{o}");
        assert_eq!(o["created"], *created);
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    let (_, bobs) = record(&app, book_order(bob_id)).await;

    let jwt = &app.issue_jwt(alice_id).await;
    let list = |q: &str| {
        let path = format!("/v1/customers/{alice_id}/orders{q}");
        let req = app.bearer(Method::GET, &path, jwt);
        async move { status_json(req.send().await.unwrap()).await }
    };
    let (status, page) = list("?sortBy=created_at&sortDirection=desc").await;
    assert_eq!(status, 200, "{page}");
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()],
        "newest first, only Alice's"
    );
    assert_eq!(page["meta"]["pagination"]["total"], 3);

    let (_, page2) = list("?sortBy=created_at&sortDirection=desc&limit=2&page=2").await;
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);
    assert_eq!(page2["data"][0]["id"], ids[0].as_str());
    assert_eq!(page2["meta"]["pagination"]["total_pages"], 2);
    let (_, asc) = list("?sortDirection=asc").await;
    assert_eq!(asc["data"][0]["id"], ids[0].as_str());
    let (status, _) = list("?sortBy=total").await;
    assert_eq!(status, 422);

    let one = format!("/v1/customers/{alice_id}/orders/{}", ids[1]);
    let (status, o) = status_json(app.bearer(Method::GET, &one, jwt).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(o["id"], ids[1].as_str());
    assert_eq!(o["order"]["line_items"][0]["product_name"], "thing 1");

    // Bob's order is not Alice's, whatever path she tries.
    let bob_order = bobs["id"].as_str().unwrap();
    for path in [
        format!("/v1/customers/{alice_id}/orders/{bob_order}"),
        format!("/v1/customers/{bob_id}/orders/{bob_order}"),
        format!("/v1/customers/{bob_id}/orders"),
    ] {
        let (status, _) =
            status_json(app.bearer(Method::GET, &path, jwt).send().await.unwrap()).await;
        assert_eq!(status, 404, "{path}");
    }
    for path in ["/v1/orders".to_owned(), format!("/v1/orders/{bob_order}")] {
        let (status, _) =
            status_json(app.bearer(Method::GET, &path, jwt).send().await.unwrap()).await;
        assert_eq!(status, 403, "{path}");
    }
    // The secret key reads any customer's orders.
    let (status, page) = status_json(
        app.secret(Method::GET, &format!("/v1/customers/{bob_id}/orders"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["meta"]["pagination"]["total"], 1);
    let (_, filtered) = status_json(
        app.secret(Method::GET, &format!("/v1/orders?customer_id={alice_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(filtered["meta"]["pagination"]["total"], 3);
}

/// A stored order this version cannot read (a damaged row, a bug), whichever part of it is
/// damaged, is a 500 that says nothing of it, and is logged; never an order shown with a price
/// of 0 or without its addresses. Each column is damaged on an order of its own customer, so
/// that each read fails for that column alone.
async fn an_unreadable_stored_order_is_an_error_not_a_zero_price(backend: Backend) {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn(backend).await;
    let other = app.create_email("undamaged@example.com").await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let other_jwt = app.issue_jwt(&other_id).await;
    for (n, (column, value)) in [
        ("line_items", "[{\"id\": \"item_x\"}]"),
        ("currency", "XXX"),
        ("shipping", "{\"name\": \"XXX\""),
        ("billing", "[\"XXX\"]"),
        ("customer_snapshot", "XXX"),
        ("merchant_references", "\"XXX\""),
        ("meta", "[1]"),
    ]
    .into_iter()
    .enumerate()
    {
        let c = app.create_email(&format!("damaged{n}@example.com")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        let mut order = book_order(&cid);
        order["shipping"] = json!({"name": "Leslie", "country": "US"});
        order["billing"] = json!({"name": "Leslie", "country": "US"});
        order["references"] = json!({"checkout": "co_1"});
        order["meta"] = json!({"gift": true});
        let (status, o) = record(&app, order).await;
        assert_eq!(status, 201, "{o}");
        let id = o["id"].as_str().unwrap().to_owned();
        let jwt = app.issue_jwt(&cid).await;
        // The customer's own list is read by the fast path (`pg_async` on PostgreSQL).
        let reads = |app: &TestApp| {
            [
                app.secret(Method::GET, &format!("/v1/orders/{id}")),
                app.secret(Method::GET, &format!("/v1/orders?customer_id={cid}")),
                app.secret(Method::GET, &format!("/v1/customers/{cid}/orders")),
                app.secret(Method::GET, &format!("/v1/customers/{cid}/orders/{id}")),
                app.bearer(Method::GET, &format!("/v1/customers/{cid}/orders"), &jwt),
            ]
        };
        for read in reads(&app) {
            let (status, body) = status_json(read.send().await.unwrap()).await;
            assert_eq!(status, 200, "{column} before the damage: {body}");
        }
        let (id2, value) = (id.clone(), value.to_owned());
        let sql = format!("UPDATE orders SET {column} = '{value}' WHERE id = '{id2}'");
        app.state
            .db
            .run(move |conn| {
                let n = match conn {
                    patron::db::DbConnection::Pg(c) => diesel::sql_query(&sql).execute(c),
                    patron::db::DbConnection::Sqlite(c) => diesel::sql_query(&sql).execute(c),
                };
                n.map_err(patron::db::DbError::from)
            })
            .await
            .unwrap();
        for (i, read) in reads(&app).into_iter().enumerate() {
            let (status, body) = status_json(read.send().await.unwrap()).await;
            assert_eq!(status, 500, "{column}: read {i}: {body}");
            let text = body.to_string();
            assert!(!text.contains(&id) && !text.contains("XXX"), "{text}");
        }
        // Another customer's damaged order is as unknown to them as any other of theirs: a
        // 500 would tell them it exists.
        let path = format!("/v1/customers/{other_id}/orders/{id}");
        for read in [
            app.bearer(Method::GET, &path, &other_jwt),
            app.secret(Method::GET, &path),
        ] {
            let (status, body) = status_json(read.send().await.unwrap()).await;
            assert_eq!(status, 404, "{column}: {body}");
        }
    }
}

async fn erasing_a_customer_keeps_orders_without_personal_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app
        .create_customer(json!({"email": "gone@example.com", "firstname": "Gus"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    let mut order = book_order(cid);
    order["billing"] = json!({"name": "Leslie Lawless", "street": "1 Main St", "country": "US"});
    let (status, o) = record(&app, order).await;
    assert_eq!(status, 201, "{o}");
    assert_eq!(
        app.secret(Method::DELETE, &format!("/v1/customers/{cid}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, kept) = status_json(
        app.secret(
            Method::GET,
            &format!("/v1/orders/{}", o["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "the order stays for the books");
    assert_eq!(kept["order_value"], o["order_value"]);
    assert_eq!(kept["customer"], Value::Null);
    assert_eq!(kept["shipping"], json!([]));
    let text = kept.to_string();
    for personal in [
        "gone@example.com",
        "Gus",
        "Leslie Lawless",
        "1 Main St",
        cid,
    ] {
        assert!(!text.contains(personal), "{personal} still in {text}");
    }
    // The API hides some stored columns: the stored row itself must hold none of it.
    let order_id = o["id"].as_str().unwrap().to_owned();
    let row = app
        .state
        .db
        .run(move |conn| {
            patron::db::orders::find(conn, patron::db::scope::Scope::DEFAULT, &order_id)
                .map_err(patron::db::DbError::from)
        })
        .await
        .unwrap()
        .expect("the stored order");
    assert_eq!(row.customer_id, None);
    assert_eq!(row.billing, None, "billing address erased");
    assert_eq!(row.shipping, None, "shipping address erased");
    assert_eq!(row.customer_snapshot, None, "customer snapshot erased");
    let stored = format!("{row:?}");
    for personal in [
        "gone@example.com",
        "Gus",
        "Leslie Lawless",
        "1 Main St",
        cid,
    ] {
        assert!(
            !stored.contains(personal),
            "{personal} still stored: {stored}"
        );
    }
}

async fn browsers_may_call_from_allowed_origins(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.cors_origins = vec!["https://shop.example".into()]
    })
    .await;
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/v1/customers/email-token"))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "x-authorization, x-chec-agent, content-type, authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "x-authorization",
        "x-chec-agent",
        "authorization",
        "content-type",
    ] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    let res = app
        .client
        .get(app.url("/v1/customers"))
        .header("Origin", "https://shop.example")
        .header("X-Authorization", crate::helpers::SECRET_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let evil = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

async fn order_meta_is_kept_cleared_or_set_and_statuses_refuse_null(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("om@example.com").await;
    let (_, o) = record(&app, book_order(c["id"].as_str().unwrap())).await;
    let path = format!("/v1/orders/{}", o["id"].as_str().unwrap());
    let put = |body: Value| {
        let req = app.secret(Method::PUT, &path).json(&body);
        async move { status_json(req.send().await.unwrap()).await }
    };
    let (status, kept) = put(json!({"status": "open"})).await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["meta"], json!({"channel": "web"}), "absent keeps");
    let (_, set) = put(json!({"meta": {"tracking": "1Z"}})).await;
    assert_eq!(set["meta"], json!({"tracking": "1Z"}), "a value sets");
    let (_, cleared) = put(json!({"meta": null})).await;
    assert_eq!(cleared["meta"], json!([]), "null clears");
    assert_eq!(cleared["status_payment"], "paid");
    for field in ["status", "status_payment", "status_fulfillment"] {
        let (status, err) = put(json!({ field: null, "meta": {"x": 1} })).await;
        assert_eq!(status, 422, "{field}: {err}");
        assert!(err["error"]["errors"][field].is_array(), "{field}: {err}");
    }
    let (_, now) = status_json(app.secret(Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(now["meta"], json!([]), "refused updates changed nothing");
    assert_eq!(now["status_fulfillment"], o["status_fulfillment"]);
}

async fn a_refused_preflight_is_a_chec_error_with_a_request_id(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.cors_origins = vec!["https://shop.example".into()]
    })
    .await;
    for (origin, method, code) in [
        ("https://evil.example", "POST", "cors_origin_not_allowed"),
        ("https://shop.example", "PATCH", "cors_method_not_allowed"),
    ] {
        let res = app
            .client
            .request(Method::OPTIONS, app.url("/v1/customers/email-token"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header("X-Request-Id", "preflight-1")
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()["x-request-id"],
            "preflight-1",
            "{origin} {method}"
        );
        assert!(res.headers().get("access-control-allow-origin").is_none());
        let (status, err) = status_json(res).await;
        assert_eq!(status, 403, "{origin} {method}: {err}");
        assert_error(&err, 403, "forbidden", code);
        assert_eq!(err["error"]["request_id"], "preflight-1");
    }
    // An allowed origin's error keeps its CORS headers, so the browser may read it, also when
    // the error is rewritten into Chec's shape (the docs' own 404 is a bare one).
    let res = app
        .client
        .get(app.url("/docs/no-such-file.js"))
        .header("Origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    assert!(res.headers().contains_key("x-request-id"));
    let (status, err) = status_json(res).await;
    assert_eq!(status, 404);
    assert_error(&err, 404, "not_found", "not_found");
}

crate::on_both_backends!(
    orders_are_recorded_with_exact_money,
    yen_has_no_decimals,
    a_customer_object_finds_or_creates_the_buyer,
    bad_orders_are_refused_and_record_nothing,
    merchant_updates_statuses_and_meta,
    customers_read_their_own_orders_newest_first,
    erasing_a_customer_keeps_orders_without_personal_data,
    an_unreadable_stored_order_is_an_error_not_a_zero_price,
    browsers_may_call_from_allowed_origins,
    order_meta_is_kept_cleared_or_set_and_statuses_refuse_null,
    a_refused_preflight_is_a_chec_error_with_a_request_id,
);
