//! The session check's asynchronous PostgreSQL path (`patron::db::pg_async`): it reads what
//! Diesel reads (session check, a customer's order list), encrypts as libpq would, and fails over like the rest (see also
//! `health::postgres_outage_is_503_then_recovers`, which cuts it under a running server).

use chrono::TimeDelta;
use patron::config::DatabaseUrl;
use patron::db::customers::{self, CustomerRow};
use patron::db::orders::{self, OrderRow, SortColumn};
use patron::db::pg_async::PgReader;
use patron::db::scope::Scope;
use patron::db::{self, sessions, signing_keys, DbError};
use patron::domain::{Email, StoreId};

use crate::helpers::{Backend, TestApp};

fn full_customer(id: &str, email: &str) -> CustomerRow {
    let now = db::now();
    CustomerRow::new(
        Scope::DEFAULT,
        id.into(),
        &Email::parse(email).unwrap(),
        Some("Zoë 'Ω'".into()),
        Some("O\u{2019}Brien".into()),
        Some("+1 555 0100".into()),
        Some("ext-1".into()),
        Some(r#"{"tier":"gold","n":[1,2]}"#.into()),
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        true,
        now - TimeDelta::days(3),
    )
}

/// A server on PostgreSQL, its database handle and its asynchronous reader.
async fn postgres_app() -> (TestApp, patron::db::Db, PgReader) {
    let app = TestApp::spawn(Backend::Postgres).await;
    let db = app.state.db.clone();
    let reader = db
        .pg_async()
        .expect("the test URL takes the asynchronous path")
        .clone();
    (app, db, reader)
}

#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn async_session_check_reads_what_diesel_reads() {
    let (_app, db, reader) = postgres_app().await;
    let full = full_customer("cstmr_AsyncFull0001", "full@example.com");
    let bare = CustomerRow::new(
        Scope::DEFAULT,
        "cstmr_AsyncBare0001".into(),
        &Email::parse("bare@example.com").unwrap(),
        None,
        None,
        None,
        None,
        None,
        None,
        false,
        db::now(),
    );
    let now = db::now();
    let (f, b) = (full.clone(), bare.clone());
    db.run(move |conn| {
        other_store(conn)?;
        customers::insert(conn, &f)?;
        customers::insert(conn, &b)?;
        for (sid, cid, expires) in [
            ("sess_full", f.id.as_str(), now + TimeDelta::hours(1)),
            ("sess_bare", b.id.as_str(), now + TimeDelta::hours(1)),
            ("sess_expired", f.id.as_str(), now - TimeDelta::seconds(1)),
            ("sess_revoked", f.id.as_str(), now + TimeDelta::hours(1)),
        ] {
            sessions::insert(
                conn,
                &sessions::NewSession {
                    id: sid,
                    customer_id: cid,
                    created_at: now,
                    expires_at: expires,
                    store_id: StoreId::DEFAULT,
                },
            )?;
        }
        sessions::revoke(conn, Scope::DEFAULT, "sess_revoked", now)?;
        for (kid, retired_at) in [
            ("kid_live", None),
            ("kid_retiring", Some(now + TimeDelta::hours(1))),
            ("kid_retired", Some(now - TimeDelta::seconds(1))),
        ] {
            signing_keys::insert(
                conn,
                &signing_keys::SigningKeyRow {
                    kid: kid.into(),
                    algorithm: "EdDSA".into(),
                    private_key: String::new(),
                    public_key: String::new(),
                    created_at: now,
                    retired_at,
                },
            )?;
        }
        Ok::<_, DbError>(())
    })
    .await
    .unwrap();

    let home = StoreId::DEFAULT;
    let cases = [
        ("sess_full", full.id.as_str(), home, "kid_live", Some(&full)),
        ("sess_bare", bare.id.as_str(), home, "kid_live", Some(&bare)),
        (
            "sess_full",
            full.id.as_str(),
            home,
            "kid_retiring",
            Some(&full),
        ),
        ("sess_expired", full.id.as_str(), home, "kid_live", None),
        ("sess_revoked", full.id.as_str(), home, "kid_live", None),
        // A live session presented with another customer's id.
        ("sess_bare", full.id.as_str(), home, "kid_live", None),
        ("no_such_session", full.id.as_str(), home, "kid_live", None),
        // A live session claimed for another store (a token naming the wrong store).
        ("sess_full", full.id.as_str(), OTHER_STORE, "kid_live", None),
        // A live session whose token was signed by a retired or unknown key.
        ("sess_full", full.id.as_str(), home, "kid_retired", None),
        ("sess_full", full.id.as_str(), home, "kid_unknown", None),
    ];
    for (sid, cid, store, kid, expected) in cases {
        let at = db::now();
        let check = sessions::SessionCheck {
            id: sid,
            customer_id: cid,
            store,
            kid,
            now: at,
        };
        let (s, c, st, k) = (
            sid.to_owned(),
            cid.to_owned(),
            store.to_owned(),
            kid.to_owned(),
        );
        let by_diesel = db
            .run(move |conn| {
                let check = sessions::SessionCheck {
                    id: &s,
                    customer_id: &c,
                    store: &st,
                    kid: &k,
                    now: at,
                };
                sessions::live_customer(conn, check).map_err(DbError::from)
            })
            .await
            .unwrap();
        let by_async = reader.live_customer(check).await.unwrap();
        assert_eq!(by_async, by_diesel, "{sid} as {cid} in {store} by {kid}");
        assert_eq!(
            by_async.as_ref(),
            expected,
            "{sid} as {cid} in {store} by {kid}"
        );
    }
}

