//! Stores: the operator's store API and CLI, and the resolution of a request's store.
//!
//! A store's settings are read from the database and kept for [`CACHE_TTL`]: a change made
//! through one replica reaches every other within that time, the one that made it at once.
//! Deletion does not wait for the cache: it revokes the store's keys and ends its sessions in
//! the same transaction, and both are checked on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::config::AllowedOrigin;
use crate::db::stores::{self as q, StoreRow};
use crate::db::{write_tx, Db, DbError};
use crate::domain::money::Currency;
use crate::domain::paging::{Page, SortDirection};
use crate::domain::store::{origin_text, NewStore, Store, StorePatch, StoreSettings};
use crate::domain::{StoreId, ValidationError};
use crate::service::keys::{self, IssuedKey, KeyKind};

/// How long a replica serves a store's settings without reading them again.
pub const CACHE_TTL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for StoreError {
    fn database_failure(&self) -> bool {
        matches!(self, StoreError::Db(e) if e.database_failure())
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::Db(e.into())
    }
}

/// A store just made, with its first keys (shown only now).
#[derive(Debug, Clone)]
pub struct CreatedStore {
    pub store: Store,
    pub public_key: IssuedKey,
    pub secret_key: IssuedKey,
}

/// What `purge` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    Purged {
        customers: usize,
    },
    NotFound,
    /// A live store: delete it first, so its keys stop working before its data goes.
    Live,
    Default,
}

/// Each store read, with when it was read (by the service's clock).
type Cache = Arc<Mutex<HashMap<StoreId, (Instant, Arc<Store>)>>>;

/// Whether settings read at `at` may still be served at `now`.
fn fresh(at: Instant, now: Instant) -> bool {
    now.saturating_duration_since(at) < CACHE_TTL
}

#[derive(Clone)]
pub struct StoreService {
    db: Db,
    clock: Clock,
    cache: Cache,
}

