//! The SQLite ceiling beneath patron: the statements patron runs for one request, sent straight
//! to SQLite through rusqlite (prepared and cached, one connection per client thread, the same
//! pragmas as patron's pool), by N threads for D seconds. What pgbench is for PostgreSQL.
//!
//! Usage: sqlite-ceiling <db path> <scenario> <clients> <seconds>
//! Prints one line: `CEILING_JSON {"scenario":..,"clients":..,"txns":..,"tps":..,"p50_us":..,"p99_us":..}`
//!
//! Rows it relies on are seeded by bench/bench.py: customers `cstmr_b<13 digits>` with email
//! `customer<i>@example.com`, sessions `pgbsess<17 digits>` for customers 1..=1000, tokens
//! `pgb_<i>` of purpose `pgbench` for customers 1..=100000, all in the default store.

use std::time::{Duration, Instant};

use chrono::Timelike;

use rusqlite::{params, Connection};

const JWT_CUSTOMERS: u64 = 1000;
const CUSTOMERS: u64 = 100_000;
const PGB_TOKENS: u64 = 100_000;
/// The default store: the one patron's environment keys and every seeded row belong to.
const STORE: &str = "store_default0000000";
/// The same search terms as bench/wrk/search.lua and bench/pgbench/search.sql.
const TERMS: [&str; 4] = ["%law%", "%mart%", "%son%", "%anna%"];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| A[(self.next() % A.len() as u64) as usize] as char)
            .collect()
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit((self.next() % 16) as u32, 16).unwrap())
            .collect()
    }
}

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Diesel's SQLite text form of a timestamp.
fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

fn customer_id(i: u64) -> String {
    format!("cstmr_b{i:013}")
}

/// Reads every column of every row, as Diesel does when it builds a struct.
fn consume(stmt: &mut rusqlite::CachedStatement<'_>, p: impl rusqlite::Params) -> usize {
    let n = stmt.column_count();
    let mut rows = stmt.query(p).expect("query");
    let mut count = 0;
    while let Some(row) = rows.next().expect("row") {
        for c in 0..n {
            let _ = std::hint::black_box(row.get_ref(c).expect("column"));
        }
        count += 1;
    }
    count
}

fn open(path: &str) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .expect("pragmas");
    conn
}

fn session_and_customer(conn: &Connection, rng: &mut Rng) -> String {
    let i = rng.between(1, JWT_CUSTOMERS);
    let cid = customer_id(i);
    let sid = format!("pgbsess{i:017}");
    let mut st = conn
        .prepare_cached(
            "SELECT customers.* FROM sessions INNER JOIN customers \
             ON customers.id = sessions.customer_id WHERE sessions.id = ?1 \
             AND sessions.customer_id = ?2 AND sessions.store_id = ?3 \
             AND sessions.revoked_at IS NULL AND sessions.expires_at > ?4 \
             AND EXISTS (SELECT 1 FROM signing_keys WHERE signing_keys.kid = ?5 \
             AND (signing_keys.retired_at IS NULL OR signing_keys.retired_at > ?4))",
        )
        .unwrap();
    assert_eq!(
        consume(&mut st, params![sid, cid, STORE, ts(now()), "pgbkid"]),
        1,
        "seeded session {sid} missing"
    );
    cid
}

