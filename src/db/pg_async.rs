//! The reads on every customer request (the session check, which also reads the customer, and
//! the customer's own order list), sent to PostgreSQL without leaving the HTTP worker's thread.
//!
//! Diesel's connections block, so each query through `Db::run` hops to a blocking thread and
//! back: two thread wake-ups per request on top of the database's own, and on the 2-core
//! benchmark machine the scheduler was the largest item in patron's profile. Here each HTTP
//! worker thread keeps one asynchronous connection of its own, and the requests it serves share
//! it: their queries are pipelined on the one socket, so under load PostgreSQL reads several per
//! wake-up and the worker reads several answers per `epoll` return.
//!
//! TLS follows libpq's `sslmode` as far as tokio-postgres understands it: `disable` is plain,
//! `prefer` (the default) encrypts when the server offers TLS, `require` insists; like libpq
//! without a root certificate, neither checks the server's certificate. A URL tokio-postgres
//! cannot read (`verify-ca`, `verify-full`, `sslrootcert`, client certificates, any other
//! libpq-only setting) keeps every query on Diesel's libpq connections, and so does a start
//! where this path cannot connect although libpq could.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use diesel::pg::Pg;
use diesel::query_builder::QueryFragment;

use super::customers::CustomerRow;
use super::orders::{OrderRow, SortColumn};
use super::{orders, sessions, DbError};

/// The statements this path sends, each prepared once on every connection. Their SQL is
/// Diesel's (`sql_text`), written next to the Diesel query it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    LiveCustomer,
    CustomerOrderCount,
    CustomerOrderPage(SortColumn, bool),
}

impl Read {
    const ALL: [Read; 6] = [
        Read::LiveCustomer,
        Read::CustomerOrderCount,
        Read::CustomerOrderPage(SortColumn::CreatedAt, false),
        Read::CustomerOrderPage(SortColumn::CreatedAt, true),
        Read::CustomerOrderPage(SortColumn::UpdatedAt, false),
        Read::CustomerOrderPage(SortColumn::UpdatedAt, true),
    ];

    /// Its place in `ALL`, and so in every connection's prepared statements.
    fn index(self) -> usize {
        match self {
            Read::LiveCustomer => 0,
            Read::CustomerOrderCount => 1,
            Read::CustomerOrderPage(sort, descending) => {
                let sort = match sort {
                    SortColumn::CreatedAt => 0,
                    SortColumn::UpdatedAt => 2,
                };
                2 + sort + usize::from(descending)
            }
        }
    }

    fn sql(self) -> String {
        match self {
            Read::LiveCustomer => sessions::live_customer_sql(),
            Read::CustomerOrderCount => orders::customer_count_sql(),
            Read::CustomerOrderPage(sort, descending) => {
                orders::customer_page_sql(sort, descending)
            }
        }
    }
}

/// A Diesel query's SQL as PostgreSQL receives it (parameters `$1`, `$2`, ...).
pub fn sql_text<T: QueryFragment<Pg>>(query: &T) -> String {
    let shown = diesel::debug_query::<Pg, _>(query).to_string();
    match shown.split_once(" -- binds:") {
        Some((sql, _)) => sql.to_owned(),
        None => shown,
    }
}

/// Distinguishes the readers of one process (tests run several servers on several databases),
/// so a worker thread never answers one server's request on another's connection.
static NEXT_READER: AtomicU64 = AtomicU64::new(0);

/// A worker thread's connection and the statements prepared on it, in `Read::ALL`'s order.
struct Conn {
    client: Client,
    statements: Vec<Statement>,
}

thread_local! {
    static CONNS: RefCell<HashMap<u64, Rc<Conn>>> = RefCell::new(HashMap::new());
    /// One connection attempt at a time per thread and reader: after a database restart the
    /// requests waiting on a worker share the one new connection.
    static CONNECTING: RefCell<HashMap<u64, Rc<tokio::sync::Mutex<()>>>> =
        RefCell::new(HashMap::new());
}

#[derive(Clone)]
pub struct PgReader {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    timeout: Duration,
    /// `Read::ALL`'s SQL, made once.
    sql: Vec<String>,
}

impl std::fmt::Debug for PgReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgReader")
            .field("id", &self.inner.id)
            .finish()
    }
}

/// Environment variables libpq reads for a connection and tokio-postgres does not. With any of
/// them set the two would connect differently (`PGSSLMODE=verify-full`, say, which only libpq
/// would honour), so these reads stay on Diesel.
const LIBPQ_ENVIRONMENT: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGSSLMODE",
    "PGREQUIRESSL",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLCERTMODE",
    "PGSSLROOTCERT",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLSNI",
    "PGREQUIREPEER",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGSSLNEGOTIATION",
    "PGGSSENCMODE",
    "PGCHANNELBINDING",
    "PGREQUIREAUTH",
    "PGCONNECT_TIMEOUT",
    "PGCLIENTENCODING",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
];

