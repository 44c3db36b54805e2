//! Merchant API keys: `pk_...` for the storefront, `sk_...` for the back office.
//!
//! Keys from the environment are compared in constant time; keys made by `patron keys create`
//! (or on first start) are stored only as SHA-256 hashes and found by that hash. A key found
//! unknown is refused without asking again for a short while (`unknown`).

pub mod unknown;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::Clock;
use crate::config::Secret;
use crate::db::api_keys::{self as q, ApiKeyRow};
use crate::db::scope::Scope;
use crate::db::{write_tx, Db, DbError};
use crate::domain::{random, StoreId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Public,
    Secret,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Public => "public",
            KeyKind::Secret => "secret",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            KeyKind::Public => "pk_",
            KeyKind::Secret => "sk_",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "public" => Some(KeyKind::Public),
            "secret" => Some(KeyKind::Secret),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for KeyError {
    fn database_failure(&self) -> bool {
        matches!(self, KeyError::Db(e) if e.database_failure())
    }
}

impl From<diesel::result::Error> for KeyError {
    fn from(e: diesel::result::Error) -> Self {
        KeyError::Db(e.into())
    }
}

/// What `revoke` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    Revoked(String),
    NotFound,
    /// Several live keys share the prefix given: their ids, so the operator can pick one.
    Ambiguous(Vec<String>),
}

/// `pk_`/`sk_` and six characters: what `keys list` shows of a key.
const DISPLAY_PREFIX_LEN: usize = 9;

/// A key as shown once to its owner, and what is stored of it.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub id: String,
    pub kind: KeyKind,
    pub key: Secret,
}

/// A live key: what it may do, and the store everything it touches belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKey {
    pub kind: KeyKind,
    pub store: StoreId,
}

#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub id: String,
    pub kind: String,
    pub prefix: String,
    pub created_at: chrono::NaiveDateTime,
    pub revoked_at: Option<chrono::NaiveDateTime>,
}

fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone)]
pub struct KeyService {
    db: Db,
    clock: Clock,
    env_public: Option<[u8; 32]>,
    env_secret: Option<[u8; 32]>,
    unknown: unknown::UnknownKeys,
    lookups: Arc<AtomicU64>,
    /// The store of each key seen live beside a customer token (see `store_of`).
    stores_of: Arc<std::sync::Mutex<std::collections::HashMap<[u8; 32], StoreId>>>,
}

/// Keys whose store `store_of` remembers; past it, it starts over.
const STORES_OF_MAX: usize = 10_000;

impl KeyService {
    pub fn new(db: Db, clock: Clock, public: Option<&Secret>, secret: Option<&Secret>) -> Self {
        KeyService {
            db,
            clock,
            env_public: public.map(|k| hash(k.expose())),
            env_secret: secret.map(|k| hash(k.expose())),
            unknown: unknown::UnknownKeys::new(unknown::UNKNOWN_TTL, unknown::CAPACITY),
            lookups: Arc::default(),
            stores_of: Arc::default(),
        }
    }

    /// How many times this service (and its clones) asked the database for a presented key.
    pub fn stored_lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    pub fn has_configured_keys(&self) -> bool {
        self.env_public.is_some() || self.env_secret.is_some()
    }

    /// Which kind of key `presented` is, and of which store, if any live key matches. The
    /// environment's keys belong to the default store.
    pub async fn verify(&self, presented: &str) -> Result<Option<VerifiedKey>, KeyError> {
        if presented.len() > 200 || !(presented.starts_with("pk_") || presented.starts_with("sk_"))
        {
            return Ok(None);
        }
        let digest = hash(presented);
        // Both comparisons always run, so timing does not say which one matched.
        let public = self
            .env_public
            .map(|k| bool::from(k.ct_eq(&digest)))
            .unwrap_or(false);
        let secret = self
            .env_secret
            .map(|k| bool::from(k.ct_eq(&digest)))
            .unwrap_or(false);
        let default = |kind| {
            Ok(Some(VerifiedKey {
                kind,
                store: StoreId::default_store(),
            }))
        };
        if secret {
            return default(KeyKind::Secret);
        }
        if public {
            return default(KeyKind::Public);
        }
        let lookup = match self.unknown.check(digest, self.clock.instant()) {
            unknown::Check::Unknown => return Ok(None),
            unknown::Check::Ask(lookup) => lookup,
        };
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let digest_hex = hex(&digest);
        let found = self
            .db
            .run(move |conn| q::live_by_hash(conn, &digest_hex).map_err(KeyError::from))
            .await
            .map(|found| {
                found.and_then(|(kind, store)| {
                    Some(VerifiedKey {
                        kind: KeyKind::from_db(&kind)?,
                        store: StoreId::from_trusted(store),
                    })
                })
            });
        let answer = match found {
            Ok(None) => unknown::Answer::Unknown,
            _ => unknown::Answer::NotUnknown,
        };
        lookup.finish(answer, self.clock.instant());
        found
    }

