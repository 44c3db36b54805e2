//! Password accounts: self-registration with email verification, password login with a
//! per-account lockout, and the three-step reset.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use super::audit::{self, Event, RequestMeta};
use super::login::{open_session, Login, LoginError};
use super::login_guard::{self as guard, Check, GuardError, GuardKey, Locked};
use super::passwords::{self, HashError};
use super::sessions::SessionService;
use super::tokens;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::customers::{self as customers_q, CustomerChanges, CustomerRow};
use crate::db::scope::Scope;
use crate::db::{tokens as tokens_q, write_tx, Db, DbError};
use crate::domain::customer::Meta;
use crate::domain::link::LinkTemplate;
use crate::domain::password::Password;
use crate::domain::store::Store;
use crate::domain::token::{PlainToken, Purpose};
use crate::domain::{CustomerId, Email};
use crate::mail::outbox::Doorbell;
use crate::mail::templates;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong password, unknown email, unverified address or no password: one answer for all.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked until {until}")]
    Locked {
        until: NaiveDateTime,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for AccountError {
    fn database_failure(&self) -> bool {
        match self {
            AccountError::Db(e) => e.database_failure(),
            AccountError::Login(e) => e.database_failure(),
            AccountError::InvalidCredentials
            | AccountError::Locked { .. }
            | AccountError::Hash(_) => false,
        }
    }
}

impl From<diesel::result::Error> for AccountError {
    fn from(e: diesel::result::Error) -> Self {
        AccountError::Db(e.into())
    }
}

/// A self-registration, already valid.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub meta: Meta,
    pub link: LinkTemplate,
}

#[derive(Clone)]
pub struct AccountService {
    db: Db,
    clock: Clock,
    config: Arc<Config>,
    sessions: SessionService,
    doorbell: Doorbell,
}

impl From<Locked> for AccountError {
    fn from(l: Locked) -> Self {
        AccountError::Locked {
            until: l.until,
            retry_after_secs: l.retry_after_secs,
        }
    }
}

impl From<GuardError> for AccountError {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Locked(l) => l.into(),
            GuardError::Hash(h) => AccountError::Hash(h),
            GuardError::Db(d) => AccountError::Db(d),
        }
    }
}

impl AccountService {
    pub fn new(
        db: Db,
        clock: Clock,
        config: Arc<Config>,
        sessions: SessionService,
        doorbell: Doorbell,
    ) -> Self {
        AccountService {
            db,
            clock,
            config,
            sessions,
            doorbell,
        }
    }

    fn token_ttl(&self) -> Duration {
        self.config.login_token_ttl
    }

