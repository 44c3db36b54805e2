//! The test harness: patron served over real HTTP on a random port, with its own database
//! (`TestDb`, from `tests/support/database.rs`).

use patron::clock::TestClock;
use patron::config::{Config, Secret};
use patron::http::AppState;
use patron::startup::Application;
use serde_json::{json, Value};

pub use crate::database::{postgres_url, Backend, TestDb};

pub const PUBLIC_KEY: &str = "pk_test_publicpublicpublic";
pub const SECRET_KEY: &str = "sk_test_secretsecretsecret";

/// Configuration for a test server: random port, known keys, small pool.
pub fn test_config(db: &TestDb) -> Config {
    let mut config = Config::defaults();
    config.bind = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    config.database_pool_size = 4;
    config.public_key = Some(Secret::new(PUBLIC_KEY));
    config.secret_key = Some(Secret::new(SECRET_KEY));
    config.workers = Some(2);
    config.mail_poll_interval = std::time::Duration::from_millis(50);
    config.mail_retry_base = std::time::Duration::from_millis(100);
    config.mail_retry_max = std::time::Duration::from_millis(400);
    config
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub initial_keys: Option<(String, String)>,
    pub db: TestDb,
    /// The server's clock: move it forward rather than sleep through an expiry.
    pub clock: TestClock,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(backend);
        let mut config = test_config(&db);
        adjust(&mut config);
        Self::spawn_on(db, config).await
    }

    pub async fn spawn_on(db: TestDb, config: Config) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            patron::telemetry::init();
        }
        // A day ahead of the system's time: code that reads the system's clock where it should
        // read the server's shows up as a token, session or lock that ends at once or never.
        let clock = TestClock::new();
        clock.advance(std::time::Duration::from_secs(86_400));
        let app = Application::build_with_clock(config, clock.clock())
            .await
            .expect("patron starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let initial_keys = app
            .initial_keys
            .as_ref()
            .map(|(p, s)| (p.key.expose().to_owned(), s.key.expose().to_owned()));
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("http client"),
            state,
            initial_keys,
            db,
            clock,
        }
    }

    /// A server whose mail goes over SMTP to a fresh sink.
    pub async fn spawn_with_mail(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
    ) -> (TestApp, crate::smtp::SmtpSink) {
        let sink = crate::smtp::SmtpSink::start().await;
        let url = sink.url();
        let app = Self::spawn_with(backend, |c| {
            c.smtp_url = Some(Secret::new(url));
            adjust(c);
        })
        .await;
        (app, sink)
    }

    /// Asks for a login link with the public key; returns (status, body text).
    pub async fn email_token(&self, email: &str, base_url: &str) -> (u16, String) {
        let res = self
            .public(reqwest::Method::POST, "/v1/customers/email-token")
            .json(&json!({ "email": email, "base_url": base_url }))
            .send()
            .await
            .expect("request");
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    /// Exchanges a login token with the public key.
    pub async fn exchange(&self, token: &str) -> (u16, Value) {
        let res = self
            .public(reqwest::Method::POST, "/v1/customers/exchange-token")
            .json(&json!({ "token": token }))
            .send()
            .await
            .expect("request");
        status_json(res).await
    }

    /// A request as the customer holding `jwt`, with the header Commerce.js adds.
    pub fn bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        jwt: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("Authorization", format!("Bearer {jwt}"))
            .header("X-Authorization", "undefined")
    }

    /// A customer JWT for `customer_id`, issued with the secret key (no email round trip).
    pub async fn issue_jwt(&self, customer_id: &str) -> String {
        let path = format!("/v1/customers/{customer_id}/issue-token");
        let (status, body) = status_json(
            self.secret(reqwest::Method::POST, &path)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(status, 200, "issue-token: {body}");
        body["jwt"].as_str().expect("jwt").to_owned()
    }

    /// The status of a request as the customer holding `jwt`.
    pub async fn bearer_status(&self, method: reqwest::Method, path: &str, jwt: &str) -> u16 {
        self.bearer(method, path, jwt)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    }

    /// Creates a customer and logs them in by magic link; returns (customer id, jwt).
    pub async fn login(&self, sink: &crate::smtp::SmtpSink, email: &str) -> (String, String) {
        self.create_email(email).await;
        let before = sink.mails_to(email).len();
        let (status, _) = self
            .email_token(email, "http://localhost:3000/login/{token}")
            .await;
        assert_eq!(status, 200);
        let mails = sink
            .wait_for(email, before + 1, std::time::Duration::from_secs(10))
            .await;
        let (status, body) = self.exchange(&mails.last().unwrap().token()).await;
        assert_eq!(status, 200, "{body}");
        (
            body["customer_id"].as_str().unwrap().to_owned(),
            body["jwt"].as_str().unwrap().to_owned(),
        )
    }

    /// Sends bytes as they are (what an HTTP client would refuse to send, or to check what goes
    /// over the wire) and returns the whole answer as text: status line, headers, body.
    pub async fn raw(&self, request: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.address.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("send");
        let mut answer = Vec::new();
        // The server may close without a clean shutdown after refusing the request.
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request with the secret key.
    pub fn secret(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-Authorization", SECRET_KEY)
    }

    pub fn public(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-Authorization", PUBLIC_KEY)
    }

    /// Creates a customer with the secret key and returns its JSON.
    pub async fn create_customer(&self, body: Value) -> Value {
        let res = self
            .secret(reqwest::Method::POST, "/v1/customers")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 201, "creating {body}");
        res.json().await.expect("json")
    }

    pub async fn create_email(&self, email: &str) -> Value {
        self.create_customer(json!({ "email": email })).await
    }

    pub async fn list(&self, query: &str) -> (u16, Value) {
        let res = self
            .secret(reqwest::Method::GET, &format!("/v1/customers{query}"))
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.expect("json"))
    }

    /// Waits until no message in the outbox is queued or being sent (a failed try waiting for
    /// its retry is queued), and returns how many were sent. After that no worker of any
    /// server on this database sends anything more, so mails counted then are final: no
    /// sleeping and hoping that a late duplicate would have arrived by then.
    pub async fn outbox_settled(&self) -> i64 {
        use patron::db::outbox as q;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (waiting, sent) = self
                .state
                .db
                .run(|conn| {
                    let waiting = q::count_with_status(conn, q::QUEUED)?
                        + q::count_with_status(conn, q::SENDING)?;
                    let sent = q::count_with_status(conn, q::SENT)?;
                    Ok::<_, patron::db::DbError>((waiting, sent))
                })
                .await
                .expect("count the outbox");
            if waiting == 0 {
                return sent;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outbox never settled: {waiting} waiting, {sent} sent"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn total_customers(&self) -> u64 {
        let (status, body) = self.list("").await;
        assert_eq!(status, 200);
        body["meta"]["pagination"]["total"].as_u64().expect("total")
    }
}

/// Reads a response as (status, JSON body).
pub async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, body)
}

/// Asserts Chec's error envelope with our extensions.
pub fn assert_error(body: &Value, status: u16, kind: &str, code: &str) {
    assert_eq!(body["status_code"], status, "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["error"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{body}"
    );
}

/// A TCP forwarder in front of a server, which a test can cut and restore to simulate an
/// outage of what is behind it.
pub struct TcpProxy {
    pub port: u16,
    upstream: std::net::SocketAddr,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl TcpProxy {
    pub async fn start(upstream: std::net::SocketAddr) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let proxy = TcpProxy {
            port,
            upstream,
            tasks: Default::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream;
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every forwarded connection.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen again on {}: {e}", self.port),
            }
        };
        self.serve(listener);
    }
}
