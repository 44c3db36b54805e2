//! Creating, reading, changing, listing and erasing customers.

use crate::db::customers::{self as q, CustomerChanges, CustomerRow, Filter, SortColumn};
use crate::db::{self, write_tx, Db, DbError};
use crate::domain::customer::{Customer, CustomerPatch, Meta, NewCustomer};
use crate::domain::password::Password;
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
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("customer not found")]
    NotFound,
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

pub fn row_to_customer(row: CustomerRow) -> Customer {
    Customer {
        id: CustomerId::from_trusted(row.id),
        email: row.email,
        firstname: row.firstname,
        lastname: row.lastname,
        phone: row.phone,
        external_id: row.external_id,
        meta: Meta::from_db(row.meta.as_deref()),
        has_password: row.password_hash.is_some(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDirection {
    Asc,
    Desc,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Filter,
    pub sort: SortColumn,
    pub direction: SortDirection,
    pub limit: u32,
    pub page: u32,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u32,
    pub page: u32,
}

impl<T> Page<T> {
    /// Where page `page` (from 1) of `limit` items starts.
    pub fn offset(page: u32, limit: u32) -> i64 {
        i64::from(page.saturating_sub(1)) * i64::from(limit)
    }

    /// Page `page` (from 1) of `limit` items out of `total`; `rows(limit, offset)` reads them,
    /// and is not called for a page past the end.
    pub fn read<E>(
        total: i64,
        page: u32,
        limit: u32,
        rows: impl FnOnce(i64, i64) -> Result<Vec<T>, E>,
    ) -> Result<Page<T>, E> {
        let offset = Self::offset(page, limit);
        let items = if offset >= total {
            Vec::new()
        } else {
            rows(i64::from(limit), offset)?
        };
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
            limit,
            page,
        })
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            page: self.page,
        }
    }
}

#[derive(Clone)]
pub struct CustomerService {
    db: Db,
    doorbell: Doorbell,
}

impl CustomerService {
    pub fn new(db: Db, doorbell: Doorbell) -> Self {
        CustomerService { db, doorbell }
    }

    pub async fn create(&self, new: NewCustomer) -> Result<Customer, CustomerError> {
        let password_hash = match new.password.clone() {
            Some(p) => Some(passwords::hash(p).await.map_err(CustomerError::Hash)?),
            None => None,
        };
        // Created by the merchant: the address counts as verified.
        let row = CustomerRow::new(
            CustomerId::generate().into_string(),
            &new.email,
            new.firstname,
            new.lastname,
            new.phone,
            new.external_id,
            new.meta.to_db(),
            password_hash,
            true,
            db::now(),
        );
        self.db
            .run(move |conn| {
                q::insert(conn, &row).map_err(map_unique)?;
                Ok(row_to_customer(row))
            })
            .await
    }

    pub async fn get(&self, id: &CustomerId) -> Result<Customer, CustomerError> {
        let id = id.clone();
        self.db
            .run(move |conn| {
                q::find(conn, id.as_str())?
                    .map(row_to_customer)
                    .ok_or(CustomerError::NotFound)
            })
            .await
    }

    pub async fn update(
        &self,
        id: &CustomerId,
        mut patch: CustomerPatch,
        actor: Actor,
        meta: RequestMeta,
    ) -> Result<Customer, CustomerError> {
        let new_hash = match patch.password.take() {
            None => None,
            Some(password) => {
                if let Actor::Customer { .. } = actor {
                    self.check_current_password(id, patch.current_password.take())
                        .await?;
                }
                Some(
                    passwords::hash(password)
                        .await
                        .map_err(CustomerError::Hash)?,
                )
            }
        };
        let id = id.clone();
        let (customer, password_changed) = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let current = q::find(conn, id.as_str())?.ok_or(CustomerError::NotFound)?;
                    if patch.is_empty() && new_hash.is_none() {
                        return Ok::<_, CustomerError>((row_to_customer(current), false));
                    }
                    let changes = CustomerChanges {
                        email: patch.email.as_ref().map(|e| e.as_str().to_owned()),
                        email_normalized: patch.email.as_ref().map(|e| e.normalized().to_owned()),
                        firstname: patch.firstname,
                        lastname: patch.lastname,
                        phone: patch.phone,
                        external_id: patch.external_id,
                        meta: patch.meta.map(|m| m.to_db()),
                        // Never earlier than creation, even if the clock stepped back.
                        updated_at: Some(db::now().max(current.created_at)),
                        password_hash: new_hash.clone().map(Some),
                        email_verified_at: None,
                    };
                    q::update(conn, id.as_str(), &changes).map_err(map_unique)?;
                    let updated = q::find(conn, id.as_str())?.ok_or(CustomerError::NotFound)?;
                    if new_hash.is_some() {
                        let keep = match &actor {
                            Actor::Customer { session_id } => Some(session_id.as_str()),
                            Actor::Merchant => None,
                        };
                        tokens::after_password_change(conn, &updated, keep, &meta)?;
                    }
                    Ok((row_to_customer(updated), new_hash.is_some()))
                })
            })
            .await?;
        if password_changed {
            // The notice mail was queued in the transaction.
            self.doorbell.ring();
        }
        Ok(customer)
    }

    /// A customer changing an existing password must prove they know it.
    async fn check_current_password(
        &self,
        id: &CustomerId,
        current: Option<String>,
    ) -> Result<(), CustomerError> {
        let lookup = id.clone();
        let stored = self
            .db
            .run(move |conn| {
                Ok::<_, CustomerError>(
                    q::find(conn, lookup.as_str())?.and_then(|row| row.password_hash),
                )
            })
            .await?;
        let Some(stored) = stored else {
            // No password yet (a magic-link account): the session is proof enough.
            return Ok(());
        };
        let Some(current) = current.filter(|c| !c.is_empty()) else {
            return Err(ValidationError::field(
                "current_password_required",
                "current_password",
                "The current password field is required to change the password.",
            )
            .into());
        };
        if passwords::verify(Password::candidate(&current), Some(stored))
            .await
            .ok
        {
            Ok(())
        } else {
            Err(ValidationError::field(
                "invalid_current_password",
                "current_password",
                "The current password is incorrect.",
            )
            .into())
        }
    }

    /// Erases the customer. Their orders stay for the books, without the customer id, names,
    /// email or addresses.
    pub async fn delete(&self, id: &CustomerId) -> Result<(), CustomerError> {
        let id = id.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    crate::db::orders::anonymise_for_customer(conn, id.as_str())?;
                    if q::delete(conn, id.as_str())? {
                        Ok(())
                    } else {
                        Err(CustomerError::NotFound)
                    }
                })
            })
            .await
    }

    pub async fn list(&self, query: ListQuery) -> Result<Page<Customer>, CustomerError> {
        self.db
            .run(move |conn| {
                let total = q::count(conn, &query.filter)?;
                let page = Page::read(total, query.page, query.limit, |limit, offset| {
                    q::page(
                        conn,
                        &query.filter,
                        query.sort,
                        query.direction == SortDirection::Desc,
                        limit,
                        offset,
                    )
                })?;
                Ok(page.map(row_to_customer))
            })
            .await
    }
}