/// What libpq would find beside the URL: a variable from `LIBPQ_ENVIRONMENT`, or a root
/// certificate in `~/.postgresql/root.crt`, with which libpq checks the server's certificate
/// even under `prefer` and `require`.
fn libpq_would_differ() -> bool {
    let set = |name: &&str| std::env::var_os(name).is_some();
    let root_cert = std::env::var_os("HOME")
        .map(|home| std::path::Path::new(&home).join(".postgresql/root.crt"))
        .is_some_and(|path| path.exists());
    LIBPQ_ENVIRONMENT.iter().any(set) || root_cert
}

/// `url` as tokio-postgres reads it, where it means what it means to libpq. A URL without a
/// user is left to libpq, which would take the operating system user's name.
fn async_config(url: &str, libpq_would_differ: bool) -> Option<tokio_postgres::Config> {
    if libpq_would_differ {
        return None;
    }
    let config = tokio_postgres::Config::from_str(url).ok()?;
    config.get_user().is_some().then_some(config)
}

/// The certificate check libpq makes under `prefer` and `require` without a root
/// certificate: none of the chain, but the handshake's signatures are still verified.
#[derive(Debug)]
struct UnverifiedServer(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for UnverifiedServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn tls() -> Option<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = UnverifiedServer(provider.signature_verification_algorithms);
    let config = rustls::ClientConfig::builder_with_provider(provider as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Some(MakeRustlsConnect::new(config))
}

impl PgReader {
    /// A reader for `url`, or `None` where it must not or cannot be used (see the module
    /// documentation).
    pub fn new(url: &str, timeout: Duration) -> Option<PgReader> {
        let config = async_config(url, libpq_would_differ())?;
        Some(PgReader {
            inner: Arc::new(Inner {
                id: NEXT_READER.fetch_add(1, Ordering::Relaxed),
                config,
                tls: tls()?,
                timeout,
                sql: Read::ALL.iter().map(|r| r.sql()).collect(),
            }),
        })
    }

    /// Connects once, to find out at start whether this path works here (a password that
    /// libpq would find in `~/.pgpass`, say, is unknown to tokio-postgres). Returns whether the
    /// connection is encrypted, for the log.
    pub async fn check(&self) -> Result<bool, DbError> {
        let conn = self.connect().await?;
        let row = tokio::time::timeout(
            self.inner.timeout,
            conn.client.query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            ),
        )
        .await
        .map_err(|_| DbError::Unavailable("timed out waiting for PostgreSQL".into()))??;
        Ok(row.try_get(0)?)
    }

    async fn connect(&self) -> Result<Conn, DbError> {
        let connecting = async {
            let (client, connection) = self.inner.config.connect(self.inner.tls.clone()).await?;
            // Runs on this thread's runtime, which is the worker's own; it ends when the
            // client is dropped or the server goes away.
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "asynchronous PostgreSQL connection ended");
                }
            });
            let statements = futures_util::future::try_join_all(
                self.inner.sql.iter().map(|sql| client.prepare(sql)),
            )
            .await?;
            Ok::<_, tokio_postgres::Error>(Conn { client, statements })
        };
        tokio::time::timeout(self.inner.timeout, connecting)
            .await
            .map_err(|_| DbError::Unavailable("timed out connecting to PostgreSQL".into()))?
            .map_err(DbError::from)
    }

    fn cached(&self) -> Option<Rc<Conn>> {
        let id = self.inner.id;
        CONNS
            .with(|c| c.borrow().get(&id).cloned())
            .filter(|conn| !conn.client.is_closed())
    }

    fn forget(&self, conn: &Rc<Conn>) {
        let id = self.inner.id;
        CONNS.with(|c| {
            let mut c = c.borrow_mut();
            if c.get(&id).is_some_and(|held| Rc::ptr_eq(held, conn)) {
                c.remove(&id);
            }
        });
    }

    /// This thread's connection, and whether it was made just now.
    async fn conn(&self) -> Result<(Rc<Conn>, bool), DbError> {
        if let Some(conn) = self.cached() {
            return Ok((conn, false));
        }
        let id = self.inner.id;
        let gate = CONNECTING.with(|g| g.borrow_mut().entry(id).or_default().clone());
        let _turn = tokio::time::timeout(self.inner.timeout, gate.lock())
            .await
            .map_err(|_| DbError::Unavailable("timed out waiting for a connection".into()))?;
        if let Some(conn) = self.cached() {
            return Ok((conn, false));
        }
        let conn = Rc::new(self.connect().await?);
        CONNS.with(|c| c.borrow_mut().insert(id, conn.clone()));
        Ok((conn, true))
    }

    /// The rows of one read. A read is safe to send twice, so one that meets a kept
    /// connection the server has since closed (a restart, an idle timeout) is sent again, once,
    /// on a new one.
    async fn rows(
        &self,
        read: Read,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, DbError> {
        let (mut conn, mut fresh) = self.conn().await?;
        loop {
            let statement = conn
                .statements
                .get(read.index())
                .ok_or_else(|| DbError::Driver(format!("{read:?} is not prepared")))?;
            let query = conn.client.query(statement, params);
            match tokio::time::timeout(self.inner.timeout, query).await {
                Ok(Ok(rows)) => return Ok(rows),
                Ok(Err(e)) => {
                    let closed = conn.client.is_closed();
                    let e = DbError::from(e);
                    // The server ending the session (a restart, `pg_terminate_backend`) can
                    // answer before this client has seen the socket close: either way the
                    // kept connection is gone, and a read on a new one is safe.
                    let gone = closed || matches!(e, DbError::Unavailable(_));
                    if gone {
                        self.forget(&conn);
                    }
                    if gone && !fresh {
                        (conn, fresh) = self.conn().await?;
                        continue;
                    }
                    return Err(e);
                }
                Err(_) => {
                    // The answer may still come, and everything queued behind it would wait:
                    // start afresh.
                    self.forget(&conn);
                    return Err(DbError::Unavailable(
                        "timed out waiting for PostgreSQL".into(),
                    ));
                }
            }
        }
    }

    /// The customer behind a live session: `sessions::live_customer`, read here.
    pub async fn live_customer(
        &self,
        c: sessions::SessionCheck<'_>,
    ) -> Result<Option<CustomerRow>, DbError> {
        // In the order of the statement's placeholders (see `live_customer_query!`).
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
            [&c.id, &c.customer_id, &c.store, &c.now, &c.kid, &c.now];
        let rows = self.rows(Read::LiveCustomer, &params).await?;
        Ok(rows.first().map(CustomerRow::from_pg).transpose()?)
    }

    /// How many orders the customer has, and the page of them at `offset`: `orders::count`
    /// and `orders::page` for one customer, the two statements pipelined.
    pub async fn customer_orders(
        &self,
        scope: super::scope::Scope<'_>,
        customer_id: &str,
        sort: SortColumn,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<OrderRow>), DbError> {
        let store = scope.id();
        let count_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&store, &customer_id];
        let page_params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&store, &customer_id, &limit, &offset];
        let (count, page) = tokio::try_join!(
            self.rows(Read::CustomerOrderCount, &count_params),
            self.rows(Read::CustomerOrderPage(sort, descending), &page_params),
        )?;
        let total = match count.first() {
            Some(row) => row.try_get(0)?,
            None => 0,
        };
        let page = page
            .iter()
            .map(OrderRow::from_pg)
            .collect::<Result<_, _>>()?;
        Ok((total, page))
    }
}