fn one(conn: &Connection, scenario: &str, rng: &mut Rng) {
    match scenario {
        "profile" => {
            session_and_customer(conn, rng);
        }
        "orders" => {
            let cid = session_and_customer(conn, rng);
            let _n: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM orders WHERE store_id = ?1 AND customer_id = ?2",
                )
                .unwrap()
                .query_row(params![STORE, cid], |r| r.get(0))
                .unwrap();
            let mut st = conn
                .prepare_cached(
                    "SELECT * FROM orders WHERE store_id = ?1 AND customer_id = ?2 \
                     ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0",
                )
                .unwrap();
            consume(&mut st, params![STORE, cid]);
        }
        "exchange" | "exchange_tx" => {
            let i = rng.between(1, PGB_TOKENS);
            let t = ts(now());
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            // The single-row UPDATE (the plainest statement) by primary key alone; the whole
            // transaction consumes the token as patron does, within its store.
            let cid: String = if scenario == "exchange" {
                conn.prepare_cached(
                    "UPDATE login_tokens SET used_at = ?1 WHERE token_hash = ?2 \
                     AND purpose = 'pgbench' AND expires_at > ?1 RETURNING customer_id",
                )
                .unwrap()
                .query_row(params![t, format!("pgb_{i}")], |r| r.get(0))
                .unwrap()
            } else {
                conn.prepare_cached(
                    "UPDATE login_tokens SET used_at = ?1 WHERE store_id = ?2 AND token_hash = ?3 \
                     AND purpose = 'pgbench' AND expires_at > ?1 RETURNING customer_id",
                )
                .unwrap()
                .query_row(params![t, STORE, format!("pgb_{i}")], |r| r.get(0))
                .unwrap()
            };
            if scenario == "exchange_tx" {
                let mut st = conn
                    .prepare_cached(
                        "SELECT * FROM signing_keys WHERE retired_at IS NULL \
                         ORDER BY created_at DESC, kid DESC LIMIT 1",
                    )
                    .unwrap();
                consume(&mut st, []);
                let exp = ts(now() + chrono::TimeDelta::days(1));
                conn.prepare_cached(
                    "INSERT INTO sessions (id, customer_id, created_at, expires_at, store_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .unwrap()
                .execute(params![rng.alnum(24), cid, t, exp, STORE])
                .unwrap();
                for event in ["authn_login_success", "session_created"] {
                    audit(conn, rng, event, &cid, &t);
                }
            }
            conn.execute_batch("COMMIT").unwrap();
        }
        "email" => {
            let i = rng.between(1, CUSTOMERS);
            // With the store: the unique index is (store_id, email_normalized) now, and the
            // address alone would scan the table.
            let mut st = conn
                .prepare_cached(
                    "SELECT * FROM customers WHERE store_id = ?1 AND email_normalized = ?2 LIMIT 1",
                )
                .unwrap();
            assert_eq!(
                consume(&mut st, params![STORE, format!("customer{i}@example.com")]),
                1
            );
        }
        "email_tx" => {
            let i = rng.between(1, CUSTOMERS);
            let t = now();
            let minute = t.with_second(0).unwrap().with_nanosecond(0).unwrap();
            let hour = minute.with_minute(0).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            for (window, start) in [("1m", ts(minute)), ("1h", ts(hour))] {
                let _hits: i64 = conn
                    .prepare_cached(
                        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?1, ?2, 1) \
                         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 \
                         RETURNING hits",
                    )
                    .unwrap()
                    .query_row(
                        params![format!("{STORE}:pgbench:{window}:{i:032x}"), start],
                        |r| r.get(0),
                    )
                    .unwrap();
            }
            let cid = customer_id(i);
            let mut st = conn
                .prepare_cached(
                    "SELECT * FROM customers WHERE store_id = ?1 AND email_normalized = ?2",
                )
                .unwrap();
            assert_eq!(
                consume(&mut st, params![STORE, format!("customer{i}@example.com")]),
                1
            );
            conn.prepare_cached(
                "DELETE FROM login_tokens WHERE store_id = ?1 AND customer_id = ?2 \
                 AND purpose = 'login' AND used_at IS NULL",
            )
            .unwrap()
            .execute(params![STORE, cid])
            .unwrap();
            let now_s = ts(t);
            conn.prepare_cached(
                "INSERT INTO login_tokens (token_hash, customer_id, purpose, created_at, expires_at, \
                 store_id) VALUES (?1, ?2, 'login', ?3, ?4, ?5)",
            )
            .unwrap()
            .execute(params![
                rng.hex(64),
                cid,
                now_s,
                ts(t + chrono::TimeDelta::minutes(15)),
                STORE
            ])
            .unwrap();
            // status 'pgbench', not 'queued': patron's mail worker must not pick these up.
            conn.prepare_cached(
                "INSERT INTO outbox (id, recipient, subject, body_text, body_html, status, attempts, \
                 next_attempt_at, created_at, store_id) \
                 VALUES (?1, ?2, 'Your login link', ?3, ?4, 'pgbench', 0, ?5, ?5, ?6)",
            )
            .unwrap()
            .execute(params![
                format!("msg_{}", rng.alnum(20)),
                format!("customer{i}@example.com"),
                "x".repeat(260),
                "x".repeat(560),
                now_s,
                STORE
            ])
            .unwrap();
            audit(conn, rng, "authn_token_created", &cid, &now_s);
            conn.execute_batch("COMMIT").unwrap();
        }
        "search" => {
            let term = TERMS[(rng.next() % TERMS.len() as u64) as usize];
            let filter = "store_id = ?2 AND (email_folded LIKE ?1 ESCAPE '\\' \
                          OR firstname_folded LIKE ?1 ESCAPE '\\' OR lastname_folded LIKE ?1 ESCAPE '\\')";
            let _n: i64 = conn
                .prepare_cached(&format!("SELECT COUNT(*) FROM customers WHERE {filter}"))
                .unwrap()
                .query_row(params![term, STORE], |r| r.get(0))
                .unwrap();
            let mut st = conn
                .prepare_cached(&format!(
                    "SELECT * FROM customers WHERE {filter} \
                     ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0"
                ))
                .unwrap();
            consume(&mut st, params![term, STORE]);
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn audit(conn: &Connection, rng: &mut Rng, event: &str, cid: &str, at: &str) {
    conn.prepare_cached(
        "INSERT INTO audit_events (id, at, event, customer_id, ip, user_agent, request_id, \
         store_id) VALUES (?1, ?2, ?3, ?4, '127.0.0.1', 'sqlite-ceiling', ?5, ?6)",
    )
    .unwrap()
    .execute(params![
        format!("evt_{}", rng.alnum(20)),
        at,
        event,
        cid,
        format!("req_{}", rng.alnum(20)),
        STORE
    ])
    .unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: sqlite-ceiling <db path> <scenario> <clients> <seconds>");
        std::process::exit(2);
    }
    let path = args[1].clone();
    let scenario = args[2].clone();
    let clients: usize = args[3].parse().expect("clients");
    let seconds: f64 = args[4].parse().expect("seconds");
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|n| {
            let (path, scenario, barrier) = (path.clone(), scenario.clone(), barrier.clone());
            std::thread::spawn(move || {
                let conn = open(&path);
                // Seeded from the clock: ids it inserts must differ from those of earlier runs.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64;
                let mut rng = Rng((nanos ^ ((n as u64 + 1) * 0x9E37_79B9_7F4A_7C15)) | 1);
                let mut lat = Vec::with_capacity(1 << 16);
                barrier.wait();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    one(&conn, &scenario, &mut rng);
                    lat.push(t.elapsed().as_micros() as u32);
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<u32> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("client thread"))
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            0
        } else {
            all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1]
        }
    };
    println!(
        "CEILING_JSON {{\"scenario\":\"{}\",\"clients\":{},\"txns\":{},\"seconds\":{:.3},\"tps\":{:.1},\"p50_us\":{},\"p99_us\":{},\"sqlite\":\"{}\"}}",
        scenario,
        clients,
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        rusqlite::version()
    );
}
