//! Creating, reading, changing, listing and erasing customers.

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::email_change::{self, ConfirmError};
use super::login_guard::{self as guard, Check, GuardError, GuardKey, Locked};
use super::passwords::HashError;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::customers::{self as q, CustomerChanges, CustomerRow};
use crate::db::scope::Scope;
use crate::db::{write_tx, Db, DbError};
use crate::domain::customer::{Customer, CustomerPatch, Filter, NewCustomer, SortColumn};
use crate::domain::link::LinkTemplate;
use crate::domain::paging::{Page, SortDirection};
use crate::domain::password::Password;
use crate::domain::store::Store;
use crate::domain::token::PlainToken;
use crate::domain::{CustomerId, ValidationError};
use crate::mail::outbox::Doorbell;
use crate::service::audit::RequestMeta;
use crate::service::{passwords, tokens};

/// Who is changing a customer: the back office, or the customer in one of their sessions.
#[derive(Debug, Clone)]
pub enum Actor {
    Merchant,
    Customer { session_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("customer not found")]
    NotFound,
    /// Too many wrong current passwords for this address.
    #[error("locked until {until}")]
    Locked {
        until: NaiveDateTime,
        retry_after_secs: u64,
    },
    /// An email-change token that cannot be used.
    #[error("invalid token")]
    InvalidToken,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for CustomerError {
    fn database_failure(&self) -> bool {
        matches!(self, CustomerError::Db(e) if e.database_failure())
    }
}

impl From<Locked> for CustomerError {
    fn from(l: Locked) -> Self {
        CustomerError::Locked {
            until: l.until,
            retry_after_secs: l.retry_after_secs,
        }
    }
}

impl From<GuardError> for CustomerError {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Locked(l) => l.into(),
            GuardError::Hash(h) => CustomerError::Hash(h),
            GuardError::Db(d) => CustomerError::Db(d),
        }
    }
}

impl From<ConfirmError> for CustomerError {
    fn from(e: ConfirmError) -> Self {
        match e {
            ConfirmError::InvalidToken => CustomerError::InvalidToken,
            ConfirmError::Taken => email_taken(),
            ConfirmError::Db(d) => d.into(),
        }
    }
}

impl From<diesel::result::Error> for CustomerError {
    fn from(e: diesel::result::Error) -> Self {
        CustomerError::Db(e.into())
    }
}

fn email_taken() -> CustomerError {
    CustomerError::Invalid(ValidationError::field(
        "email_taken",
        "email",
        "The email has already been taken.",
    ))
}

/// A unique violation on insert or update can only be the email (the id is random).
fn map_unique(e: diesel::result::Error) -> CustomerError {
    match DbError::from(e) {
        DbError::UniqueViolation(_) => email_taken(),
        other => CustomerError::Db(other),
    }
}

/// Writes a patch (and a new password hash) to the customer; returns the row after it.
fn apply(
    conn: &mut crate::db::DbConnection,
    now: NaiveDateTime,
    scope: Scope<'_>,
    current: &CustomerRow,
    patch: CustomerPatch,
    new_hash: Option<String>,
) -> Result<CustomerRow, CustomerError> {
    let changes = CustomerChanges {
        email: patch.email.as_ref().map(|e| e.as_str().to_owned()),
        email_normalized: patch.email.as_ref().map(|e| e.normalized().to_owned()),
        firstname: patch.firstname,
        lastname: patch.lastname,
        phone: patch.phone,
        external_id: patch.external_id,
        meta: patch.meta.map(|m| m.to_db()),
        // Never earlier than creation, even if the clock stepped back.
        updated_at: Some(now.max(current.created_at)),
        password_hash: new_hash.map(Some),
        email_verified_at: None,
    };
    q::update(conn, scope, &current.id, &changes).map_err(map_unique)?;
    if changes
        .email_normalized
        .as_ref()
        .is_some_and(|e| *e != current.email_normalized)
    {
        // Links mailed to the old address, and an email change still waiting for its
        // confirmation, must not outlive the address (as after a confirmed change).
        crate::db::tokens::void_all_unused(conn, scope, &current.id)?;
    }
    q::find(conn, scope, &current.id)?.ok_or(CustomerError::NotFound)
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Filter,
    pub sort: SortColumn,
    pub direction: SortDirection,
    pub limit: u32,
    pub page: u32,
}

