//! Builds the running service: database, migrations, first keys, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{dev::Server, App, HttpServer};

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db, StartupDbError};
use crate::http::{self, AppState};
use crate::mail::outbox::Worker;
use crate::mail::Mailer;
use crate::service::keys::{IssuedKey, KeyError};
use crate::service::sessions::{KeysAtRest, SessionError, SessionService};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] StartupDbError),
    #[error("cannot listen on {addr} (PATRON_BIND): {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot create the first API keys: {0}")]
    Keys(#[from] KeyError),
    #[error("JWT signing keys: {0}")]
    SigningKeys(#[from] SessionError),
    #[error("mail: {0}")]
    Mail(String),
    #[error("startup task failed: {0}")]
    Task(String),
}

pub struct Application {
    address: std::net::SocketAddr,
    server: Server,
    state: AppState,
    worker: actix_web::rt::task::JoinHandle<()>,
    stop_worker: tokio::sync::watch::Sender<bool>,
    /// The key pair made on the very first start, to be shown once.
    pub initial_keys: Option<(IssuedKey, IssuedKey)>,
}

/// Connects and migrates on a blocking thread (Diesel is synchronous).
pub async fn open_database(config: &Config) -> Result<Db, StartupError> {
    let (url, size, timeout) = (
        config.database_url.clone(),
        config.database_pool_size,
        config.database_timeout,
    );
    blocking(move || db::connect_and_migrate(&url, size, timeout)).await
}

/// [`open_database`] for a CLI command: no idle connections kept (see
/// `db::connect_and_migrate_for_command`).
pub async fn open_database_for_command(config: &Config) -> Result<Db, StartupError> {
    let (url, timeout) = (config.database_url.clone(), config.database_timeout);
    blocking(move || db::connect_and_migrate_for_command(&url, timeout)).await
}

async fn blocking(
    open: impl FnOnce() -> Result<Db, StartupDbError> + Send + 'static,
) -> Result<Db, StartupError> {
    tokio::task::spawn_blocking(open)
        .await
        .map_err(|e| StartupError::Task(e.to_string()))?
        .map_err(StartupError::from)
}

/// Encrypts signing keys stored in clear when `PATRON_SECRETS_KEY` is set, refuses to start
/// when a stored key cannot be read, and says so when keys are kept in clear.
pub async fn secure_signing_keys(sessions: &SessionService) -> Result<KeysAtRest, StartupError> {
    let at_rest = sessions.secure_stored_keys().await?;
    match at_rest {
        KeysAtRest::Encrypted { newly: 0 } => {
            tracing::info!("JWT signing keys are stored encrypted (PATRON_SECRETS_KEY)")
        }
        KeysAtRest::Encrypted { newly } => tracing::info!(
            newly_encrypted = newly,
            "JWT signing keys are stored encrypted (PATRON_SECRETS_KEY); keys stored in clear until now were encrypted"
        ),
        KeysAtRest::Unencrypted => tracing::warn!(
            "JWT signing keys are stored UNENCRYPTED in the database: anyone with a copy of it can forge customer tokens. \
             Set PATRON_SECRETS_KEY to 32 random bytes in base64 (openssl rand -base64 32) on every replica to encrypt them"
        ),
    }
    Ok(at_rest)
}

impl Application {
    /// Fallible steps run in an order that keeps a failed start from losing anything the user
    /// only sees once: the port is taken first and the first key pair made last, so a start
    /// that cannot serve makes no keys and the next one shows them.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`Application::build`] with the clock every expiry, lockout and window is decided by:
    /// a test's, which it moves instead of waiting.
    pub async fn build_with_clock(mut config: Config, clock: Clock) -> Result<Self, StartupError> {
        let bind_error = |source| StartupError::Bind {
            addr: config.bind.clone(),
            source,
        };
        let listener = TcpListener::bind(&config.bind).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        if config.public_url.is_none() {
            config.public_url = url::Url::parse(&format!("http://{address}")).ok();
        }
        let config = Arc::new(config);
        let mut db = open_database(&config).await?;
        db.check_pg_async().await;
        let state = AppState::new_with_clock(config.clone(), db, clock);
        secure_signing_keys(&state.sessions).await?;
        state
            .sessions
            .ensure_signing_key()
            .await
            .map_err(|e| StartupError::Task(format!("cannot create the JWT signing key: {e}")))?;
        tokio::task::spawn_blocking(crate::service::passwords::warm_up)
            .await
            .map_err(|e| StartupError::Task(e.to_string()))?;
        let mailer = Mailer::from_config(&config).map_err(StartupError::Mail)?;

        let app_state = state.clone();
        let mut server =
            HttpServer::new(move || App::new().configure(http::configure(app_state.clone())))
                .shutdown_timeout(30);
        if let Some(n) = config.workers {
            server = server.workers(n);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                addr: config.bind.clone(),
                source,
            })?;
        let initial_keys = state.keys.create_initial_pair().await?;
        let server = server.run();
        let worker = Worker::new(
            state.db.clone(),
            state.clock.clone(),
            mailer,
            state.doorbell.clone(),
            &config,
        );
        let (stop_worker, stop) = tokio::sync::watch::channel(false);
        let worker = actix_web::rt::spawn(worker.run(stop));
        Ok(Application {
            address,
            server,
            state,
            worker,
            stop_worker,
            initial_keys,
        })
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Where the server listens, as a URL (`http://127.0.0.1:8080`).
    pub fn listening_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM; in-flight requests finish first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        // Let the mail worker finish the message in hand. Should it not finish in time, the
        // message stays leased and is sent by another process (or this one after a restart).
        let _ = self.stop_worker.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(25), self.worker).await;
        result
    }
}
