//! Creating, reading, changing, listing and erasing customers.

use crate::db::customers::{self as q, CustomerChanges, CustomerRow, Filter, SortColumn};
use crate::db::{self, write_tx, Db, DbError};
use crate::domain::customer::{Customer, CustomerPatch, Meta, NewCustomer};
use crate::domain::{CustomerId, ValidationError};

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error("customer not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Db(#[from] DbError),
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

#[derive(Clone)]
pub struct CustomerService {
    db: Db,
}

impl CustomerService {
    pub fn new(db: Db) -> Self {
        CustomerService { db }
    }

    pub async fn create(&self, new: NewCustomer) -> Result<Customer, CustomerError> {
        let now = db::now();
        let row = CustomerRow {
            id: CustomerId::generate().into_string(),
            email: new.email.as_str().to_owned(),
            email_normalized: new.email.normalized().to_owned(),
            firstname: new.firstname,
            lastname: new.lastname,
            phone: new.phone,
            external_id: new.external_id,
            meta: new.meta.to_db(),
            created_at: now,
            updated_at: now,
        };
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
        patch: CustomerPatch,
    ) -> Result<Customer, CustomerError> {
        let id = id.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let current = q::find(conn, id.as_str())?.ok_or(CustomerError::NotFound)?;
                    if patch.is_empty() {
                        return Ok(row_to_customer(current));
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
                    };
                    q::update(conn, id.as_str(), &changes).map_err(map_unique)?;
                    q::find(conn, id.as_str())?
                        .map(row_to_customer)
                        .ok_or(CustomerError::NotFound)
                })
            })
            .await
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
                let offset = i64::from(query.page.saturating_sub(1)) * i64::from(query.limit);
                let rows = if offset >= total {
                    Vec::new()
                } else {
                    q::page(
                        conn,
                        &query.filter,
                        query.sort,
                        query.direction == SortDirection::Desc,
                        i64::from(query.limit),
                        offset,
                    )?
                };
                Ok(Page {
                    items: rows.into_iter().map(row_to_customer).collect(),
                    total: u64::try_from(total).unwrap_or(0),
                    limit: query.limit,
                    page: query.page,
                })
            })
            .await
    }
}