/// What a `PUT` did.
#[derive(Debug, Clone)]
pub struct Updated {
    pub customer: Customer,
    /// The address a confirmation was mailed to: the customer's own email change, which
    /// applies only once confirmed.
    pub pending_email: Option<String>,
}

#[derive(Clone)]
pub struct CustomerService {
    db: Db,
    clock: Clock,
    config: Arc<Config>,
    doorbell: Doorbell,
}

impl CustomerService {
    pub fn new(db: Db, clock: Clock, config: Arc<Config>, doorbell: Doorbell) -> Self {
        CustomerService {
            db,
            clock,
            config,
            doorbell,
        }
    }

    pub async fn create(
        &self,
        store: Arc<Store>,
        new: NewCustomer,
    ) -> Result<Customer, CustomerError> {
        let password_hash = match new.password.clone() {
            Some(p) => Some(passwords::hash(p).await?),
            None => None,
        };
        // Created by the merchant: the address counts as verified.
        let row = CustomerRow::new(
            Scope::new(&store.id),
            CustomerId::generate().into_string(),
            &new.email,
            new.firstname,
            new.lastname,
            new.phone,
            new.external_id,
            new.meta.to_db(),
            password_hash,
            true,
            self.clock.now(),
        );
        self.db
            .run(move |conn| {
                q::insert(conn, &row).map_err(map_unique)?;
                Ok(Customer::from(row))
            })
            .await
    }

    pub async fn get(&self, store: Arc<Store>, id: &CustomerId) -> Result<Customer, CustomerError> {
        let id = id.clone();
        self.db
            .run(move |conn| {
                q::find(conn, Scope::new(&store.id), id.as_str())?
                    .map(Customer::from)
                    .ok_or(CustomerError::NotFound)
            })
            .await
    }

