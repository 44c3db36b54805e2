//! `GET /v1/customers`: Chec pagination, sorting, search and exact filters.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, status_json, Backend, TestApp};

fn emails(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn paginates_like_chec(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..25 {
        app.create_email(&format!("c{i:02}@example.com")).await;
    }
    let (status, first) = app.list("").await;
    assert_eq!(status, 200);
    let p = &first["meta"]["pagination"];
    assert_eq!(
        first["data"].as_array().unwrap().len(),
        20,
        "default limit 20"
    );
    assert_eq!(p["total"], 25);
    assert_eq!(p["count"], 20);
    assert_eq!(p["per_page"], 20);
    assert_eq!(p["current_page"], 1);
    assert_eq!(p["total_pages"], 2);
    let next = p["links"]["next"].as_str().expect("next link");
    assert!(next.contains("page=2"), "{next}");
    assert!(p["links"].get("previous").is_none());

    let (_, second) = app.list("?page=2").await;
    let p2 = &second["meta"]["pagination"];
    assert_eq!(p2["count"], 5);
    assert_eq!(p2["current_page"], 2);
    assert!(p2["links"]["previous"].as_str().unwrap().contains("page=1"));
    assert!(p2["links"].get("next").is_none());

    let mut all = emails(&first);
    all.extend(emails(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 25, "pages neither overlap nor skip");

    let (_, one_page) = app.list("?limit=200").await;
    assert_eq!(
        one_page["meta"]["pagination"]["links"],
        json!({}),
        "links are {{}} on a single page"
    );
    assert_eq!(one_page["data"].as_array().unwrap().len(), 25);

    let (_, beyond) = app.list("?page=9").await;
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["meta"]["pagination"]["total"], 25);
}

async fn sorts_by_allowed_columns(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for e in ["bob@example.com", "Alice@example.com", "carol@example.com"] {
        app.create_email(e).await;
    }
    let (_, asc) = app.list("?sortBy=email&sortDirection=asc").await;
    assert_eq!(
        emails(&asc),
        ["Alice@example.com", "bob@example.com", "carol@example.com"]
    );
    let (_, desc) = app.list("?sortBy=email&sortDirection=desc").await;
    assert_eq!(
        emails(&desc),
        ["carol@example.com", "bob@example.com", "Alice@example.com"]
    );
    // Newest first by default; creation order breaks ties by id, so compare as sets of order.
    let (_, created_asc) = app.list("?sortBy=created_at&sortDirection=asc").await;
    let (_, created_desc) = app.list("?sortBy=created_at&sortDirection=desc").await;
    let mut reversed = emails(&created_desc);
    reversed.reverse();
    assert_eq!(emails(&created_asc), reversed);
    assert_eq!(emails(&created_asc)[0], "bob@example.com");
    let (status, _) = app.list("?sortBy=updated_at").await;
    assert_eq!(status, 200);
}

async fn bad_parameters_are_422_not_500(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_email("x@example.com").await;
    for (query, field) in [
        ("?sortBy=password_hash", "sortBy"),
        ("?sortBy=created_at;DROP TABLE customers", "sortBy"),
        ("?sortDirection=sideways", "sortDirection"),
        ("?limit=abc", "limit"),
        ("?limit=0", "limit"),
        ("?limit=-5", "limit"),
        ("?limit=201", "limit"),
        ("?limit=99999999999999999999", "limit"),
        ("?page=0", "page"),
        ("?page=1.5", "page"),
    ] {
        let (status, body) = app.list(query).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_error(&body, 422, "unprocessable_entity", "invalid_parameter");
        assert!(body["error"]["errors"][field].is_array(), "{query}: {body}");
    }
    assert_eq!(app.total_customers().await, 1);
}

async fn searches_and_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_customer(
        json!({"email": "jane.doe@example.com", "firstname": "Jane", "lastname": "Doe"}),
    )
    .await;
    app.create_customer(json!({"email": "jd@shop.test", "firstname": "John", "lastname": "DOEBERMAN", "external_id": "ext-1"})).await;
    app.create_customer(json!({"email": "other@example.com", "firstname": "Zed", "lastname": "Zulu", "external_id": "ext-2"})).await;
    app.create_customer(json!({"email": "fifty_percent@example.com", "firstname": "100%"}))
        .await;

    let (_, doe) = app.list("?query=doe&sortBy=email&sortDirection=asc").await;
    assert_eq!(
        emails(&doe),
        ["jane.doe@example.com", "jd@shop.test"],
        "names and email, any case"
    );
    let (_, by_first) = app.list("?query=JOHN").await;
    assert_eq!(emails(&by_first), ["jd@shop.test"]);
    let (_, by_domain) = app.list("?query=shop.test").await;
    assert_eq!(emails(&by_domain), ["jd@shop.test"]);
    let (_, pct) = app.list("?query=%25").await;
    assert_eq!(
        emails(&pct),
        ["fifty_percent@example.com"],
        "% is a literal, not a wildcard"
    );
    let (_, underscore) = app.list("?query=_").await;
    assert_eq!(
        emails(&underscore),
        ["fifty_percent@example.com"],
        "_ is a literal"
    );

    let (_, exact) = app.list("?email=JANE.DOE@example.com").await;
    assert_eq!(
        emails(&exact),
        ["jane.doe@example.com"],
        "exact email ignores case"
    );
    let (_, partial) = app.list("?email=jane").await;
    assert_eq!(
        partial["meta"]["pagination"]["total"], 0,
        "the email filter is exact"
    );
    let (_, ext) = app.list("?external_id=ext-2").await;
    assert_eq!(emails(&ext), ["other@example.com"]);
    let (_, both) = app.list("?external_id=ext-1&query=zulu").await;
    assert_eq!(both["meta"]["pagination"]["total"], 0, "filters combine");
    let (_, none) = app.list("?query=nobody-here").await;
    assert_eq!(none["data"], json!([]));
    assert_eq!(none["meta"]["pagination"]["total"], 0);
}

