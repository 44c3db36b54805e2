//! The real `patron` binary as an operator runs it: signals, crashes mid-delivery, several
//! processes on one database. Each scenario runs on SQLite, and on PostgreSQL when
//! `PATRON_TEST_DATABASE_URL` is set (otherwise its PostgreSQL variant is reported as ignored).

#[path = "api/smtp.rs"]
#[allow(dead_code)]
mod smtp;
#[path = "support/database.rs"]
#[macro_use]
mod database;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use database::{free_port, TestDb};
use patron::config::DatabaseUrl;
use serde_json::{json, Value};
use smtp::SmtpSink;

const PK: &str = "pk_test_processprocess";
const SK: &str = "sk_test_processprocess";
const LINK: &str = "http://localhost:3000/login/{token}";

on_both_backends!(
    processes:
    sigterm_finishes_in_flight_requests,
    sigkill_mid_delivery_loses_no_mail,
    three_processes_share_one_database,
    concurrent_password_logins_keep_memory_bounded,
    a_mail_held_back_by_the_per_address_limit_is_logged_without_the_address,
);

struct Patron {
    child: Child,
    base: String,
}

impl Patron {
    fn start(db: &TestDb, smtp_port: u16, extra: &[(&str, &str)]) -> Patron {
        Self::start_logging_to(db, smtp_port, extra, Stdio::null())
    }