    /// Changes the customer. The merchant sets any field directly; a customer changing their
    /// own email only asks for it (see `email_change`), and changing an existing password
    /// needs the current one, guessed no faster than a login (see `login_guard`).
    pub async fn update(
        &self,
        store: Arc<Store>,
        id: &CustomerId,
        mut patch: CustomerPatch,
        actor: Actor,
        meta: RequestMeta,
        email_link: Option<LinkTemplate>,
    ) -> Result<Updated, CustomerError> {
        let (new_hash, proven) = match patch.password.take() {
            None => (None, None),
            Some(password) => {
                let proven = match actor {
                    Actor::Customer { .. } => {
                        self.check_current_password(
                            &store,
                            id,
                            patch.current_password.take(),
                            &meta,
                        )
                        .await?
                    }
                    Actor::Merchant => None,
                };
                (Some(passwords::hash(password).await?), proven)
            }
        };
        let id = id.clone();
        let (config, clock) = (self.config.clone(), self.clock.clone());
        let (updated, ring) = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    let scope = Scope::new(&store.id);
                    let current =
                        q::find(conn, scope, id.as_str())?.ok_or(CustomerError::NotFound)?;
                    if let Some(key) = &proven {
                        // Wrong guesses checked meanwhile may have locked the address.
                        if let Some(locked) = guard::record_success(conn, now, key)? {
                            return Err(locked.into());
                        }
                    }
                    let requested_email = match (&actor, patch.email.take()) {
                        (Actor::Customer { .. }, Some(e))
                            if e.normalized() != current.email_normalized =>
                        {
                            Some(e)
                        }
                        (_, same_or_merchant) => {
                            patch.email = same_or_merchant;
                            None
                        }
                    };
                    let updated = if patch.is_empty() && new_hash.is_none() {
                        current
                    } else {
                        apply(conn, now, scope, &current, patch, new_hash.clone())?
                    };
                    let mut ring = false;
                    if new_hash.is_some() {
                        let keep = match &actor {
                            Actor::Customer { session_id } => Some(session_id.as_str()),
                            Actor::Merchant => None,
                        };
                        tokens::after_password_change(conn, now, &store, &updated, keep, &meta)?;
                        ring = true;
                    }
                    let pending_email = match requested_email {
                        Some(e) => {
                            ring |= email_change::request(
                                conn,
                                now,
                                &store,
                                &updated,
                                &e,
                                email_link.as_ref(),
                                config.login_token_ttl,
                                &config.rate_limits,
                                &meta,
                            )?;
                            Some(e.as_str().to_owned())
                        }
                        None => None,
                    };
                    Ok::<_, CustomerError>((
                        Updated {
                            customer: Customer::from(updated),
                            pending_email,
                        },
                        ring,
                    ))
                })
            })
            .await?;
        if ring {
            // A mail was queued in the transaction.
            self.doorbell.ring();
        }
        Ok(updated)
    }

    /// Uses an email-change confirmation; returns the customer at their new address.
    pub async fn confirm_email_change(
        &self,
        store: Arc<Store>,
        raw: &str,
        meta: RequestMeta,
    ) -> Result<Customer, CustomerError> {
        let token = PlainToken::parse(raw).ok_or(CustomerError::InvalidToken)?;
        let clock = self.clock.clone();
        let row = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = clock.now();
                    Ok::<_, CustomerError>(email_change::confirm(conn, now, &store, &token, &meta)?)
                })
            })
            .await?;
        self.doorbell.ring();
        Ok(Customer::from(row))
    }

    /// A customer changing an existing password must prove they know it. The check counts
    /// towards the address's lockout like a login; a right one is returned so the change can
    /// record it in its own transaction.
    async fn check_current_password(
        &self,
        store: &Store,
        id: &CustomerId,
        current: Option<String>,
        meta: &RequestMeta,
    ) -> Result<Option<GuardKey>, CustomerError> {
        let (lookup, store_id) = (id.clone(), store.id.clone());
        let row = self
            .db
            .run(move |conn| {
                Ok::<_, CustomerError>(q::find(conn, Scope::new(&store_id), lookup.as_str())?)
            })
            .await?
            .ok_or(CustomerError::NotFound)?;
        let Some(stored) = row.password_hash.clone() else {
            // No password yet (a magic-link account): the session is proof enough.
            return Ok(None);
        };
        let Some(current) = current.filter(|c| !c.is_empty()) else {
            return Err(ValidationError::field(
                "current_password_required",
                "current_password",
                "The current password field is required to change the password.",
            )
            .into());
        };
        let check = Check {
            store: store.id.clone(),
            key: GuardKey::for_normalized(Scope::new(&store.id), &row.email_normalized),
            customer_id: Some(row.id),
            lockout_base: self.config.lockout_base,
            meta: meta.clone(),
            clock: self.clock.clone(),
        };
        let verified = check
            .run(&self.db, Password::candidate(&current), Some(stored))
            .await?;
        if verified.ok {
            return Ok(Some(check.key));
        }
        Err(ValidationError::field(
            "invalid_current_password",
            "current_password",
            "The current password is incorrect.",
        )
        .into())
    }

    /// Erases the customer. Their orders stay for the books, without the customer id, names,
    /// email or addresses.
    pub async fn delete(&self, store: Arc<Store>, id: &CustomerId) -> Result<(), CustomerError> {
        let id = id.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let scope = Scope::new(&store.id);
                    crate::db::orders::anonymise_for_customer(conn, scope, id.as_str())?;
                    if q::delete(conn, scope, id.as_str())? {
                        Ok(())
                    } else {
                        Err(CustomerError::NotFound)
                    }
                })
            })
            .await
    }

    pub async fn list(
        &self,
        store: Arc<Store>,
        query: ListQuery,
    ) -> Result<Page<Customer>, CustomerError> {
        self.db
            .run(move |conn| {
                let scope = Scope::new(&store.id);
                let total = q::count(conn, scope, &query.filter)?;
                let page = Page::read(total, query.page, query.limit, |limit, offset| {
                    q::page(
                        conn,
                        scope,
                        &query.filter,
                        query.sort,
                        query.direction == SortDirection::Desc,
                        limit,
                        offset,
                    )
                })?;
                Ok(page.map(Customer::from))
            })
            .await
    }
}