fn row_to_store(row: StoreRow) -> Store {
    // Written by `store_to_row` after validation: anything unreadable is dropped rather than
    // failing every request of the store.
    let link_origins = row.link_origins.as_deref().map(|raw| {
        serde_json::from_str::<Vec<String>>(raw)
            .unwrap_or_default()
            .iter()
            .filter_map(|o| AllowedOrigin::parse(o).ok())
            .collect()
    });
    Store {
        id: StoreId::from_trusted(row.id),
        name: row.name,
        settings: StoreSettings {
            support_email: row.support_email,
            currency: row.currency.as_deref().and_then(Currency::parse),
            country: row.country,
            link_origins,
            mail_from: row.mail_from,
            mail_subject: row.mail_subject,
            order_reference_prefix: row.order_reference_prefix,
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
        deleted_at: row.deleted_at,
    }
}

fn store_to_row(store: &Store) -> StoreRow {
    let s = &store.settings;
    StoreRow {
        id: store.id.as_str().to_owned(),
        name: store.name.clone(),
        support_email: s.support_email.clone(),
        currency: s.currency.map(|c| c.code().to_owned()),
        country: s.country.clone(),
        link_origins: s.link_origins.as_ref().map(|list| {
            serde_json::Value::from(list.iter().map(origin_text).collect::<Vec<_>>()).to_string()
        }),
        mail_from: s.mail_from.clone(),
        mail_subject: s.mail_subject.clone(),
        order_reference_prefix: s.order_reference_prefix.clone(),
        created_at: store.created_at,
        updated_at: store.updated_at,
        deleted_at: store.deleted_at,
    }
}

impl StoreService {
    pub fn new(db: Db, clock: Clock) -> Self {
        StoreService {
            db,
            clock,
            cache: Arc::default(),
        }
    }

    fn cached(&self, id: &StoreId) -> Option<Arc<Store>> {
        let now = self.clock.instant();
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(id)
            .filter(|(at, _)| fresh(*at, now))
            .map(|(_, store)| store.clone())
    }

    fn remember(&self, store: Arc<Store>) {
        let now = self.clock.instant();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        // Stores are few; a deployment with very many keeps only the ones in use.
        if cache.len() > 10_000 {
            cache.retain(|_, (at, _)| fresh(*at, now));
        }
        cache.insert(store.id.clone(), (now, store));
    }

    fn forget(&self, id: &StoreId) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.remove(id);
    }

    /// The live store a key or token names, with its settings, for this request.
    pub async fn resolve(&self, id: &StoreId) -> Result<Option<Arc<Store>>, StoreError> {
        if let Some(store) = self.cached(id) {
            return Ok(Some(store));
        }
        let lookup = id.clone();
        let found = self
            .db
            .run(move |conn| Ok::<_, StoreError>(q::find_live(conn, lookup.as_str())?))
            .await?
            .map(|row| Arc::new(row_to_store(row)));
        if let Some(store) = &found {
            self.remember(store.clone());
        }
        Ok(found)
    }

    pub async fn create(&self, new: NewStore) -> Result<CreatedStore, StoreError> {
        let now = self.clock.now();
        let store = Store {
            id: StoreId::generate(),
            name: new.name,
            settings: new.settings,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let row = store_to_row(&store);
        let (public_row, public_key) = keys::new_key(KeyKind::Public, &store.id, now);
        let (secret_row, secret_key) = keys::new_key(KeyKind::Secret, &store.id, now);
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    q::insert(conn, &row)?;
                    crate::db::api_keys::insert(conn, &public_row)?;
                    crate::db::api_keys::insert(conn, &secret_row)?;
                    Ok::<_, StoreError>(())
                })
            })
            .await?;
        Ok(CreatedStore {
            store,
            public_key,
            secret_key,
        })
    }

    pub async fn get(&self, id: &StoreId) -> Result<Store, StoreError> {
        let id = id.clone();
        self.db
            .run(move |conn| {
                q::find_live(conn, id.as_str())?
                    .map(row_to_store)
                    .ok_or(StoreError::NotFound)
            })
            .await
    }

    pub async fn update(&self, id: &StoreId, patch: StorePatch) -> Result<Store, StoreError> {
        let lookup = id.clone();
        let clock = self.clock.clone();
        let updated = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let mut store = q::find_live(conn, lookup.as_str())?
                        .map(row_to_store)
                        .ok_or(StoreError::NotFound)?;
                    patch.apply(&mut store);
                    store.updated_at = clock.now();
                    if !q::update(conn, &store_to_row(&store))? {
                        return Err(StoreError::NotFound);
                    }
                    Ok(store)
                })
            })
            .await?;
        self.forget(id);
        Ok(updated)
    }

    /// Deletes a store: its keys and customer tokens are refused from now on, its data stays
    /// until `purge`. The default store cannot be deleted.
    pub async fn delete(&self, id: &StoreId) -> Result<(), StoreError> {
        if id.is_default() {
            return Err(ValidationError::field(
                "default_store",
                "id",
                "The default store cannot be deleted.",
            )
            .into());
        }
        let lookup = id.clone();
        let clock = self.clock.clone();
        let deleted = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    Ok::<_, StoreError>(q::mark_deleted(conn, lookup.as_str(), clock.now())?)
                })
            })
            .await?;
        self.forget(id);
        if deleted {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Erases a deleted store and everything in it.
    pub async fn purge(&self, id: &StoreId) -> Result<Purge, StoreError> {
        if id.is_default() {
            return Ok(Purge::Default);
        }
        let id = id.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let Some(row) = q::find_any(conn, id.as_str())? else {
                        return Ok(Purge::NotFound);
                    };
                    if row.deleted_at.is_none() {
                        return Ok(Purge::Live);
                    }
                    let customers = q::purge(conn, id.as_str())?;
                    Ok::<_, StoreError>(Purge::Purged { customers })
                })
            })
            .await
    }

    pub async fn list(
        &self,
        page: u32,
        limit: u32,
        direction: SortDirection,
    ) -> Result<Page<Store>, StoreError> {
        self.db
            .run(move |conn| {
                let total = q::count_live(conn)?;
                let page = Page::read(total, page, limit, |limit, offset| {
                    q::page_live(conn, direction == SortDirection::Desc, limit, offset)
                })?;
                Ok::<_, StoreError>(page.map(row_to_store))
            })
            .await
    }

    /// A store, deleted or not (the CLI names deleted stores too).
    pub async fn find_any(&self, id: &StoreId) -> Result<Option<Store>, StoreError> {
        let id = id.clone();
        self.db
            .run(move |conn| Ok::<_, StoreError>(q::find_any(conn, id.as_str())?))
            .await
            .map(|row| row.map(row_to_store))
    }

    /// Every store, deleted ones included (the CLI).
    pub async fn all(&self) -> Result<Vec<Store>, StoreError> {
        self.db
            .run(|conn| Ok::<_, StoreError>(q::all(conn)?))
            .await
            .map(|rows| rows.into_iter().map(row_to_store).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DatabaseFailure;

    /// `Db::run` checks the connection after a database failure only: a store that is not
    /// there, or a broken rule, says nothing about the connection.
    #[test]
    fn only_a_database_error_is_a_database_failure() {
        assert!(!StoreError::NotFound.database_failure());
        assert!(!StoreError::Invalid(ValidationError::field("x", "name", "x")).database_failure());
        assert!(StoreError::Db(DbError::Unavailable("gone".into())).database_failure());
        assert!(!StoreError::Db(DbError::UniqueViolation("taken".into())).database_failure());
    }
}