    /// `start`, its log (stderr) going to `log`.
    fn start_logging_to(db: &TestDb, smtp_port: u16, extra: &[(&str, &str)], log: Stdio) -> Patron {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_patron"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PATRON_BIND", format!("127.0.0.1:{port}"))
            .env("PATRON_DATABASE_URL", db.env_url())
            .env("PATRON_PUBLIC_KEY", PK)
            .env("PATRON_SECRET_KEY", SK)
            .env("PATRON_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
            .env("PATRON_MAIL_POLL_MS", "100")
            .env("PATRON_MAIL_RETRY_BASE_MS", "100")
            .env("PATRON_MAIL_RETRY_MAX_MS", "500")
            .env("PATRON_RATE_LIMIT_EMAIL_PER_MINUTE", "100")
            .env("PATRON_WORKERS", "2")
            .env("PATRON_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start patron");
        Patron {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(self, client: &reqwest::Client) -> Patron {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = client.get(format!("{}/readyz", self.base)).send().await {
                if res.status() == 200 {
                    return self;
                }
            }
            assert!(Instant::now() < deadline, "patron did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Patron {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post(client: &reqwest::Client, url: String, key: &str, body: Value) -> (u16, Value) {
    let res = client
        .post(url)
        .header("X-Authorization", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Waits until the outbox holds `sent` sent messages and none queued or being sent: after
/// that no worker can send anything more, so counting mails is final (no sleeping and hoping
/// a late duplicate has arrived).
async fn outbox_settled(db: &TestDb, sent: i64) {
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sent: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pending: i64,
    }
    const SQL: &str = "SELECT \
        COUNT(CASE WHEN status = 'sent' THEN 1 END) AS sent, \
        COUNT(CASE WHEN status IN ('queued', 'sending') THEN 1 END) AS pending FROM outbox";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let counts: Counts = match &db.url {
            DatabaseUrl::Sqlite(path) => diesel::sql_query(SQL)
                .get_result(
                    &mut diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap(),
                )
                .unwrap(),
            DatabaseUrl::Postgres(url) => diesel::sql_query(SQL)
                .get_result(&mut diesel::PgConnection::establish(url).unwrap())
                .unwrap(),
        };
        if counts.sent == sent && counts.pending == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "outbox never settled: {} sent, {} pending",
            counts.sent,
            counts.pending
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The database's write lock, held by the test from another connection until released.
struct WriteLock {
    release: std::sync::mpsc::Sender<()>,
    done: std::thread::JoinHandle<()>,
}

impl WriteLock {
    fn take(db: &TestDb) -> WriteLock {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let url = db.url.clone();
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let done = std::thread::spawn(move || {
            let hold = |conn: &mut dyn SimpleConnection, begin: &str| {
                conn.batch_execute(begin).expect("take the write lock");
                locked_tx.send(()).unwrap();
                let _ = release_rx.recv();
                conn.batch_execute("COMMIT")
                    .expect("release the write lock");
            };
            match url {
                DatabaseUrl::Sqlite(path) => {
                    let mut conn =
                        diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
                    hold(&mut conn, "BEGIN IMMEDIATE");
                }
                DatabaseUrl::Postgres(url) => {
                    let mut conn = diesel::PgConnection::establish(&url).unwrap();
                    hold(&mut conn, "BEGIN; LOCK TABLE customers IN EXCLUSIVE MODE");
                }
            }
        });
        locked_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("write lock taken");
        WriteLock { release, done }
    }

    fn release(self) {
        let _ = self.release.send(());
        self.done.join().unwrap();
    }
}

/// SIGTERM lets requests in flight finish, then the process exits cleanly.
async fn sigterm_finishes_in_flight_requests(db: TestDb) {
    let sink = SmtpSink::start().await;
    let c = client();
    let patron = Patron::start(&db, sink.port, &[]).ready(&c).await;
    let (status, _) = post(
        &c,
        format!("{}/v1/customers", patron.base),
        SK,
        json!({"email": "t@example.com", "password": "slow to hash"}),
    )
    .await;
    assert_eq!(status, 201);
    // Requests held in flight for sure: the test holds the database's write lock, so these
    // sign-ups wait inside patron until it lets go, well after SIGTERM.
    let lock = WriteLock::take(&db);
    let signups: Vec<_> = (0..4)
        .map(|i| {
            let c = c.clone();
            let url = format!("{}/v1/customers", patron.base);
            tokio::spawn(async move {
                post(
                    &c,
                    url,
                    SK,
                    json!({"email": format!("held{i}@example.com")}),
                )
                .await
                .0
            })
        })
        .collect();
    // However long this takes, the sign-ups cannot finish: they wait for the lock.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut patron = patron;
    patron.signal("TERM");
    // Stopping has begun, and outlasts actix's first shutdown check (after a second): the
    // requests are still waiting for the lock.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    lock.release();
    for s in signups {
        let status = s.await.unwrap();
        assert_eq!(
            status, 201,
            "a request in flight at SIGTERM still gets its answer"
        );
    }
    let exit = patron
        .wait_exit(Duration::from_secs(30))
        .expect("patron stops after SIGTERM");
    assert!(exit.success(), "clean exit: {exit:?}");
    assert!(
        c.get(format!("{}/healthz", patron.base))
            .send()
            .await
            .is_err(),
        "no longer listening"
    );
}

/// Killed in the middle of an SMTP exchange, a restarted patron delivers what was pending.
async fn sigkill_mid_delivery_loses_no_mail(db: TestDb) {
    // A mail server that accepts connections but never answers: the send hangs.
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalled_port = stalled.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = stalled.accept().await {
            open.push(s);
        }
    });
    let c = client();
    let lease = [("PATRON_MAIL_LEASE_SECONDS", "3")];
    let mut first = Patron::start(&db, stalled_port, &lease).ready(&c).await;
    post(
        &c,
        format!("{}/v1/customers", first.base),
        SK,
        json!({"email": "k@example.com"}),
    )
    .await;
    let (status, _) = post(
        &c,
        format!("{}/v1/customers/email-token", first.base),
        PK,
        json!({"email": "k@example.com", "base_url": LINK}),
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(5)).expect("killed");
    held.abort();

    let sink = SmtpSink::start().await;
    let second = Patron::start(&db, sink.port, &lease).ready(&c).await;
    let mails = sink
        .wait_for("k@example.com", 1, Duration::from_secs(20))
        .await;
    outbox_settled(&db, 1).await;
    assert_eq!(sink.mails_to("k@example.com").len(), 1, "delivered once");
    let (status, _) = post(
        &c,
        format!("{}/v1/customers/exchange-token", second.base),
        PK,
        json!({"token": mails[0].token()}),
    )
    .await;
    assert_eq!(status, 200, "the link from the recovered mail works");
}

/// Three processes on one database behind a round-robin client: a login started on one is
/// finished on another, each mail goes out once, and per-IP limits count across processes.
async fn three_processes_share_one_database(db: TestDb) {
    let sink = SmtpSink::start().await;
    let c = client();
    let limits = [("PATRON_RATE_LIMIT_EMAIL_TOKEN_PER_MINUTE", "20")];
    let mut nodes = Vec::new();
    // One at a time first, so they do not all race to migrate an empty database
    // (they could; the test is about serving).
    for _ in 0..3 {
        nodes.push(Patron::start(&db, sink.port, &limits).ready(&c).await);
    }
    let n = 9;
    // Per-IP limits count in windows aligned to the minute: everything counted below must fall
    // in one window, so a minute about to end is waited out (at most 25 s).
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 35 {
        tokio::time::sleep(Duration::from_secs(60 - into_minute + 1)).await;
    }
    for i in 0..n {
        let node = &nodes[i % 3];
        let (status, _) = post(
            &c,
            format!("{}/v1/customers", node.base),
            SK,
            json!({"email": format!("rr{i}@example.com")}),
        )
        .await;
        assert_eq!(status, 201);
    }
    for i in 0..n {
        let node = &nodes[(i + 1) % 3];
        let (status, _) = post(
            &c,
            format!("{}/v1/customers/email-token", node.base),
            PK,
            json!({"email": format!("rr{i}@example.com"), "base_url": LINK}),
        )
        .await;
        assert_eq!(status, 200);
    }
    for i in 0..n {
        let mail = sink
            .wait_for(&format!("rr{i}@example.com"), 1, Duration::from_secs(20))
            .await;
        let node = &nodes[(i + 2) % 3];
        let (status, body) = post(
            &c,
            format!("{}/v1/customers/exchange-token", node.base),
            PK,
            json!({"token": mail[0].token()}),
        )
        .await;
        assert_eq!(
            status, 200,
            "started on one process, finished on another: {body}"
        );
    }
    outbox_settled(&db, n as i64).await;
    assert_eq!(sink.mails().len(), n, "each mail once across three workers");

    // 9 link requests so far from this IP; the limit is 20 a minute over all processes.
    let mut statuses = Vec::new();
    for i in 0..14 {
        let node = &nodes[i % 3];
        statuses.push(
            post(
                &c,
                format!("{}/v1/customers/email-token", node.base),
                PK,
                json!({"email": "nobody@example.com", "base_url": LINK}),
            )
            .await
            .0,
        );
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (ok, limited),
        (11, 3),
        "20 a minute over all processes, 9 used: {statuses:?}"
    );
}

/// The largest resident set the process has had, from the kernel (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        / 1024
}

/// Each Argon2id hash holds 19 MiB: 300 logins at once must not hold 300 of them. Hashes run
/// a few at a time; what cannot get a turn soon is refused with 503 and `Retry-After`.
async fn concurrent_password_logins_keep_memory_bounded(db: TestDb) {
    let sink = SmtpSink::start().await;
    let c = client();
    let patron = Patron::start(
        &db,
        sink.port,
        &[("PATRON_RATE_LIMIT_LOGIN_PER_MINUTE", "0")],
    )
    .ready(&c)
    .await;
    let logins: Vec<_> = (0..300)
        .map(|i| {
            let c = c.clone();
            let url = format!("{}/v1/customers/login", patron.base);
            tokio::spawn(async move {
                let res = c
                    .post(url)
                    .header("X-Authorization", PK)
                    .json(&json!({"email": format!("nobody{i}@example.com"), "password": "wrong password"}))
                    .send()
                    .await
                    .unwrap();
                let retry_after = res.headers().get("retry-after").is_some();
                (res.status().as_u16(), retry_after)
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for l in logins {
        let (status, retry_after) = l.await.unwrap();
        if status == 503 {
            assert!(retry_after, "a busy answer says when to come back");
        }
        *statuses.entry(status).or_default() += 1;
    }
    let only_expected = statuses.keys().all(|s| *s == 401 || *s == 503);
    assert!(only_expected, "{statuses:?}");
    assert!(statuses.get(&401).is_some_and(|n| *n > 0), "{statuses:?}");
    let peak = peak_rss_mib(patron.child.id());
    assert!(
        peak < 200,
        "peak RSS {peak} MiB under 300 concurrent logins ({statuses:?})"
    );
}

/// A mail the per-address limit holds back (a login link, a password reset, an account's
/// verification, an email change's confirmation) is logged at info level, with the reason, the
/// address masked and its digest, never the address itself: an operator can tell why a mail
/// never came.
async fn a_mail_held_back_by_the_per_address_limit_is_logged_without_the_address(db: TestDb) {
    const REASON: &str = "mail not sent: per-address limit reached";
    // The limits count in windows aligned to the clock: one mail an hour, and no hour may end
    // between a first mail and the one it holds back.
    let into_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 3600;
    if into_hour > 3600 - 30 {
        tokio::time::sleep(Duration::from_secs(3600 - into_hour + 1)).await;
    }
    let sink = SmtpSink::start().await;
    let c = client();
    let log = tempfile::NamedTempFile::new().unwrap();
    let patron = Patron::start_logging_to(
        &db,
        sink.port,
        &[
            ("PATRON_LOG", "info"),
            ("PATRON_RATE_LIMIT_EMAIL_PER_HOUR", "1"),
        ],
        Stdio::from(log.reopen().unwrap()),
    )
    .ready(&c)
    .await;
    let url = |path: &str| format!("{}{path}", patron.base);
    let known = "held.back@example.com";
    let (status, customer) = post(&c, url("/v1/customers"), SK, json!({"email": known})).await;
    assert_eq!(status, 201, "{customer}");

    // The first link goes out; the second, and a reset, the same hour, do not.
    for path in ["/v1/customers/email-token", "/v1/customers/email-token"] {
        let (status, _) = post(&c, url(path), PK, json!({"email": known, "base_url": LINK})).await;
        assert_eq!(status, 200);
    }
    let (status, _) = post(
        &c,
        url("/v1/customers/password-reset-email"),
        PK,
        json!({"email": known, "base_url": LINK}),
    )
    .await;
    assert_eq!(status, 200);

    // A registration whose address was asked for a link this hour: no verification.
    let newcomer = "new.comer@example.com";
    post(
        &c,
        url("/v1/customers/email-token"),
        PK,
        json!({"email": newcomer, "base_url": LINK}),
    )
    .await;
    let (status, body) = post(
        &c,
        url("/v1/customers/register"),
        PK,
        json!({"email": newcomer, "password": "correct horse battery", "base_url": LINK}),
    )
    .await;
    assert_eq!(status, 202, "{body}");

    // An email change to an address asked for a link this hour: no confirmation.
    let target = "moving.to@example.com";
    post(
        &c,
        url("/v1/customers/email-token"),
        PK,
        json!({"email": target, "base_url": LINK}),
    )
    .await;
    let id = customer["id"].as_str().unwrap();
    let (status, issued) = post(
        &c,
        url(&format!("/v1/customers/{id}/issue-token")),
        SK,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let res = c
        .put(url(&format!("/v1/customers/{id}")))
        .header(
            "Authorization",
            format!("Bearer {}", issued["jwt"].as_str().unwrap()),
        )
        .json(&json!({"email": target}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    sink.wait_for(known, 1, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(log.path()).unwrap();
        if text.matches(REASON).count() >= 4 || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(patron);
    let held: Vec<&str> = text.lines().filter(|l| l.contains(REASON)).collect();
    let line_for = |mail: &str, to: &str| {
        held.iter()
            .find(|l| l.contains(&format!("mail={mail} to={to} ")))
            .unwrap_or_else(|| panic!("no {mail} line for {to}: {held:#?}\n{text}"))
            .to_string()
    };
    for (mail, address, masked) in [
        ("login", known, "h***@example.com"),
        ("password_reset", known, "h***@example.com"),
        ("verify_email", newcomer, "n***@example.com"),
        ("email_change", target, "m***@example.com"),
    ] {
        let line = line_for(mail, masked);
        assert!(line.contains(" INFO "), "{line}");
        assert!(
            line.contains(&patron::domain::email::digest(address)),
            "{line}"
        );
    }
    assert_eq!(held.len(), 4, "{held:#?}");
    for address in [known, newcomer, target] {
        assert!(!text.contains(address), "{address} in clear:\n{text}");
    }
    assert_eq!(sink.mails_to(known).len(), 1, "one login link only");
}