/// Pagination links are built on `PATRON_PUBLIC_URL` (default: the address served), never on
/// `Host` or `X-Forwarded-*`, which any client sets.
async fn page_links_ignore_the_host_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..3 {
        app.create_email(&format!("h{i}@example.com")).await;
    }
    let next_link = |app: &TestApp, host: &'static str| {
        let req = app
            .secret(reqwest::Method::GET, "/v1/customers?limit=1&query=example")
            .header("Host", host)
            .header("X-Forwarded-Host", "evil.example")
            .header("X-Forwarded-Proto", "https")
            .header("Forwarded", "host=evil.example;proto=https");
        async move {
            let body: Value = req.send().await.unwrap().json().await.unwrap();
            body["meta"]["pagination"]["links"]["next"]
                .as_str()
                .expect("next link")
                .to_owned()
        }
    };
    let next = next_link(&app, "evil.example").await;
    assert_eq!(
        next,
        app.url("/v1/customers?limit=1&query=example&page=2"),
        "the default base is the address served"
    );

    let configured = TestApp::spawn_with(backend, |c| {
        c.public_url = Some(url::Url::parse("https://id.shop.example/patron/").unwrap());
    })
    .await;
    for i in 0..2 {
        configured.create_email(&format!("h{i}@example.com")).await;
    }
    let next = next_link(&configured, "evil.example").await;
    assert_eq!(
        next,
        "https://id.shop.example/patron/v1/customers?limit=1&query=example&page=2"
    );
}

async fn too_large_page_and_long_query_say_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.create_email("limits@example.com").await;
    let orders = format!("/v1/customers/{}/orders", c["id"].as_str().unwrap());
    for path in ["/v1/customers", "/v1/orders", orders.as_str()] {
        for (query, field, says) in [
            ("page=99999999999", "page", "2147483647"),
            ("page=2147483648", "page", "2147483647"),
            ("limit=99999999999999999999", "limit", "200"),
        ] {
            let url = format!("{path}?{query}");
            let (status, err) =
                status_json(app.secret(Method::GET, &url).send().await.unwrap()).await;
            assert_eq!(status, 422, "{url}: {err}");
            assert_error(&err, 422, "unprocessable_entity", "invalid_parameter");
            let message = err["error"]["errors"][field][0]
                .as_str()
                .unwrap_or_default();
            assert!(
                message.contains("greater than") && message.contains(says),
                "{url}: {message}"
            );
        }
    }
    let (status, _) = app.list("?page=2147483647").await;
    assert_eq!(
        status, 200,
        "the largest page is an empty page, not an error"
    );
    let long = "a".repeat(256);
    let (status, err) = app.list(&format!("?query={long}")).await;
    assert_eq!(status, 422, "{err}");
    let message = err["error"]["errors"]["query"][0]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("255 characters"), "{message}");
    let (status, _) = app.list(&format!("?query={}", "ñ".repeat(255))).await;
    assert_eq!(status, 200, "the limit counts characters, not bytes");
}