#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn async_connection_is_encrypted_as_libpq_would_be() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let DatabaseUrl::Postgres(url) = app.db.url.clone() else {
        unreachable!()
    };
    let server_tls = app
        .state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct Ssl {
                #[diesel(sql_type = diesel::sql_types::Text)]
                ssl: String,
            }
            diesel::sql_query("SHOW ssl")
                .get_result::<Ssl>(conn)
                .map(|r| r.ssl == "on")
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    let timeout = std::time::Duration::from_secs(5);
    // The test URL leaves sslmode at libpq's default, prefer: TLS whenever the server has it.
    let prefer = PgReader::new(&url, timeout).unwrap();
    assert_eq!(prefer.check().await.unwrap(), server_tls);
    let plain = PgReader::new(&format!("{url}&sslmode=disable"), timeout).unwrap();
    assert!(!plain.check().await.unwrap());
    let required = PgReader::new(&format!("{url}&sslmode=require"), timeout).unwrap();
    match required.check().await {
        Ok(encrypted) => assert!(server_tls && encrypted),
        Err(e) => assert!(
            !server_tls,
            "require failed although the server has TLS: {e}"
        ),
    }
}

/// The server closes the kept connection (a restart or an idle timeout did): the next customer
/// request reconnects instead of failing.
#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn a_closed_connection_is_replaced_without_an_error() {
    let name = format!(
        "patron_reconnect_{}",
        patron::domain::random::alphanumeric(8).to_lowercase()
    );
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        let DatabaseUrl::Postgres(url) = &c.database_url else {
            unreachable!()
        };
        c.database_url = DatabaseUrl::Postgres(format!("{url}&application_name={name}"));
        c.workers = Some(1);
    })
    .await;
    let c = app.create_email("kept@example.com").await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    let jwt = &app.issue_jwt(c["id"].as_str().unwrap()).await;
    for _ in 0..3 {
        assert_eq!(
            app.bearer_status(reqwest::Method::GET, &path, jwt).await,
            200
        );
    }
    let killed = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Killed {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn =
            diesel::PgConnection::establish(&crate::helpers::postgres_url().unwrap()).unwrap();
        diesel::sql_query(format!(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE application_name = '{name}'"
        ))
        .get_result::<Killed>(&mut conn)
        .unwrap()
        .n
    };
    assert!(
        killed >= 2,
        "the pool's and the worker's connections: {killed}"
    );
    for _ in 0..3 {
        assert_eq!(
            app.bearer_status(reqwest::Method::GET, &path, jwt).await,
            200,
            "a customer request right after the server closed the connection"
        );
    }
}

/// A second store, whose rows every read of the default store must leave out.
const OTHER_STORE: &str = "store_AsyncOther0001";

