//! Configuration, read once from the environment at start into one typed struct.
//!
//! Every setting is documented in the README's configuration table; keep the two in step.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::secrets::SecretsKey;

mod redact;
use redact::url_credentials;
pub use redact::{redacted_url, Redact};

/// Where the data lives. The scheme decides the backend; nothing is guessed.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// Everything after `sqlite://` is the file path, so `sqlite:///var/lib/patron.db` is absolute.
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let raw = raw.trim();
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(ConfigError::invalid(
                    "PATRON_DATABASE_URL",
                    "sqlite:// needs a file path, e.g. sqlite://patron.db",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        let scheme = raw.split("://").next().unwrap_or(raw);
        Err(ConfigError::invalid(
            "PATRON_DATABASE_URL",
            format!("unknown scheme {scheme:?}: use sqlite://<path> or postgres://..."),
        ))
    }

    /// `message` (a driver's error) with every credential of this URL replaced by `***`:
    /// libpq quotes parts of the URL it cannot read, a malformed password included.
    pub fn scrub(&self, message: &str) -> String {
        let DatabaseUrl::Postgres(url) = self else {
            return message.to_owned();
        };
        let mut secrets = url_credentials(url);
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(message.to_owned(), |m, secret| {
                m.replace(secret.as_str(), "***")
            })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

/// Shown without credentials, so the URL can go into logs and error messages.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&redacted_url(url, Redact::Password)),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An origin a magic link may point at: scheme, host and optional port. A `*` port matches any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin {
    pub scheme: String,
    pub host: String,
    /// `None` means "any port" (`http://localhost:*`).
    pub port: Option<u16>,
}

impl AllowedOrigin {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim().trim_end_matches('/');
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| format!("{raw:?} is not an origin like https://shop.example"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{raw:?}: only http and https origins are allowed"));
        }
        if rest.contains('/') || rest.contains('?') || rest.contains('#') || rest.contains('@') {
            return Err(format!(
                "{raw:?}: an origin has no path, query or user part"
            ));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, "*")) => (host.to_owned(), None),
            Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("{raw:?}: bad port {port:?}"))?;
                (host.to_owned(), Some(port))
            }
            _ => (
                rest.to_owned(),
                Some(if scheme == "https" { 443 } else { 80 }),
            ),
        };
        if host.is_empty() {
            return Err(format!("{raw:?}: missing host"));
        }
        Ok(AllowedOrigin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    pub fn matches(&self, url: &url::Url) -> bool {
        let host = match url.host_str() {
            Some(h) => h.to_ascii_lowercase(),
            None => return false,
        };
        url.scheme() == self.scheme
            && host == self.host
            && match self.port {
                None => true,
                Some(p) => url.port_or_known_default() == Some(p),
            }
    }
}

/// A network (address and prefix length) whose peers may set `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl TrustedProxy {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{raw:?} is not an IP address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?}: bad prefix length"))?,
            None => max,
        };
        Ok(TrustedProxy { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Per-client-IP request limits, each counted over one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub email_token_per_minute: u32,
    pub exchange_per_minute: u32,
    pub login_per_minute: u32,
    /// Per email address: this many links a minute (default 1) and `email_per_hour` an hour.
    pub email_per_minute: u32,
    pub email_per_hour: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            // A storefront server asks for all its shoppers from one address: generous defaults
            // that a busy shop does not meet; per-address limits and lockouts stop abuse.
            email_token_per_minute: 120,
            exchange_per_minute: 300,
            login_per_minute: 300,
            email_per_minute: 1,
            email_per_hour: 5,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    /// The URL clients reach patron at (`PATRON_PUBLIC_URL`): the base of every absolute link
    /// patron makes to itself, never the request's `Host`. Unset, the server fills it in with
    /// `http://` and the address it bound.
    pub public_url: Option<url::Url>,
    pub database_url: DatabaseUrl,
    pub database_pool_size: u32,
    pub database_timeout: Duration,
    pub public_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    /// The operator's key for `/v1/stores` (`PATRON_ADMIN_KEY`, `ak_...`); unset, the store API
    /// answers 404.
    pub admin_key: Option<Secret>,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Origins a magic link may point at; empty means loopback only.
    pub link_origins: Vec<AllowedOrigin>,
    pub login_token_ttl: Duration,
    pub jwt_ttl: Duration,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub smtp_url: Option<Secret>,
    /// Encrypts the JWT signing keys in the database; `None` stores them in clear.
    pub secrets_key: Option<SecretsKey>,
    pub mail_from: String,
    pub mail_subject: String,
    pub mail_max_attempts: i32,
    /// The first retry waits this long; each next one twice as long, up to `mail_retry_max`.
    pub mail_retry_base: Duration,
    pub mail_retry_max: Duration,
    /// How long a worker holds a claimed message before another may take it over (a worker
    /// that died mid-send); longer than any SMTP exchange.
    pub mail_lease: Duration,
    /// How often an idle mail worker looks for queued messages.
    pub mail_poll_interval: Duration,
    pub rate_limits: RateLimits,
    pub trusted_proxies: Vec<TrustedProxy>,
    pub cors_origins: Vec<String>,
    /// The first lockout after 10 failed password logins lasts this long; each next one twice
    /// as long, at most a day.
    pub lockout_base: Duration,
    /// Generated order references look like `ORD-7K2M9QXA`.
    pub order_reference_prefix: String,
    /// Number of HTTP worker threads; `None` uses one per core.
    pub workers: Option<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error in {name}: {message}")]
pub struct ConfigError {
    pub name: &'static str,
    pub message: String,
}

impl ConfigError {
    fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            name,
            message: message.into(),
        }
    }
}