    /// The store of a merchant key sent beside a customer token (Commerce.js sends its public
    /// key with every call), to refuse a token of another store. A key's store never changes,
    /// so once a key has been seen live its store is remembered and the customer's requests
    /// make no key lookup; the token is the credential, and it is checked on every request.
    pub async fn store_of(&self, presented: &str) -> Result<Option<StoreId>, KeyError> {
        let digest = hash(presented);
        let remembered = self
            .stores_of
            .lock()
            .ok()
            .and_then(|m| m.get(&digest).cloned());
        if remembered.is_some() {
            return Ok(remembered);
        }
        let Some(found) = self.verify(presented).await? else {
            return Ok(None);
        };
        if let Ok(mut m) = self.stores_of.lock() {
            if m.len() >= STORES_OF_MAX {
                m.clear();
            }
            m.insert(digest, found.store.clone());
        }
        Ok(Some(found.store))
    }

    /// Creates and stores a new key of the default store.
    pub async fn create(&self, kind: KeyKind) -> Result<IssuedKey, KeyError> {
        self.create_in(kind, &StoreId::default_store()).await
    }

    /// Creates and stores a new key of `store`; the plain key exists only in the return value.
    pub async fn create_in(&self, kind: KeyKind, store: &StoreId) -> Result<IssuedKey, KeyError> {
        let (row, issued) = new_key(kind, store, self.clock.now());
        self.db
            .run(move |conn| q::insert(conn, &row).map_err(KeyError::from))
            .await?;
        Ok(issued)
    }

    /// On the very first start with no configured keys, makes a public/secret pair.
    /// Returns it so the caller can print it once; `None` when keys already exist.
    pub async fn create_initial_pair(&self) -> Result<Option<(IssuedKey, IssuedKey)>, KeyError> {
        if self.has_configured_keys() {
            return Ok(None);
        }
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    q::lock_table(conn)?;
                    let store = StoreId::default_store();
                    if q::count_all(conn, Scope::new(&store))? > 0 {
                        return Ok(None);
                    }
                    let now = clock.now();
                    let (public_row, public) = new_key(KeyKind::Public, &store, now);
                    let (secret_row, secret) = new_key(KeyKind::Secret, &store, now);
                    q::insert(conn, &public_row)?;
                    q::insert(conn, &secret_row)?;
                    Ok(Some((public, secret)))
                })
            })
            .await
    }

    /// The default store's keys.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        self.list_in(&StoreId::default_store()).await
    }

    pub async fn list_in(&self, store: &StoreId) -> Result<Vec<KeyInfo>, KeyError> {
        let store = store.clone();
        let rows = self
            .db
            .run(move |conn| q::list(conn, Scope::new(&store)).map_err(KeyError::from))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| KeyInfo {
                id: r.id,
                kind: r.kind,
                prefix: r.key_prefix,
                created_at: r.created_at,
                revoked_at: r.revoked_at,
            })
            .collect())
    }

    /// [`Self::revoke_in`] the default store.
    pub async fn revoke(&self, target: &str) -> Result<Revocation, KeyError> {
        self.revoke_in(&StoreId::default_store(), target).await
    }

    /// Revokes the one live key of `store` that `target` names: its id (`key_...`), the whole
    /// key, or its prefix as `patron keys list` prints it (with or without the trailing `…`).
    pub async fn revoke_in(&self, store: &StoreId, target: &str) -> Result<Revocation, KeyError> {
        let store = store.clone();
        let target = target
            .trim()
            .trim_end_matches('…')
            .trim_end_matches("...")
            .to_owned();
        let whole_key_hash = (target.len() > DISPLAY_PREFIX_LEN).then(|| hex(&hash(&target)));
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let by = match &whole_key_hash {
                        _ if target.starts_with("key_") => q::KeyRef::Id(&target),
                        Some(h) => q::KeyRef::Hash(h),
                        None => q::KeyRef::Prefix(&target),
                    };
                    let scope = Scope::new(&store);
                    let ids = q::live_ids(conn, scope, by)?;
                    match ids.as_slice() {
                        [] => Ok(Revocation::NotFound),
                        [id] => {
                            q::revoke(conn, scope, id, clock.now())?;
                            Ok(Revocation::Revoked(id.clone()))
                        }
                        _ => Ok(Revocation::Ambiguous(ids)),
                    }
                })
            })
            .await
    }
}

/// A new key of `store`, made at `now`: the row to store and the key to show once.
pub fn new_key(kind: KeyKind, store: &StoreId, now: NaiveDateTime) -> (ApiKeyRow, IssuedKey) {
    let key = format!("{}{}", kind.prefix(), random::alphanumeric(40));
    let id = format!("key_{}", random::alphanumeric(14));
    let row = ApiKeyRow {
        id: id.clone(),
        kind: kind.as_str().to_owned(),
        // Enough to recognise the key in a list, far too little to guess the rest.
        key_prefix: key.chars().take(DISPLAY_PREFIX_LEN).collect(),
        key_hash: hex(&hash(&key)),
        created_at: now,
        revoked_at: None,
        store_id: store.as_str().to_owned(),
    };
    (
        row,
        IssuedKey {
            id,
            kind,
            key: Secret::new(key),
        },
    )
}