crate::on_both_backends!(
    page_links_ignore_the_host_header,
    paginates_like_chec,
    sorts_by_allowed_columns,
    bad_parameters_are_422_not_500,
    searches_and_filters,
    too_large_page_and_long_query_say_the_limit,
);

/// On PostgreSQL, `?query=` is served by the trigram indexes (when pg_trgm can be installed, as
/// on the test database): the SQL patron sends for a search must match the indexed columns, or
/// a search reads every customer again. Checked on the statement patron builds, with its
/// parameters, over enough customers that the planner would rather not read them all.
#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn postgres_search_can_use_the_trigram_indexes() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    let app = TestApp::spawn(Backend::Postgres).await;
    app.create_customer(json!({"email": "lawrence@example.com", "firstname": "Lawrence"}))
        .await;
    let (status, body) = app.list("?query=LAW").await;
    assert_eq!(
        (status, body["meta"]["pagination"]["total"].as_u64()),
        (200, Some(1))
    );

    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let patron::config::DatabaseUrl::Postgres(url) = app.db.url.clone() else {
        unreachable!()
    };
    let mut conn = diesel::PgConnection::establish(&url).expect("connect");
    // Varied text, as real names and addresses are: the planner prices a trigram search by how
    // common its trigrams are.
    conn.batch_execute(
        "INSERT INTO customers (id, email, email_normalized, email_folded, firstname, \
         firstname_folded, lastname, lastname_folded, created_at, updated_at, store_id) \
         SELECT 'cstmr_seed' || i, e, e, e, f, f, l, l, now(), now(), 'store_default0000000' FROM ( \
           SELECT i, substr(md5(i::text), 1, 12) || '@example.com' AS e, \
             substr(md5('f' || i), 1, 8) AS f, substr(md5('l' || i), 1, 10) AS l \
           FROM generate_series(1, 20000) AS i) AS seed",
    )
    .expect("seed");
    // As autovacuum would: moves the new index entries out of GIN's pending list, whose pages
    // the planner would otherwise price as read by every search.
    conn.batch_execute("VACUUM ANALYZE customers")
        .expect("vacuum");
    let (sql, params) =
        patron::db::customers::search_count_statement(patron::db::scope::Scope::DEFAULT, "LAW");
    conn.batch_execute(&format!("PREPARE search AS {sql}"))
        .expect("prepare");
    let quoted: Vec<String> = params
        .iter()
        .map(|p| format!("'{}'", p.replace('\'', "''")))
        .collect();
    let explain = format!("EXPLAIN EXECUTE search({})", quoted.join(", "));
    let plan = |conn: &mut diesel::PgConnection| -> Vec<String> {
        let lines: Vec<PlanLine> = diesel::sql_query(&explain).load(conn).expect("explain");
        lines.into_iter().map(|l| l.line).collect()
    };
    let uses_every_index = |plan: &[String]| {
        for index in [
            "customers_email_folded_trgm_idx",
            "customers_firstname_folded_trgm_idx",
            "customers_lastname_folded_trgm_idx",
        ] {
            assert!(
                plan.iter().any(|l| l.contains(index)),
                "{index} not used: {plan:#?}"
            );
        }
    };
    uses_every_index(&plan(&mut conn));
    // Diesel keeps its statements prepared, and PostgreSQL may then plan them without the
    // parameters' values: the indexes must serve that plan too.
    conn.batch_execute("SET plan_cache_mode = force_generic_plan")
        .expect("set");
    uses_every_index(&plan(&mut conn));
}