/// Two connections per CPU core, plus one. More connections than the cores can drive only
/// queue inside the database and the scheduler: on the 2-core benchmark machine a pool of 10
/// gave the same throughput as 5 with a p99 of 14–30 ms instead of 9 ms (bench/RESULTS.md).
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    u32::try_from(cores.saturating_mul(2).saturating_add(1)).unwrap_or(u32::MAX)
}

impl Config {
    /// The defaults: what `cargo run` with no configuration uses.
    pub fn defaults() -> Self {
        Config {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: DatabaseUrl::Sqlite(PathBuf::from("patron.db")),
            database_pool_size: default_pool_size(),
            database_timeout: Duration::from_secs(5),
            public_key: None,
            secret_key: None,
            admin_key: None,
            max_body_bytes: 256 * 1024,
            link_origins: Vec::new(),
            login_token_ttl: Duration::from_secs(900),
            jwt_ttl: Duration::from_secs(86_400),
            jwt_issuer: "patron".into(),
            jwt_audience: "patron".into(),
            smtp_url: None,
            secrets_key: None,
            mail_from: "patron <no-reply@localhost>".into(),
            mail_subject: "Your login link".into(),
            mail_max_attempts: 20,
            mail_retry_base: Duration::from_secs(1),
            mail_retry_max: Duration::from_secs(60),
            mail_poll_interval: Duration::from_secs(1),
            mail_lease: Duration::from_secs(60),
            rate_limits: RateLimits::default(),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            order_reference_prefix: "ORD".into(),
            lockout_base: Duration::from_secs(900),
            workers: None,
        }
    }

