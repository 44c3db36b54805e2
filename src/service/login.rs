//! Passwordless login: a one-time link by mail, exchanged for a session JWT.

use super::audit::{self, Event, RequestMeta};
use super::sessions::{IssuedSession, SessionError, SessionService};
use super::tokens;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::scope::Scope;
use crate::db::{customers as customers_q, tokens as q, write_tx, Db, DbConnection, DbError};
use crate::domain::link::LinkTemplate;
use crate::domain::store::Store;
use crate::domain::token::{PlainToken, Purpose};
use crate::domain::{CustomerId, Email};
use crate::mail::outbox::Doorbell;
use crate::mail::templates;
use std::sync::Arc;

use chrono::NaiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown, used, expired and superseded tokens all look the same.
    #[error("invalid token")]
    InvalidToken,
    #[error("customer not found")]
    CustomerNotFound,
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for LoginError {
    fn database_failure(&self) -> bool {
        match self {
            LoginError::Db(e) => e.database_failure(),
            LoginError::Session(e) => e.database_failure(),
            LoginError::InvalidToken | LoginError::CustomerNotFound => false,
        }
    }
}

impl From<diesel::result::Error> for LoginError {
    fn from(e: diesel::result::Error) -> Self {
        LoginError::Db(e.into())
    }
}

/// A logged-in customer: the answer of exchange-token and issue-token.
#[derive(Debug, Clone)]
pub struct Login {
    pub customer_id: CustomerId,
    pub session: IssuedSession,
}

/// Opens a session inside the caller's transaction and records it, after the event that caused
/// it (a login, a verified address), in one audit insert.
pub(crate) fn open_session(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    scope: Scope<'_>,
    sessions: &SessionService,
    customer_id: CustomerId,
    cause: Option<Event>,
    meta: &RequestMeta,
) -> Result<Login, LoginError> {
    let session = sessions.issue_in(conn, now, scope, &customer_id)?;
    let events: Vec<Event> = cause.into_iter().chain([Event::SessionCreated]).collect();
    audit::record_all(conn, now, scope, &events, Some(customer_id.as_str()), meta)?;
    Ok(Login {
        customer_id,
        session,
    })
}

#[derive(Clone)]
pub struct LoginService {
    db: Db,
    clock: Clock,
    config: Arc<Config>,
    sessions: SessionService,
    doorbell: Doorbell,
}

impl LoginService {
    pub fn new(
        db: Db,
        clock: Clock,
        config: Arc<Config>,
        sessions: SessionService,
        doorbell: Doorbell,
    ) -> Self {
        LoginService {
            db,
            clock,
            config,
            sessions,
            doorbell,
        }
    }

    /// Mails a login link if the address belongs to a customer and is not being flooded.
    /// The caller answers the same whatever happened here.
    pub async fn request_link(
        &self,
        store: Arc<Store>,
        email: Email,
        link: LinkTemplate,
        meta: RequestMeta,
    ) -> Result<(), LoginError> {
        let (config, clock) = (self.config.clone(), self.clock.clone());
        let queued = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    let allowed =
                        tokens::email_allowed(conn, now, scope, &email, &config.rate_limits)?;
                    let Some(customer) =
                        customers_q::find_by_email(conn, scope, email.normalized())?
                    else {
                        return Ok::<_, LoginError>(false);
                    };
                    let ttl = config.login_token_ttl;
                    Ok(tokens::mail_link_unless_throttled(
                        conn,
                        now,
                        &store,
                        allowed,
                        &customer,
                        Purpose::Login,
                        ttl,
                        &meta,
                        |name, token| {
                            templates::login_link(
                                store.mail_subject(&config),
                                name,
                                &link.render(token.expose()),
                                ttl.as_secs(),
                            )
                        },
                    )?)
                })
            })
            .await?;
        if queued {
            self.doorbell.ring();
        }
        Ok(())
    }

    /// Consumes a login token (once, atomically) and opens a session.
    pub async fn exchange(
        &self,
        store: Arc<Store>,
        raw_token: &str,
        meta: RequestMeta,
    ) -> Result<Login, LoginError> {
        let Some(token) = PlainToken::parse(raw_token) else {
            return Err(LoginError::InvalidToken);
        };
        let (sessions, clock) = (self.sessions.clone(), self.clock.clone());
        let hash = token.hash();
        self.db
            .run(move |conn| {
                let scope = Scope::new(&store.id);
                let outcome = write_tx(conn, |conn| {
                    let now = clock.now();
                    let Some(customer_id) =
                        q::consume(conn, scope, hash.as_str(), Purpose::Login.as_str(), now)?
                    else {
                        return Ok(None);
                    };
                    open_session(
                        conn,
                        now,
                        scope,
                        &sessions,
                        CustomerId::from_trusted(customer_id),
                        Some(Event::LoginSuccess),
                        &meta,
                    )
                    .map(Some)
                })?;
                match outcome {
                    Some(login) => Ok(login),
                    None => {
                        // Recorded outside the (empty) transaction above.
                        let owner = q::owner(conn, scope, hash.as_str())?;
                        let event = if owner.is_some() {
                            Event::TokenReuse
                        } else {
                            Event::LoginFail
                        };
                        audit::record(conn, clock.now(), scope, event, owner.as_deref(), &meta)?;
                        Err(LoginError::InvalidToken)
                    }
                }
            })
            .await
    }

    /// Opens a session for a customer the merchant has authenticated itself.
    pub async fn issue_token(
        &self,
        store: Arc<Store>,
        customer_id: &CustomerId,
        meta: RequestMeta,
    ) -> Result<Login, LoginError> {
        let (sessions, clock) = (self.sessions.clone(), self.clock.clone());
        let customer_id = customer_id.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let scope = Scope::new(&store.id);
                    if customers_q::find(conn, scope, customer_id.as_str())?.is_none() {
                        return Err(LoginError::CustomerNotFound);
                    }
                    let now = clock.now();
                    open_session(conn, now, scope, &sessions, customer_id, None, &meta)
                })
            })
            .await
    }

    /// Ends the session behind this JWT.
    pub async fn logout(
        &self,
        store: Arc<Store>,
        customer_id: &CustomerId,
        session_id: &str,
        meta: RequestMeta,
    ) -> Result<(), LoginError> {
        let (cid, sid) = (customer_id.clone(), session_id.to_owned());
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    SessionService::revoke_in(conn, now, scope, &sid)?;
                    audit::record(
                        conn,
                        now,
                        scope,
                        Event::SessionLogout,
                        Some(cid.as_str()),
                        &meta,
                    )?;
                    Ok(())
                })
            })
            .await
    }
}