/// A connection that is gone or a server shutting down is 503; anything else is a fault.
impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        let gone = e.is_closed()
            || e.code().is_some_and(|c| {
                c.code().starts_with("08")
                    || c.code().starts_with("57P")
                    || *c == SqlState::TOO_MANY_CONNECTIONS
                    || *c == SqlState::CANNOT_CONNECT_NOW
            })
            || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        if gone {
            DbError::Unavailable(e.to_string())
        } else {
            DbError::Driver(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_has_its_own_statement() {
        for (i, read) in Read::ALL.iter().enumerate() {
            assert_eq!(read.index(), i, "{read:?}");
        }
        let sql: Vec<String> = Read::ALL.iter().map(|r| r.sql()).collect();
        assert!(
            sql[0].contains("sessions") && sql[0].contains("$5"),
            "{}",
            sql[0]
        );
        assert!(
            sql[1].contains("COUNT") && sql[1].contains("$1"),
            "{}",
            sql[1]
        );
        assert!(
            sql[2].contains("ORDER BY") && sql[2].contains("$3"),
            "{}",
            sql[2]
        );
        let distinct: std::collections::HashSet<&String> = sql.iter().collect();
        assert_eq!(distinct.len(), Read::ALL.len(), "{sql:#?}");
    }

    #[test]
    fn urls_libpq_reads_differently_stay_on_diesel() {
        for url in [
            "postgres://u@db/p",
            "postgres://u@db/p?sslmode=disable",
            "postgres://u@db/p?sslmode=require",
            "postgres://u:pw@db:5433/p?options=-csearch_path%3Dx",
            "host=/var/run/postgresql user=u dbname=p",
        ] {
            assert!(async_config(url, false).is_some(), "{url}");
        }
        for url in [
            // Certificate checks tokio-postgres does not make.
            "postgres://u@db/p?sslmode=verify-ca",
            "postgres://u@db/p?sslmode=verify-full",
            "postgres://u@db/p?sslmode=require&sslrootcert=/ca.pem",
            "postgres://u@db/p?sslcert=/c.pem&sslkey=/k.pem",
            // No user: libpq would take the operating system user's name.
            "postgres://db/p",
        ] {
            assert!(async_config(url, false).is_none(), "{url}");
        }
        // The environment or a root certificate would change what libpq does with any URL.
        assert!(async_config("postgres://u@db/p", true).is_none());
        assert!(async_config("postgres://u@db/p", false).is_some());
    }
}