    /// Reads the process environment (after a `.env` file, if the caller loaded one).
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("PATRON_"))
            .collect();
        Self::from_vars(&vars)
    }

    /// Builds the configuration from `PATRON_*` variables; an empty value counts as unset.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let mut c = Config::defaults();
        if let Some(v) = get("PATRON_BIND") {
            c.bind = bind_address(&v)?;
        }
        if let Some(v) = get("PATRON_PUBLIC_URL") {
            c.public_url = Some(public_url(&v)?);
        }
        if let Some(v) = get("PATRON_DATABASE_URL") {
            c.database_url = DatabaseUrl::parse(&v)?;
        }
        c.database_pool_size = number(&get, "PATRON_DATABASE_POOL_SIZE", c.database_pool_size)?;
        if c.database_pool_size == 0 {
            return Err(ConfigError::invalid(
                "PATRON_DATABASE_POOL_SIZE",
                "must be at least 1",
            ));
        }
        c.database_timeout = seconds(&get, "PATRON_DATABASE_TIMEOUT", c.database_timeout)?;
        c.public_key = api_key(&get, "PATRON_PUBLIC_KEY", "pk_")?;
        c.secret_key = api_key(&get, "PATRON_SECRET_KEY", "sk_")?;
        c.admin_key = api_key(&get, "PATRON_ADMIN_KEY", "ak_")?;
        c.max_body_bytes = number(&get, "PATRON_MAX_BODY_BYTES", c.max_body_bytes)?;
        if let Some(v) = get("PATRON_LINK_ORIGINS") {
            c.link_origins = list(&v)
                .map(AllowedOrigin::parse)
                .collect::<Result<_, _>>()
                .map_err(|m| ConfigError::invalid("PATRON_LINK_ORIGINS", m))?;
        }
        c.login_token_ttl = seconds(&get, "PATRON_LOGIN_TOKEN_TTL", c.login_token_ttl)?;
        c.jwt_ttl = seconds(&get, "PATRON_JWT_TTL", c.jwt_ttl)?;
        for (name, ttl) in [
            ("PATRON_LOGIN_TOKEN_TTL", c.login_token_ttl),
            ("PATRON_JWT_TTL", c.jwt_ttl),
        ] {
            if ttl.is_zero() {
                return Err(ConfigError::invalid(name, "must be at least 1 second"));
            }
        }
        if let Some(v) = get("PATRON_JWT_ISSUER") {
            c.jwt_issuer = v;
        }
        if let Some(v) = get("PATRON_JWT_AUDIENCE") {
            c.jwt_audience = v;
        }
        if let Some(v) = get("PATRON_SMTP_URL") {
            if !(v.starts_with("smtp://") || v.starts_with("smtps://")) {
                return Err(ConfigError::invalid(
                    "PATRON_SMTP_URL",
                    "must start with smtp:// or smtps://",
                ));
            }
            c.smtp_url = Some(Secret::new(v));
        }
        if let Some(v) = get("PATRON_SECRETS_KEY") {
            c.secrets_key = Some(
                SecretsKey::parse(&v)
                    .map_err(|e| ConfigError::invalid("PATRON_SECRETS_KEY", e.to_string()))?,
            );
        }
        if let Some(v) = get("PATRON_MAIL_FROM") {
            if v.parse::<lettre::message::Mailbox>().is_err() {
                return Err(ConfigError::invalid(
                    "PATRON_MAIL_FROM",
                    "must be an address like \"Shop <no-reply@shop.example>\"",
                ));
            }
            c.mail_from = v;
        }
        if let Some(v) = get("PATRON_MAIL_SUBJECT") {
            c.mail_subject = v;
        }
        c.mail_max_attempts = number(&get, "PATRON_MAIL_MAX_ATTEMPTS", c.mail_max_attempts)?;
        if c.mail_max_attempts < 1 {
            return Err(ConfigError::invalid(
                "PATRON_MAIL_MAX_ATTEMPTS",
                "must be at least 1",
            ));
        }
        c.mail_retry_base = Duration::from_millis(number(
            &get,
            "PATRON_MAIL_RETRY_BASE_MS",
            c.mail_retry_base.as_millis() as u64,
        )?);
        c.mail_retry_max = Duration::from_millis(number(
            &get,
            "PATRON_MAIL_RETRY_MAX_MS",
            c.mail_retry_max.as_millis() as u64,
        )?);
        c.mail_lease = seconds(&get, "PATRON_MAIL_LEASE_SECONDS", c.mail_lease)?;
        if c.mail_lease < Duration::from_secs(2) {
            return Err(ConfigError::invalid(
                "PATRON_MAIL_LEASE_SECONDS",
                "must be at least 2 seconds",
            ));
        }
        let poll_ms = number(
            &get,
            "PATRON_MAIL_POLL_MS",
            c.mail_poll_interval.as_millis() as u64,
        )?;
        c.mail_poll_interval = Duration::from_millis(poll_ms.max(10));
        let r = &mut c.rate_limits;
        r.email_token_per_minute = number(
            &get,
            "PATRON_RATE_LIMIT_EMAIL_TOKEN_PER_MINUTE",
            r.email_token_per_minute,
        )?;
        r.exchange_per_minute = number(
            &get,
            "PATRON_RATE_LIMIT_EXCHANGE_PER_MINUTE",
            r.exchange_per_minute,
        )?;
        r.login_per_minute = number(
            &get,
            "PATRON_RATE_LIMIT_LOGIN_PER_MINUTE",
            r.login_per_minute,
        )?;
        r.email_per_minute = number(
            &get,
            "PATRON_RATE_LIMIT_EMAIL_PER_MINUTE",
            r.email_per_minute,
        )?;
        r.email_per_hour = number(&get, "PATRON_RATE_LIMIT_EMAIL_PER_HOUR", r.email_per_hour)?;
        if let Some(v) = get("PATRON_TRUSTED_PROXIES") {
            c.trusted_proxies = list(&v)
                .map(TrustedProxy::parse)
                .collect::<Result<_, _>>()
                .map_err(|m| ConfigError::invalid("PATRON_TRUSTED_PROXIES", m))?;
        }
        if let Some(v) = get("PATRON_CORS_ORIGINS") {
            c.cors_origins = list(&v)
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect();
        }
        c.lockout_base = seconds(&get, "PATRON_LOGIN_LOCKOUT_SECONDS", c.lockout_base)?;
        if c.lockout_base.is_zero() {
            return Err(ConfigError::invalid(
                "PATRON_LOGIN_LOCKOUT_SECONDS",
                "must be at least 1 second",
            ));
        }
        if let Some(v) = get("PATRON_ORDER_REFERENCE_PREFIX") {
            if v.len() > 16 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ConfigError::invalid(
                    "PATRON_ORDER_REFERENCE_PREFIX",
                    "must be 1 to 16 letters or digits",
                ));
            }
            c.order_reference_prefix = v;
        }
        if let Some(v) = get("PATRON_WORKERS") {
            let n: usize = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::invalid("PATRON_WORKERS", "must be a positive number")
            })?;
            c.workers = Some(n);
        }
        Ok(c)
    }
}

