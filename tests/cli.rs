//! The `patron` command as an operator types it: first start, key commands, mistakes.

#[path = "support/database.rs"]
#[macro_use]
#[allow(dead_code)]
mod database;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use database::TestDb;

on_both_backends!(
    processes:
    keys_are_shown_on_the_first_start_that_serves,
    keys_revoke_takes_the_id_the_listed_prefix_or_the_whole_key,
    a_key_retired_by_the_cli_is_refused_by_a_running_server_at_once,
    key_commands_exit_cleanly_every_time,
    stores_and_their_keys_are_managed_from_the_cli,
);

/// `patron` in `dir` with only the given variables (and PATH).
fn command(dir: &std::path::Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patron"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env).args(args).output().expect("run patron")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running server whose stdout and stderr are collected as they come.
struct Served {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    fn start(mut cmd: Command) -> Served {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start patron");
        let collect = |mut from: Box<dyn Read + Send>| {
            let into = Arc::new(Mutex::new(String::new()));
            let sink = into.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
            into
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Served {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits until stderr holds `needle`, or the process ends, or 60 s pass.
    fn wait_stderr(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let err = self.stderr.lock().unwrap().clone();
            if err.contains(needle) {
                return err;
            }
            let exited = self.child.try_wait().unwrap().is_some();
            assert!(
                !exited && Instant::now() < deadline,
                "patron never logged {needle:?}; stderr: {err}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the readers drain what the process wrote last.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(Instant::now() < deadline, "patron did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value printed after `label` on stdout (`secret (back office): sk_...`).
fn printed_after(out: &str, label: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|rest| rest.trim().to_owned())
}

/// The port is taken on the very first start: that start fails and makes no keys, so the next
/// start, which serves, is the one that shows them (and they work).
async fn keys_are_shown_on_the_first_start_that_serves(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let env = [
        ("PATRON_BIND", bind.as_str()),
        ("PATRON_DATABASE_URL", db.env_url()),
        ("PATRON_LOG", "info"),
    ];

    let mut failed = Served::start(command(dir.path(), &env));
    let status = failed.wait_exit();
    let (out, err) = (
        failed.stdout.lock().unwrap().clone(),
        failed.stderr.lock().unwrap().clone(),
    );
    assert!(!status.success(), "a taken port is a failed start");
    assert!(
        err.contains("PATRON_BIND"),
        "the error names the setting: {err}"
    );
    assert!(
        !out.contains("pk_") && !out.contains("sk_"),
        "no keys were made or shown by a start that could not serve: {out}"
    );
    drop(taken);

    let mut served = Served::start(command(dir.path(), &env));
    let log = served.wait_stderr("patron is listening");
    assert!(
        log.contains(&format!("patron is listening on http://{bind}")),
        "the start log names the full address: {log}"
    );
    let out = served.stdout.lock().unwrap().clone();
    let public = printed_after(&out, "public (storefront):").expect("public key shown");
    let secret = printed_after(&out, "secret (back office):").expect("secret key shown");
    assert!(
        public.starts_with("pk_") && secret.starts_with("sk_"),
        "{out}"
    );

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let res = client
        .get(format!("http://{bind}/v1/customers"))
        .header("X-Authorization", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the shown secret key works");
    let res = client
        .get(format!("http://{bind}/v1/customers"))
        .header("X-Authorization", &public)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "the shown public key is a public key");
}

async fn keys_revoke_takes_the_id_the_listed_prefix_or_the_whole_key(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let env = [("PATRON_DATABASE_URL", db.env_url())];
    let create = || {
        let out = run(dir.path(), &env, &["keys", "create", "--secret"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let key = text(&out.stdout).trim().to_owned();
        let id = text(&out.stderr)
            .split_whitespace()
            .find(|w| w.starts_with("key_"))
            .expect("the key's id")
            .to_owned();
        (key, id)
    };
    let (by_key, by_key_id) = create();
    let (by_prefix, by_prefix_id) = create();
    let (_, by_id) = create();

    let list = text(&run(dir.path(), &env, &["keys", "list"]).stdout);
    let listed_prefix = list
        .lines()
        .find(|l| l.starts_with(&by_prefix_id))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("keys list shows the prefix")
        .to_owned();
    assert!(
        listed_prefix.ends_with('…') && by_prefix.starts_with(listed_prefix.trim_end_matches('…')),
        "{list}"
    );

    for (target, id) in [
        (by_key.as_str(), &by_key_id),
        (listed_prefix.as_str(), &by_prefix_id),
        (by_id.as_str(), &by_id),
    ] {
        let out = run(dir.path(), &env, &["keys", "revoke", target]);
        assert!(out.status.success(), "{target}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout).trim(),
            format!("revoked {id}"),
            "{target}"
        );
    }
    let list = text(&run(dir.path(), &env, &["keys", "list"]).stdout);
    for id in [&by_key_id, &by_prefix_id, &by_id] {
        let line = list.lines().find(|l| l.starts_with(id.as_str())).unwrap();
        assert!(!line.trim_end().ends_with('-'), "{id} is revoked: {line}");
    }

    let again = run(dir.path(), &env, &["keys", "revoke", &by_key]);
    assert!(!again.status.success(), "a revoked key is not found again");
    assert!(
        text(&again.stderr).contains("no live key"),
        "{}",
        text(&again.stderr)
    );
    let wrong = run(
        dir.path(),
        &env,
        &["keys", "revoke", "sk_notakeyatallnotakeyatall"],
    );
    assert!(!wrong.status.success());
}

#[test]
fn mistakes_are_named_before_the_usage() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &[], &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("patron: unknown command \"frobnicate\""),
        "an error line comes first: {err}"
    );
    assert!(err.contains("Usage:"), "{err}");

    let out = run(dir.path(), &[], &["keys", "create"]);
    assert!(text(&out.stderr).starts_with("patron: keys create needs --public or --secret"));

    let out = run(dir.path(), &[("PATRON_BIND", "18084")], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("PATRON_BIND") && err.contains("host:port"),
        "the variable and the expected form are named: {err}"
    );
    assert!(
        !dir.path().join("patron.db").exists(),
        "a bad setting stops before anything is created"
    );
}

#[test]
fn cli_commands_say_which_database_they_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &[], &["keys", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("patron.db") && err.contains("did not exist"),
        "a new empty database is called out: {err}"
    );
    let out = run(dir.path(), &[], &["keys", "list"]);
    let err = text(&out.stderr);
    assert!(err.contains("patron.db"), "{err}");
    assert!(!err.contains("did not exist"), "{err}");
}

/// `patron keys retire-jwt` in another process: the running server refuses tokens signed by
/// that key on the very next request (the README says "at once"), and keeps serving new ones.
async fn a_key_retired_by_the_cli_is_refused_by_a_running_server_at_once(db: TestDb) {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let port = database::free_port();
    let bind = format!("127.0.0.1:{port}");
    let (pk, sk) = ("pk_test_cliclicliclicli", "sk_test_cliclicliclicli");
    let env = [
        ("PATRON_BIND", bind.as_str()),
        ("PATRON_DATABASE_URL", db.env_url()),
        ("PATRON_PUBLIC_KEY", pk),
        ("PATRON_SECRET_KEY", sk),
        ("PATRON_LOG", "info"),
    ];
    let mut served = Served::start(command(dir.path(), &env));
    served.wait_stderr("patron is listening");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{bind}");
    let customer: serde_json::Value = client
        .post(format!("{base}/v1/customers"))
        .header("X-Authorization", sk)
        .json(&serde_json::json!({"email": "retire@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = customer["id"].as_str().expect("customer id").to_owned();
    let issue = || async {
        let body: serde_json::Value = client
            .post(format!("{base}/v1/customers/{id}/issue-token"))
            .header("X-Authorization", sk)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["jwt"].as_str().expect("jwt").to_owned()
    };
    let own = |jwt: String| {
        let req = client
            .get(format!("{base}/v1/customers/{id}"))
            .header("X-Authorization", pk)
            .header("Authorization", format!("Bearer {jwt}"));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let jwt = issue().await;
    assert_eq!(own(jwt.clone()).await, 200);
    let header = jwt.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    let kid = header["kid"].as_str().expect("kid").to_owned();

    let cli_env = [("PATRON_DATABASE_URL", db.env_url())];
    let out = run(dir.path(), &cli_env, &["keys", "retire-jwt", &kid]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(own(jwt).await, 401, "refused on the next request");
    let fresh = issue().await;
    assert_eq!(own(fresh).await, 200, "the new key signs and verifies");
}

/// A command that did its work exits 0, every time: on PostgreSQL the exit used to crash
/// (SIGSEGV) about one run in five while the pool was still opening a connection.
async fn key_commands_exit_cleanly_every_time(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let env = [("PATRON_DATABASE_URL", db.env_url())];
    for args in [&["migrate"][..], &["keys", "list"], &["keys", "list-jwt"]] {
        for _ in 0..10 {
            let out = run(dir.path(), &env, args);
            assert!(
                out.status.success(),
                "{args:?}: {:?} {}",
                out.status,
                text(&out.stderr)
            );
        }
    }
    for _ in 0..10 {
        let out = run(dir.path(), &env, &["keys", "create", "--public"]);
        assert!(
            out.status.success(),
            "{:?} {}",
            out.status,
            text(&out.stderr)
        );
    }
}

/// The operator's store commands beside a running server: `stores create` prints a key pair
/// that works, `keys ... --store` acts on that store only, and `stores purge` erases a store
/// deleted through the API (and refuses a live or the default one).
async fn stores_and_their_keys_are_managed_from_the_cli(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let env = [("PATRON_DATABASE_URL", db.env_url())];
    let ok = |args: &[&str]| {
        let out = run(dir.path(), &env, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let refused = |args: &[&str], needle: &str| {
        let out = run(dir.path(), &env, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("Usage:"),
            "a refusal, not a usage mistake: {err}"
        );
    };
    let line_of = |list: &str, id: &str| -> Option<Vec<String>> {
        list.lines()
            .find(|l| l.starts_with(id))
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
    };

    let (list, _) = ok(&["stores", "list"]);
    let default = line_of(&list, "store_default0000000").expect("the default store is listed");
    assert_eq!(default[3], "default", "{list}");

    let (out, err) = ok(&["stores", "create", "--name", "Shop B"]);
    let id = out.lines().next().unwrap_or_default().trim().to_owned();
    assert!(id.starts_with("store_") && id.len() == 20, "{out}");
    let public = printed_after(&out, "public (storefront):").expect("public key shown");
    let secret = printed_after(&out, "secret (back office):").expect("secret key shown");
    assert!(
        public.starts_with("pk_") && secret.starts_with("sk_"),
        "{out}"
    );
    assert!(err.contains("shown only now"), "{err}");
    let (list, _) = ok(&["stores", "list"]);
    let line = line_of(&list, &id).expect("the new store is listed");
    assert_eq!(line[3..], ["live", "Shop", "B"], "{list}");

    let (keys, _) = ok(&["keys", "list", "--store", &id]);
    let prefixes: Vec<&str> = keys
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(prefixes.len(), 2, "{keys}");
    for (key, prefix) in [(&public, prefixes[0]), (&secret, prefixes[1])] {
        assert!(key.starts_with(prefix.trim_end_matches('…')), "{keys}");
    }
    let (extra, err) = ok(&["keys", "create", "--store", &id, "--secret"]);
    let extra = extra.trim().to_owned();
    assert!(
        extra.starts_with("sk_") && err.contains(&id),
        "{extra} {err}"
    );
    let (keys, _) = ok(&["keys", "list", "--store", &id]);
    assert_eq!(keys.lines().count(), 4, "header and three keys: {keys}");
    let (default_keys, _) = ok(&["keys", "list"]);
    assert!(
        !default_keys.contains(&extra[..9]) && !default_keys.contains(&public[..9]),
        "the default store's list holds only its own keys: {default_keys}"
    );
    refused(
        &["keys", "revoke", &extra],
        "no live key of the default store",
    );
    refused(
        &[
            "keys",
            "create",
            "--store",
            "store_AAAAAAAAAAAAAA",
            "--public",
        ],
        "no store",
    );
    refused(&["keys", "list", "--store", "nope"], "no store");

    // The keys work on a server, which also deletes the store (the API is the only way).
    let port = database::free_port();
    let bind = format!("127.0.0.1:{port}");
    let admin = "ak_test_cliclicliclicli";
    let mut served = Served::start(command(
        dir.path(),
        &[
            ("PATRON_BIND", bind.as_str()),
            ("PATRON_DATABASE_URL", db.env_url()),
            ("PATRON_ADMIN_KEY", admin),
            // Keys of its own, so that the first start makes none for the default store.
            ("PATRON_PUBLIC_KEY", "pk_test_cliclicliclicli"),
            ("PATRON_SECRET_KEY", DEFAULT_SECRET),
            ("PATRON_LOG", "info"),
        ],
    ));
    served.wait_stderr("patron is listening");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{bind}");
    let get = |path: &str, key: &str| {
        let req = client
            .get(format!("{base}{path}"))
            .header("X-Authorization", key);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, merchant) = get("/v1/merchants", &public).await;
    assert_eq!(
        (status, merchant["id"].as_str()),
        (200, Some(id.as_str())),
        "{merchant}"
    );
    let (status, _) = get("/v1/customers", &extra).await;
    assert_eq!(status, 200, "the key made by keys create --store works");
    let create_customer = |key: &str| {
        let req = client
            .post(format!("{base}/v1/customers"))
            .header("X-Authorization", key)
            .json(&serde_json::json!({"email": "same@example.com"}));
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 201);
            let body: serde_json::Value = res.json().await.unwrap();
            body["id"].as_str().unwrap().to_owned()
        }
    };
    create_customer(&secret).await;
    let kept = create_customer(DEFAULT_SECRET).await;

    let (revoked, _) = ok(&["keys", "revoke", "--store", &id, &extra]);
    assert!(revoked.starts_with("revoked key_"), "{revoked}");
    let (status, _) = get("/v1/customers", &extra).await;
    assert_eq!(status, 401, "revoked through --store");

    refused(&["stores", "purge", &id], "is live: delete it first");
    refused(
        &["stores", "purge", "store_default0000000"],
        "default store cannot be purged",
    );
    refused(&["stores", "purge", "store_AAAAAAAAAAAAAA"], "no store");
    let deleted = client
        .delete(format!("{base}/v1/stores/{id}"))
        .header("X-Authorization", admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let (list, _) = ok(&["stores", "list"]);
    assert_eq!(
        line_of(&list, &id).expect("still listed")[3],
        "deleted",
        "{list}"
    );
    refused(
        &["keys", "create", "--store", &id, "--public"],
        "is deleted",
    );

    let (purged, _) = ok(&["stores", "purge", &id]);
    assert!(
        purged.contains(&id) && purged.contains("1 customer"),
        "{purged}"
    );
    let (list, _) = ok(&["stores", "list"]);
    assert!(
        line_of(&list, &id).is_none(),
        "purged: gone from the list: {list}"
    );
    assert!(line_of(&list, "store_default0000000").is_some(), "{list}");
    let (keys, _) = ok(&["keys", "list", "--store", "store_default0000000"]);
    assert_eq!(keys, default_keys, "the default store is untouched");
    let (status, customer) = get(&format!("/v1/customers/{kept}"), DEFAULT_SECRET).await;
    assert_eq!(
        status, 200,
        "the default store's customer of the same email stays: {customer}"
    );
    refused(&["stores", "purge", &id], "no store");
}

const DEFAULT_SECRET: &str = "sk_test_cliclicliclicli";

#[test]
fn store_command_mistakes_are_named_before_the_usage() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            &["stores", "create"][..],
            "stores create needs --name <name>",
        ),
        (
            &["stores", "create", "--name"],
            "stores create needs --name <name>",
        ),
        (&["stores", "purge"], "stores purge needs the id"),
        (&["stores", "frob"], "unknown stores command \"frob\""),
        (&["keys", "list", "--store"], "--store needs a store id"),
        (
            &["keys", "list", "--store", "a", "--store", "b"],
            "--store is given twice",
        ),
        (
            &["keys", "create", "--store", "store_AAAAAAAAAAAAAA"],
            "keys create",
        ),
        (
            &["keys", "list", "extra"],
            "unexpected arguments after \"keys list\"",
        ),
    ] {
        let out = run(dir.path(), &[], args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!("patron: {needle}")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("Usage:") && err.contains("stores purge <id>"),
            "{err}"
        );
    }
    assert!(
        !dir.path().join("patron.db").exists(),
        "a mistake stops before any database is opened"
    );
}