    /// Creates an unverified account and mails a verification link; for an address that has
    /// an account already, mails a note with a login link instead and changes nothing.
    pub async fn register(
        &self,
        store: Arc<Store>,
        r: Registration,
        meta: RequestMeta,
    ) -> Result<(), AccountError> {
        // Hash first (slow, off the async threads), whatever the outcome, so both paths cost
        // the same.
        let hash = passwords::hash(r.password.clone()).await?;
        let (config, clock) = (self.config.clone(), self.clock.clone());
        let ttl = self.token_ttl();
        let queued = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    let allowed =
                        tokens::email_allowed(conn, now, scope, &r.email, &config.rate_limits)?;
                    if let Some(existing) =
                        customers_q::find_by_email(conn, scope, r.email.normalized())?
                    {
                        return Ok::<_, AccountError>(tokens::mail_link_unless_throttled(
                            conn,
                            now,
                            &store,
                            allowed,
                            &existing,
                            Purpose::Login,
                            ttl,
                            &meta,
                            |name, token| {
                                templates::already_registered(
                                    name,
                                    &r.link.render(token.expose()),
                                    ttl.as_secs(),
                                )
                            },
                        )?);
                    }
                    let row = CustomerRow::new(
                        scope,
                        CustomerId::generate().into_string(),
                        &r.email,
                        r.firstname,
                        r.lastname,
                        r.phone,
                        None,
                        r.meta.to_db(),
                        Some(hash),
                        false,
                        now,
                    );
                    customers_q::insert(conn, &row)?;
                    audit::record(
                        conn,
                        now,
                        scope,
                        Event::AccountCreated,
                        Some(&row.id),
                        &meta,
                    )?;
                    if !allowed {
                        tokens::log_throttled(
                            r.email.as_str(),
                            r.email.normalized(),
                            Purpose::VerifyEmail,
                            &row.id,
                            &meta,
                        );
                        return Ok(false);
                    }
                    tokens::mail_link(
                        conn,
                        now,
                        &store,
                        &row,
                        Purpose::VerifyEmail,
                        ttl,
                        &meta,
                        |name, token| {
                            templates::verify_email(
                                name,
                                &r.link.render(token.expose()),
                                ttl.as_secs(),
                            )
                        },
                    )?;
                    Ok(true)
                })
            })
            .await?;
        if queued {
            self.doorbell.ring();
        }
        Ok(())
    }

    /// Consumes a verification token: the address is verified and the customer logged in.
    pub async fn verify_email(
        &self,
        store: Arc<Store>,
        raw: &str,
        meta: RequestMeta,
    ) -> Result<Login, AccountError> {
        let token = PlainToken::parse(raw).ok_or(LoginError::InvalidToken)?;
        let (sessions, clock) = (self.sessions.clone(), self.clock.clone());
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    let customer_id = tokens_q::consume(
                        conn,
                        scope,
                        token.hash().as_str(),
                        Purpose::VerifyEmail.as_str(),
                        now,
                    )?
                    .ok_or(LoginError::InvalidToken)?;
                    customers_q::update(
                        conn,
                        scope,
                        &customer_id,
                        &CustomerChanges {
                            email_verified_at: Some(Some(now)),
                            updated_at: Some(now),
                            ..Default::default()
                        },
                    )?;
                    Ok(open_session(
                        conn,
                        now,
                        scope,
                        &sessions,
                        CustomerId::from_trusted(customer_id),
                        Some(Event::EmailVerified),
                        &meta,
                    )?)
                })
            })
            .await
    }

    /// Email and password login. Every refusal but a lockout looks the same, an unknown
    /// email is checked against a dummy hash so it takes as long as a known one, and both
    /// count towards the address's lockout (see `login_guard`).
    pub async fn login(
        &self,
        store: Arc<Store>,
        email: &str,
        password: Password,
        meta: RequestMeta,
    ) -> Result<Login, AccountError> {
        let row = match Email::parse(email) {
            Ok(e) => {
                let normalized = e.normalized().to_owned();
                let store = store.id.clone();
                self.db
                    .run(move |conn| {
                        Ok::<_, AccountError>(customers_q::find_by_email(
                            conn,
                            Scope::new(&store),
                            &normalized,
                        )?)
                    })
                    .await?
            }
            Err(_) => None,
        };
        let check = Check {
            store: store.id.clone(),
            key: GuardKey::for_login(Scope::new(&store.id), email),
            customer_id: row.as_ref().map(|r| r.id.clone()),
            lockout_base: self.config.lockout_base,
            meta: meta.clone(),
            clock: self.clock.clone(),
        };
        let stored = row.as_ref().and_then(|r| r.password_hash.clone());
        let verified = check.run(&self.db, password.clone(), stored).await?;
        let customer = match row {
            Some(c) if verified.ok => c,
            _ => return Err(AccountError::InvalidCredentials),
        };
        if customer.email_verified_at.is_none() {
            // The right password, but the address was never confirmed: not a guess.
            check.give_back(&self.db).await?;
            return Err(AccountError::InvalidCredentials);
        }
        let rehash = if verified.needs_rehash {
            passwords::hash(password).await.ok()
        } else {
            None
        };
        let sessions = self.sessions.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = check.clock.now();
                    // Wrong passwords checked meanwhile may have locked the address.
                    if let Some(locked) = guard::record_success(conn, now, &check.key)? {
                        return Err(locked.into());
                    }
                    let scope = Scope::new(&store.id);
                    if let Some(hash) = rehash {
                        customers_q::update(
                            conn,
                            scope,
                            &customer.id,
                            &CustomerChanges {
                                password_hash: Some(Some(hash)),
                                ..Default::default()
                            },
                        )?;
                    }
                    Ok(open_session(
                        conn,
                        now,
                        scope,
                        &sessions,
                        CustomerId::from_trusted(customer.id),
                        Some(Event::LoginSuccess),
                        &meta,
                    )?)
                })
            })
            .await
    }

    /// Mails a reset link to a known address (silently throttled); nothing for an unknown one.
    pub async fn request_reset(
        &self,
        store: Arc<Store>,
        email: Email,
        link: LinkTemplate,
        meta: RequestMeta,
    ) -> Result<(), AccountError> {
        let (config, clock) = (self.config.clone(), self.clock.clone());
        let ttl = self.token_ttl();
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
                        return Ok::<_, AccountError>(false);
                    };
                    Ok(tokens::mail_link_unless_throttled(
                        conn,
                        now,
                        &store,
                        allowed,
                        &customer,
                        Purpose::PasswordReset,
                        ttl,
                        &meta,
                        |name, token| {
                            templates::password_reset(
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

    /// Whether a reset token would work now, without using it up.
    pub async fn reset_token_valid(
        &self,
        store: Arc<Store>,
        raw: &str,
    ) -> Result<bool, AccountError> {
        let Some(token) = PlainToken::parse(raw) else {
            return Ok(false);
        };
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                Ok::<_, AccountError>(
                    tokens_q::peek_live(
                        conn,
                        Scope::new(&store.id),
                        token.hash().as_str(),
                        Purpose::PasswordReset.as_str(),
                        clock.now(),
                    )?
                    .is_some(),
                )
            })
            .await
    }

    /// Sets a new password with a reset token. Every session and outstanding token of the
    /// customer dies, and a notice is mailed; the customer is not logged in.
    pub async fn reset_password(
        &self,
        store: Arc<Store>,
        raw: &str,
        password: Password,
        meta: RequestMeta,
    ) -> Result<(), AccountError> {
        let token = PlainToken::parse(raw).ok_or(LoginError::InvalidToken)?;
        let hash = passwords::hash(password).await?;
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    let customer_id = tokens_q::consume(
                        conn,
                        scope,
                        token.hash().as_str(),
                        Purpose::PasswordReset.as_str(),
                        now,
                    )?
                    .ok_or(LoginError::InvalidToken)?;
                    let current = customers_q::find(conn, scope, &customer_id)?
                        .ok_or(LoginError::InvalidToken)?;
                    customers_q::update(
                        conn,
                        scope,
                        &customer_id,
                        &CustomerChanges {
                            password_hash: Some(Some(hash)),
                            // The link reached their inbox: the address is theirs.
                            email_verified_at: Some(Some(current.email_verified_at.unwrap_or(now))),
                            updated_at: Some(now),
                            ..Default::default()
                        },
                    )?;
                    tokens::after_password_change(conn, now, &store, &current, None, &meta)?;
                    Ok::<_, AccountError>(())
                })
            })
            .await?;
        self.doorbell.ring();
        Ok(())
    }

    /// Ends every session of the customer.
    pub async fn logout_all(
        &self,
        store: Arc<Store>,
        customer_id: &CustomerId,
        meta: RequestMeta,
    ) -> Result<usize, AccountError> {
        let id = customer_id.clone();
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    let n = SessionService::revoke_all_in(conn, now, scope, id.as_str())?;
                    audit::record(
                        conn,
                        now,
                        scope,
                        Event::SessionLogoutAll,
                        Some(id.as_str()),
                        &meta,
                    )?;
                    Ok::<_, AccountError>(n)
                })
            })
            .await
    }
}