/// `host:port`, checked here so that a bare port or a typo is named at start, not reported as
/// a failure to listen.
fn bind_address(raw: &str) -> Result<String, ConfigError> {
    let valid = match raw.rsplit_once(':') {
        Some((host, port)) => {
            let inner = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
            let host_ok = match inner {
                Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
                None => {
                    !host.is_empty()
                        && !host.contains([':', '[', ']', '/'])
                        && !host.contains(char::is_whitespace)
                }
            };
            host_ok && port.parse::<u16>().is_ok()
        }
        None => false,
    };
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ConfigError::invalid(
            "PATRON_BIND",
            format!(
                "{raw:?} is not an address to listen on: use host:port, like 127.0.0.1:8080, 0.0.0.0:8080 or [::]:8080"
            ),
        ))
    }
}

/// An absolute http(s) URL without query, fragment or credentials; a trailing `/` is dropped
/// so that paths join with one slash.
fn public_url(raw: &str) -> Result<url::Url, ConfigError> {
    let invalid = |why: &str| {
        ConfigError::invalid(
            "PATRON_PUBLIC_URL",
            format!(
                "{raw:?} {why}: use the URL clients reach patron at, like https://id.shop.example"
            ),
        )
    };
    let mut url = url::Url::parse(raw).map_err(|_| invalid("is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(
            "must start with http:// or https:// and name a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("may not have a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("may not carry a user name or password"));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

fn list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ConfigError::invalid(name, format!("{v:?} is not a valid number"))),
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    number(get, name, default.as_secs()).map(Duration::from_secs)
}