fn other_store(conn: &mut patron::db::DbConnection) -> diesel::QueryResult<()> {
    let now = db::now();
    patron::db::stores::insert(
        conn,
        &patron::db::stores::StoreRow {
            id: OTHER_STORE.into(),
            name: "Other".into(),
            support_email: None,
            currency: None,
            country: None,
            link_origins: None,
            mail_from: None,
            mail_subject: None,
            order_reference_prefix: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        },
    )
}

fn order(id: usize, customer_id: Option<&str>, minutes: i64) -> OrderRow {
    let base = db::now() - TimeDelta::days(1);
    OrderRow {
        id: format!("ord_Async{id:09}"),
        customer_id: customer_id.map(str::to_owned),
        customer_reference: format!("ORD-ASYNC-{id}"),
        currency: "EUR".into(),
        status: "open".into(),
        status_payment: "paid".into(),
        status_fulfillment: "not_fulfilled".into(),
        subtotal: 1000 + id as i64,
        shipping_price: 250,
        tax: 190,
        total: 1440 + id as i64,
        line_items: format!(r#"[{{"product_name":"Thing {id}","quantity":1}}]"#),
        shipping: (id % 2 == 0).then(|| r#"{"name":"Ann"}"#.to_owned()),
        billing: None,
        customer_snapshot: Some(r#"{"email":"o@example.com"}"#.into()),
        merchant_references: (id % 3 == 0).then(|| r#"{"erp":"7"}"#.to_owned()),
        meta: Some(format!(r#"{{"n":{id}}}"#)),
        // Two orders share a created_at, so the id decides between them.
        created_at: base + TimeDelta::minutes(minutes),
        updated_at: base + TimeDelta::minutes(100 - id as i64),
        store_id: StoreId::DEFAULT.into(),
    }
}

#[actix_web::test]
#[cfg_attr(
    not(patron_pg),
    ignore = "PostgreSQL: set PATRON_TEST_DATABASE_URL to run"
)]
async fn async_order_list_reads_what_diesel_reads() {
    let (_app, db, reader) = postgres_app().await;
    let owner = full_customer("cstmr_AsyncOrders01", "orders@example.com");
    let other = full_customer("cstmr_AsyncOrders02", "other@example.com");
    let rows: Vec<OrderRow> = (0..5)
        .map(|i| order(i, Some(owner.id.as_str()), [5, 1, 3, 3, 2][i]))
        .chain([order(5, Some(other.id.as_str()), 4), order(6, None, 4)])
        // The owner's id on a row of another store: the store filter alone must leave it out.
        .chain([OrderRow {
            store_id: OTHER_STORE.into(),
            ..order(7, Some(owner.id.as_str()), 1)
        }])
        .collect();
    let (o, x) = (owner.clone(), other.clone());
    db.run(move |conn| {
        other_store(conn)?;
        customers::insert(conn, &o)?;
        customers::insert(conn, &x)?;
        for row in &rows {
            orders::insert(conn, row)?;
        }
        Ok::<_, DbError>(())
    })
    .await
    .unwrap();

    for sort in [SortColumn::CreatedAt, SortColumn::UpdatedAt] {
        for descending in [false, true] {
            let mut seen = Vec::new();
            for offset in [0, 2, 4, 6] {
                let id = owner.id.clone();
                let by_diesel = db
                    .run(move |conn| {
                        let total = orders::count(conn, Scope::DEFAULT, Some(&id))?;
                        let page = orders::page(
                            conn,
                            Scope::DEFAULT,
                            Some(&id),
                            sort,
                            descending,
                            2,
                            offset,
                        )?;
                        Ok::<_, DbError>((total, page))
                    })
                    .await
                    .unwrap();
                let by_async = reader
                    .customer_orders(Scope::DEFAULT, &owner.id, sort, descending, 2, offset)
                    .await
                    .unwrap();
                assert_eq!(
                    by_async, by_diesel,
                    "{sort:?} desc={descending} offset={offset}"
                );
                assert_eq!(by_async.0, 5);
                seen.extend(by_async.1.into_iter().map(|r| r.id));
            }
            assert_eq!(seen.len(), 5, "every order of the customer once: {seen:?}");
        }
    }
    let nobody = reader
        .customer_orders(
            Scope::DEFAULT,
            "cstmr_NoSuchCustomer",
            SortColumn::CreatedAt,
            true,
            20,
            0,
        )
        .await
        .unwrap();
    assert_eq!(nobody, (0, Vec::new()));
}