fn api_key(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    prefix: &str,
) -> Result<Option<Secret>, ConfigError> {
    match get(name) {
        None => Ok(None),
        Some(v) if v.starts_with(prefix) && v.len() >= prefix.len() + 8 => Ok(Some(Secret::new(v))),
        Some(_) => Err(ConfigError::invalid(
            name,
            format!("must start with {prefix} followed by at least 8 characters"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_serve_loopback_with_sqlite_file() {
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database_url, DatabaseUrl::Sqlite("patron.db".into()));
        assert_eq!(c.login_token_ttl, Duration::from_secs(900));
        assert_eq!(c.jwt_ttl, Duration::from_secs(86_400));
    }

    #[test]
    fn sqlite_url_keeps_everything_after_scheme_as_path() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/patron.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/patron.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/p.db").unwrap(),
            DatabaseUrl::Sqlite("data/p.db".into())
        );
    }

    #[test]
    fn unknown_scheme_is_named_in_the_error() {
        let err = Config::from_vars(&vars(&[("PATRON_DATABASE_URL", "mysql://x/y")])).unwrap_err();
        assert_eq!(err.name, "PATRON_DATABASE_URL");
        assert!(err.message.contains("mysql"), "{err}");
    }

    #[test]
    fn postgres_password_is_hidden_when_shown() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@db:5432/p").unwrap();
        let shown = format!("{url}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db:5432"));
    }

    #[test]
    fn every_credential_form_of_a_database_url_is_hidden() {
        for raw in [
            "postgres://u:hunter2@db:5432/p",
            "postgresql://u:hunter2@db/p?sslmode=require",
            "postgres://u@db/p?password=hunter2",
            "postgres://u@db/p?sslmode=require&PASSWORD=hunter2&application_name=x",
            "postgres://u@db/p?Password=hunter2",
            "postgres://u@db/p?pass%77ord=hunter2",
            "postgres://u@db/p?sslkey=/k.pem&sslpassword=hunter2",
            "postgres://u@db/p?SSLPassword=hunter2",
            "postgres:///p?host=/var/run/postgresql&password=hunter2",
            "postgres://u:hun%74er2@db/p?password=hunter2&password=hunter2",
            "postgres://u:hunter2@[::1",
        ] {
            let url = DatabaseUrl::parse(raw).unwrap();
            for shown in [format!("{url}"), format!("{url:?}")] {
                assert!(
                    !shown.contains("hunter2") && !shown.contains("hun%74er2"),
                    "{raw} shown as {shown}"
                );
            }
        }
        let shown = DatabaseUrl::parse("postgres://u:pw@db/p?sslmode=require&password=pw")
            .unwrap()
            .to_string();
        assert_eq!(shown, "postgres://u:***@db/p?sslmode=require&password=***");
        let config = Config::from_vars(&vars(&[(
            "PATRON_DATABASE_URL",
            "postgres://u@db/p?password=hunter2",
        )]))
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn driver_messages_lose_the_credentials_they_quote() {
        let url = DatabaseUrl::parse("postgres://u:pw%zz@db/p?sslpassword=key%2Bpass").unwrap();
        assert_eq!(
            url.scrub(r#"invalid percent-encoded token: "pw%zz"; key+pass; key%2Bpass"#),
            r#"invalid percent-encoded token: "***"; ***; ***"#
        );
        let url = DatabaseUrl::parse("postgres://u@db/p?PASSWORD=hunter%zz").unwrap();
        assert_eq!(
            url.scrub("invalid percent-encoded token: \"hunter%zz\""),
            "invalid percent-encoded token: \"***\""
        );
        let sqlite = DatabaseUrl::parse("sqlite://a.db").unwrap();
        assert_eq!(sqlite.scrub("unable to open a.db"), "unable to open a.db");
    }

    #[test]
    fn smtp_credentials_are_hidden_when_shown() {
        for raw in [
            "smtp://user:hunter2@mail.example:587?tls=required",
            "smtps://apikey:hunter2@mail.example",
            "smtp://hunter2:hunter2@mail.example",
            "smtp://hunter2@mail.example",
        ] {
            let shown = redacted_url(raw, Redact::UserAndPassword);
            assert!(!shown.contains("hunter2"), "{raw} shown as {shown}");
            assert!(shown.contains("mail.example"), "{shown}");
        }
        assert_eq!(
            redacted_url(
                "smtp://user:pw@mail.example:587?tls=required",
                Redact::UserAndPassword
            ),
            "smtp://***:***@mail.example:587?tls=required"
        );
        assert_eq!(
            redacted_url("smtp://mail.example:25", Redact::UserAndPassword),
            "smtp://mail.example:25"
        );
        assert_eq!(
            redacted_url("smtp://u:hunter2@exa mple", Redact::UserAndPassword),
            "smtp://<unparseable>"
        );
        let config = Config::from_vars(&vars(&[(
            "PATRON_SMTP_URL",
            "smtp://user:hunter2@mail.example",
        )]))
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn the_secrets_key_is_32_bytes_in_base64_and_never_shown() {
        let key = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=";
        let config = Config::from_vars(&vars(&[("PATRON_SECRETS_KEY", key)])).unwrap();
        assert!(config.secrets_key.is_some());
        assert!(!format!("{config:?}").contains(key));
        assert!(!format!("{config:?}").contains("q83vASNFZ4"));
        let url_safe = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k";
        assert_eq!(
            Config::from_vars(&vars(&[("PATRON_SECRETS_KEY", url_safe)]))
                .unwrap()
                .secrets_key,
            config.secrets_key
        );
        for bad in ["hunter2hunter2", "q83vASNFZ4mrze8BI0VniavN7wEj"] {
            let err = Config::from_vars(&vars(&[("PATRON_SECRETS_KEY", bad)])).unwrap_err();
            assert_eq!(err.name, "PATRON_SECRETS_KEY");
            assert!(err.to_string().contains("openssl rand -base64 32"), "{err}");
            assert!(!err.to_string().contains(bad), "{err}");
        }
        assert!(Config::from_vars(&HashMap::new())
            .unwrap()
            .secrets_key
            .is_none());
    }

    #[test]
    fn bind_must_be_host_and_port() {
        for good in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::]:8080",
            "[::1]:18084",
            "localhost:80",
        ] {
            let c = Config::from_vars(&vars(&[("PATRON_BIND", good)])).unwrap();
            assert_eq!(c.bind, good);
        }
        for bad in [
            "18084",
            ":8080",
            "127.0.0.1",
            "127.0.0.1:http",
            "::1:8080",
            "[::1]",
            "a b:80",
            "127.0.0.1:65536",
        ] {
            let e = Config::from_vars(&vars(&[("PATRON_BIND", bad)])).unwrap_err();
            assert_eq!(e.name, "PATRON_BIND", "{bad}");
            assert!(e.to_string().contains("host:port"), "{bad}: {e}");
        }
    }

    #[test]
    fn public_url_is_an_absolute_http_base() {
        let c = Config::from_vars(&vars(&[(
            "PATRON_PUBLIC_URL",
            "https://id.shop.example/patron/",
        )]))
        .unwrap();
        assert_eq!(
            c.public_url.map(|u| u.to_string()).as_deref(),
            Some("https://id.shop.example/patron")
        );
        assert_eq!(Config::from_vars(&vars(&[])).unwrap().public_url, None);
        for bad in [
            "id.shop.example",
            "ftp://id.shop.example",
            "https://id.shop.example/?a=1",
            "https://u:p@id.shop.example",
            "https://u@id.shop.example",
            "https://:p@id.shop.example",
            "https://id.shop.example/#x",
            "https://id.shop.example/?",
            "/v1",
        ] {
            let e = Config::from_vars(&vars(&[("PATRON_PUBLIC_URL", bad)])).unwrap_err();
            assert_eq!(e.name, "PATRON_PUBLIC_URL", "{bad}");
        }
    }

    #[test]
    fn bad_numbers_and_keys_are_refused() {
        assert!(Config::from_vars(&vars(&[("PATRON_LOGIN_TOKEN_TTL", "soon")])).is_err());
        assert!(Config::from_vars(&vars(&[("PATRON_JWT_TTL", "0")])).is_err());
        assert!(Config::from_vars(&vars(&[("PATRON_SECRET_KEY", "pk_abcdefghij")])).is_err());
        assert!(Config::from_vars(&vars(&[("PATRON_ADMIN_KEY", "sk_abcdefghij")])).is_err());
        let admin = Config::from_vars(&vars(&[("PATRON_ADMIN_KEY", "ak_abcdefghij")])).unwrap();
        assert_eq!(
            admin.admin_key.map(|k| k.expose().to_owned()).as_deref(),
            Some("ak_abcdefghij")
        );
        let c = Config::from_vars(&vars(&[("PATRON_SECRET_KEY", "sk_test_abcdefgh")])).unwrap();
        assert_eq!(c.secret_key.unwrap().expose(), "sk_test_abcdefgh");
    }

    #[test]
    fn origins_match_scheme_host_and_port() {
        let any_port = AllowedOrigin::parse("http://localhost:*").unwrap();
        let shop = AllowedOrigin::parse("https://shop.example").unwrap();
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(any_port.matches(&u("http://localhost:3000/login")));
        assert!(!any_port.matches(&u("https://localhost:3000/login")));
        assert!(shop.matches(&u("https://shop.example/a?token={token}")));
        assert!(shop.matches(&u("https://SHOP.example:443/a")));
        assert!(!shop.matches(&u("https://shop.example:8443/a")));
        assert!(!shop.matches(&u("https://shop.example.evil.test/a")));
        assert!(AllowedOrigin::parse("ftp://x").is_err());
        assert!(AllowedOrigin::parse("https://x/path").is_err());
    }

    #[test]
    fn trusted_proxy_cidr_contains() {
        let net = TrustedProxy::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.1.2.3".parse().unwrap()));
        let one = TrustedProxy::parse("::1").unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        assert!(TrustedProxy::parse("10.0.0.0/40").is_err());
    }
}
