//! Customer sessions: EdDSA-signed JWTs whose `jti` is a row in `sessions`, so logout works,
//! and a keyring in the database so every replica signs and verifies alike.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::config::Config;
use crate::db::scope::Scope;
use crate::db::signing_keys::{self as keys_q, SigningKeyRow};
use crate::db::{sessions as q, write_tx, Db, DbConnection, DbError};
use crate::domain::customer::Customer;
use crate::domain::{random, CustomerId, StoreId};
use crate::secrets::{self, SealError, SecretsKey};

/// The one algorithm accepted.
const ALGORITHM: Algorithm = Algorithm::EdDSA;
const ALGORITHM_NAME: &str = "EdDSA";
/// How long a verifier trusts its cached keyring before re-reading it.
/// Retirement does not wait for it: the session query checks the key in the database.
const KEYRING_TTL: Duration = Duration::from_secs(10);
/// A kid missing from a cached keyring reloads it, at most this often.
const KEYRING_MISS_RELOAD: Duration = Duration::from_secs(1);
/// How long after its `exp` a token is still accepted, for clocks a little apart.
const EXP_LEEWAY_SECS: i64 = 5;
/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410): this prefix, then the 32 seed bytes.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// Chec's claim for the customer id.
    pub cid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The store the customer belongs to. Tokens issued before stores existed have none and
    /// belong to the default store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("invalid token")]
    Invalid,
    #[error("no signing key")]
    NoSigningKey,
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("JWT signing key {kid} is encrypted in the database but PATRON_SECRETS_KEY is not set: set it to the key the signing keys were encrypted with")]
    SecretsKeyMissing { kid: String },
    #[error("PATRON_SECRETS_KEY does not decrypt JWT signing key {kid}: it is not the key the signing keys were encrypted with (or the stored key was altered)")]
    SecretsKeyWrong { kid: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::DatabaseFailure for SessionError {
    fn database_failure(&self) -> bool {
        matches!(self, SessionError::Db(e) if e.database_failure())
    }
}

impl From<diesel::result::Error> for SessionError {
    fn from(e: diesel::result::Error) -> Self {
        SessionError::Db(e.into())
    }
}

/// A JWT just issued, and the session it stands for.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub jwt: String,
    pub session_id: String,
    pub expires_at: NaiveDateTime,
}

/// A public key as published in the JWKS.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

struct CachedKey {
    decoding: DecodingKey,
    retired_at: Option<NaiveDateTime>,
}

#[derive(Default)]
struct Keyring {
    keys: HashMap<String, Arc<CachedKey>>,
    loaded_at: Option<Instant>,
}

/// Signatures already checked, so a busy customer's token is verified once, not on every
/// request (Ed25519 was a quarter of the profile read's CPU). The session is still checked in
/// the database every time, so logout stays immediate.
type VerifiedTokens = Arc<std::sync::Mutex<HashMap<String, Verified>>>;

/// What a token's checked signature says: whose session, in which store, until when.
#[derive(Debug, Clone)]
struct Verified {
    customer_id: CustomerId,
    session_id: String,
    store: StoreId,
    exp: i64,
}
const VERIFIED_TOKENS_MAX: usize = 10_000;

#[derive(Clone)]
pub struct SessionService {
    db: Db,
    clock: Clock,
    config: Arc<Config>,
    keyring: Arc<RwLock<Keyring>>,
    verified: VerifiedTokens,
}

/// How the signing keys are kept in the database, as found (and made so) at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysAtRest {
    /// Encrypted with `PATRON_SECRETS_KEY`; `newly` were stored in clear until now.
    Encrypted { newly: usize },
    /// In clear: no `PATRON_SECRETS_KEY`.
    Unencrypted,
}

/// A signing key's private part as stored: sealed with the secrets key when there is one
/// (bound to the kid), else the seed in base64.
fn stored_private_key(kid: &str, seed: &[u8], key: Option<&SecretsKey>) -> String {
    match key {
        Some(key) => key.seal(kid, seed),
        None => STANDARD.encode(seed),
    }
}

fn new_key_row(secrets: Option<&SecretsKey>, now: NaiveDateTime) -> SigningKeyRow {
    let seed = random::bytes::<32>();
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    let kid = random::alphanumeric(16);
    SigningKeyRow {
        private_key: stored_private_key(&kid, &seed, secrets),
        kid,
        algorithm: ALGORITHM_NAME.into(),
        public_key: URL_SAFE_NO_PAD.encode(public),
        created_at: now,
        retired_at: None,
    }
}

/// The 32-byte seed of a stored key, decrypted when it is sealed.
fn seed(row: &SigningKeyRow, secrets: Option<&SecretsKey>) -> Result<Vec<u8>, SessionError> {
    let kid = || row.kid.clone();
    let seed = match secrets::open_or_plain(secrets, &row.kid, &row.private_key) {
        Ok(Some(seed)) => seed,
        Ok(None) => STANDARD.decode(&row.private_key).map_err(|e| {
            SessionError::Signing(format!("stored key {} unreadable: {e}", row.kid))
        })?,
        Err(SealError::KeyMissing) => return Err(SessionError::SecretsKeyMissing { kid: kid() }),
        Err(SealError::WrongKey | SealError::Malformed) => {
            return Err(SessionError::SecretsKeyWrong { kid: kid() })
        }
    };
    if seed.len() != 32 {
        return Err(SessionError::Signing(format!(
            "stored key {} is not an Ed25519 seed",
            row.kid
        )));
    }
    Ok(seed)
}

fn encoding_key(
    row: &SigningKeyRow,
    secrets: Option<&SecretsKey>,
) -> Result<EncodingKey, SessionError> {
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&seed(row, secrets)?);
    Ok(EncodingKey::from_ed_der(&der))
}

impl SessionService {
    pub fn new(db: Db, clock: Clock, config: Arc<Config>) -> Self {
        SessionService {
            db,
            clock,
            config,
            keyring: Arc::default(),
            verified: Arc::default(),
        }
    }

    fn secrets_key(&self) -> Option<&SecretsKey> {
        self.config.secrets_key.as_ref()
    }

    /// Makes the first signing key if there is none (every replica may call this at start).
    pub async fn ensure_signing_key(&self) -> Result<(), SessionError> {
        let secrets = self.config.secrets_key.clone();
        let clock = self.clock.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    keys_q::lock_table(conn)?;
                    if keys_q::current(conn)?.is_none() {
                        keys_q::insert(conn, &new_key_row(secrets.as_ref(), clock.now()))?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// Checks at start that every stored signing key can be read with the configured secrets
    /// key, and encrypts those still in clear when there is one (so it can be turned on at any
    /// time). A key that cannot be read is an error here rather than a failed login later.
    pub async fn secure_stored_keys(&self) -> Result<KeysAtRest, SessionError> {
        let secrets = self.config.secrets_key.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    keys_q::lock_table(conn)?;
                    let mut newly = 0;
                    for row in keys_q::list(conn)? {
                        let seed = seed(&row, secrets.as_ref())?;
                        if let (Some(key), false) =
                            (secrets.as_ref(), secrets::is_sealed(&row.private_key))
                        {
                            let sealed = stored_private_key(&row.kid, &seed, Some(key));
                            keys_q::replace_private_key(conn, &row.kid, &row.private_key, &sealed)?;
                            newly += 1;
                        }
                    }
                    Ok(match secrets {
                        Some(_) => KeysAtRest::Encrypted { newly },
                        None => KeysAtRest::Unencrypted,
                    })
                })
            })
            .await
    }

    /// Starts signing with a new key. The old keys keep verifying until the tokens they signed
    /// have expired, so nobody is logged out. Returns the new key id.
    pub async fn rotate(&self) -> Result<String, SessionError> {
        let ttl = self.ttl();
        let secrets = self.config.secrets_key.clone();
        let clock = self.clock.clone();
        let kid = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    keys_q::lock_table(conn)?;
                    let now = clock.now();
                    keys_q::retire_active(conn, now + ttl)?;
                    let row = new_key_row(secrets.as_ref(), now);
                    keys_q::insert(conn, &row)?;
                    Ok::<_, SessionError>(row.kid)
                })
            })
            .await?;
        self.forget_cache();
        Ok(kid)
    }

    /// Stops a key verifying at once (a leaked key): its tokens are refused from now on.
    pub async fn retire(&self, kid: &str) -> Result<bool, SessionError> {
        let kid = kid.to_owned();
        let clock = self.clock.clone();
        let n = self
            .db
            .run(move |conn| keys_q::retire(conn, &kid, clock.now()).map_err(SessionError::from))
            .await?;
        self.forget_cache();
        Ok(n > 0)
    }

    pub async fn list_keys(&self) -> Result<Vec<SigningKeyRow>, SessionError> {
        self.db
            .run(|conn| keys_q::list(conn).map_err(SessionError::from))
            .await
    }

    fn ttl(&self) -> TimeDelta {
        TimeDelta::from_std(self.config.jwt_ttl).unwrap_or(TimeDelta::days(1))
    }

    fn forget_cache(&self) {
        if let Ok(mut ring) = self.keyring.write() {
            ring.loaded_at = None;
        }
    }

    /// Creates a session for the customer starting at `now` and signs its JWT, inside the
    /// caller's transaction.
    pub fn issue_in(
        &self,
        conn: &mut DbConnection,
        now: NaiveDateTime,
        scope: Scope<'_>,
        customer_id: &CustomerId,
    ) -> Result<IssuedSession, SessionError> {
        let key = keys_q::current(conn)?.ok_or(SessionError::NoSigningKey)?;
        let expires_at = now + self.ttl();
        let session_id = random::alphanumeric(24);
        q::insert(
            conn,
            &q::NewSession {
                id: &session_id,
                customer_id: customer_id.as_str(),
                created_at: now,
                expires_at,
                store_id: scope.id(),
            },
        )?;
        let claims = Claims {
            iss: self.config.jwt_issuer.clone(),
            aud: self.config.jwt_audience.clone(),
            sub: customer_id.as_str().to_owned(),
            cid: customer_id.as_str().to_owned(),
            iat: now.and_utc().timestamp(),
            exp: expires_at.and_utc().timestamp(),
            jti: session_id.clone(),
            store: Some(scope.id().to_owned()),
        };
        // A key this process has not cached yet (another process rotated or retired keys and
        // made it): the next verification must re-read the keyring rather than refuse the
        // token just issued for up to the miss-reload interval.
        let known = self
            .keyring
            .read()
            .is_ok_and(|ring| ring.keys.contains_key(&key.kid));
        if !known {
            self.forget_cache();
        }
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".into());
        let jwt = jsonwebtoken::encode(&header, &claims, &encoding_key(&key, self.secrets_key())?)
            .map_err(|e| SessionError::Signing(e.to_string()))?;
        Ok(IssuedSession {
            jwt,
            session_id,
            expires_at,
        })
    }

    /// Checks signature, algorithm, issuer, audience and expiry, then that the session is live.
    /// Returns the session id, the customer (read in the same query) and their store.
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<(String, Customer, StoreId), SessionError> {
        if token.len() > 4096 {
            return Err(SessionError::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| SessionError::Invalid)?;
        if header.alg != ALGORITHM {
            return Err(SessionError::Invalid);
        }
        let kid = header.kid.ok_or(SessionError::Invalid)?;
        let key = self
            .verifying_key(&kid)
            .await?
            .ok_or(SessionError::Invalid)?;
        let now = self.clock.now();
        if key.retired_at.is_some_and(|t| t <= now) {
            return Err(SessionError::Invalid);
        }
        // A remembered token is held to the same expiry as one checked now.
        let cached = self
            .verified
            .lock()
            .ok()
            .and_then(|m| m.get(token).cloned())
            .filter(|v| !expired(v.exp, now));
        let Verified {
            customer_id,
            session_id,
            store,
            ..
        } = match cached {
            Some(verified) => verified,
            None => self.verify_signature(token, &key, now)?,
        };
        // The keyring above may be a few seconds old on this replica; the session query checks
        // the key's retirement in the database, so a retired key's tokens stop at once. It
        // checks the store too: a deleted store's sessions are ended with it.
        let customer = q::read_live_customer(
            &self.db,
            q::SessionCheck {
                id: &session_id,
                customer_id: customer_id.as_str(),
                store: store.as_str(),
                kid: &kid,
                now,
            },
        )
        .await?
        .ok_or(SessionError::Invalid)?;
        Ok((session_id, Customer::from(customer), store))
    }

    fn verify_signature(
        &self,
        token: &str,
        key: &CachedKey,
        now: NaiveDateTime,
    ) -> Result<Verified, SessionError> {
        let mut validation = Validation::new(ALGORITHM);
        // jsonwebtoken would read the system's clock: `exp` is checked against ours below.
        // It must still be there, a number.
        validation.validate_exp = false;
        validation.set_issuer(&[&self.config.jwt_issuer]);
        validation.set_audience(&[&self.config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|_| SessionError::Invalid)?
            .claims;
        if expired(claims.exp, now) || claims.cid != claims.sub {
            return Err(SessionError::Invalid);
        }
        let customer_id = CustomerId::parse(&claims.sub).ok_or(SessionError::Invalid)?;
        let store = match claims.store.as_deref() {
            None => StoreId::default_store(),
            Some(raw) => StoreId::parse(raw).ok_or(SessionError::Invalid)?,
        };
        let verified = Verified {
            customer_id,
            session_id: claims.jti,
            store,
            exp: claims.exp,
        };
        if let Ok(mut m) = self.verified.lock() {
            if m.len() >= VERIFIED_TOKENS_MAX {
                m.clear();
            }
            m.insert(token.to_owned(), verified.clone());
        }
        Ok(verified)
    }

    async fn verifying_key(&self, kid: &str) -> Result<Option<Arc<CachedKey>>, SessionError> {
        if let Ok(ring) = self.keyring.read() {
            let now = self.clock.instant();
            if let Some(age) = ring.loaded_at.map(|t| now.saturating_duration_since(t)) {
                if age < KEYRING_TTL {
                    match ring.keys.get(kid) {
                        Some(key) => return Ok(Some(key.clone())),
                        // An unknown kid may be a key another replica has just made (after
                        // `retire-jwt`, say): worth a reload, but not on every request, or
                        // made-up kids would read the table each time.
                        None if age < KEYRING_MISS_RELOAD => return Ok(None),
                        None => {}
                    }
                }
            }
        }
        let clock = self.clock.clone();
        let rows = self
            .db
            .run(move |conn| keys_q::usable(conn, clock.now()).map_err(SessionError::from))
            .await?;
        let mut keys = HashMap::new();
        for row in rows {
            if let Ok(decoding) = DecodingKey::from_ed_components(&row.public_key) {
                keys.insert(
                    row.kid.clone(),
                    Arc::new(CachedKey {
                        decoding,
                        retired_at: row.retired_at,
                    }),
                );
            }
        }
        let found = keys.get(kid).cloned();
        if let Ok(mut ring) = self.keyring.write() {
            ring.keys = keys;
            ring.loaded_at = Some(self.clock.instant());
        }
        Ok(found)
    }

    /// The public keys that verify tokens, for `/.well-known/jwks.json`.
    pub async fn jwks(&self) -> Result<Vec<Jwk>, SessionError> {
        let clock = self.clock.clone();
        let rows = self
            .db
            .run(move |conn| keys_q::usable(conn, clock.now()).map_err(SessionError::from))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: r.public_key,
                kid: r.kid,
                alg: ALGORITHM_NAME.into(),
                use_: "sig".into(),
            })
            .collect())
    }

    /// Ends one session at `now`; true if it was live.
    pub fn revoke_in(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        scope: Scope<'_>,
        session_id: &str,
    ) -> diesel::QueryResult<bool> {
        q::revoke(conn, scope, session_id, now).map(|n| n > 0)
    }

    /// Ends every session of the customer at `now`; returns how many.
    pub fn revoke_all_in(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        scope: Scope<'_>,
        customer_id: &str,
    ) -> diesel::QueryResult<usize> {
        q::revoke_all(conn, scope, customer_id, now)
    }
}

/// Whether a token whose `exp` claim says `exp` has expired at `now`, past the leeway
/// (`exp < now - leeway`, as jsonwebtoken counts it).
fn expired(exp: i64, now: NaiveDateTime) -> bool {
    exp < now.and_utc().timestamp().saturating_sub(EXP_LEEWAY_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_expires_five_seconds_after_its_exp() {
        let exp = 1_800_000_000;
        let at = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 999_999_000)
                .unwrap()
                .naive_utc()
        };
        assert!(!expired(exp, at(exp - 1)));
        assert!(
            !expired(exp, at(exp + EXP_LEEWAY_SECS)),
            "within the leeway"
        );
        assert!(expired(exp, at(exp + EXP_LEEWAY_SECS + 1)));
    }

    #[test]
    fn pkcs8_wrapping_signs_and_the_jwk_verifies() {
        let row = new_key_row(None, Clock::system().now());
        let key = encoding_key(&row, None).unwrap();
        let claims =
            serde_json::json!({"sub": "x", "exp": 4_000_000_000_i64, "iss": "i", "aud": "a"});
        let token = jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &key).unwrap();
        let decoding = DecodingKey::from_ed_components(&row.public_key).unwrap();
        let mut v = Validation::new(ALGORITHM);
        v.set_audience(&["a"]);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &v).is_ok());
        let other =
            DecodingKey::from_ed_components(&new_key_row(None, Clock::system().now()).public_key)
                .unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &other, &v).is_err());
    }

    #[test]
    fn a_sealed_key_signs_only_with_its_secrets_key() {
        let secrets = SecretsKey::from_bytes([9; 32]);
        let row = new_key_row(Some(&secrets), Clock::system().now());
        assert!(row.private_key.starts_with(secrets::SEALED_PREFIX));
        let seed = seed(&row, Some(&secrets)).unwrap();
        let public = SigningKey::from_bytes(&seed.clone().try_into().unwrap())
            .verifying_key()
            .to_bytes();
        assert_eq!(URL_SAFE_NO_PAD.encode(public), row.public_key);
        assert!(!row
            .private_key
            .contains(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(&seed)));
        assert!(matches!(
            encoding_key(&row, None),
            Err(SessionError::SecretsKeyMissing { .. })
        ));
        assert!(matches!(
            encoding_key(&row, Some(&SecretsKey::from_bytes([1; 32]))),
            Err(SessionError::SecretsKeyWrong { .. })
        ));
        // Sealed for one kid, it does not open under another.
        let mut moved = row.clone();
        moved.kid = "another".into();
        assert!(matches!(
            encoding_key(&moved, Some(&secrets)),
            Err(SessionError::SecretsKeyWrong { .. })
        ));
    }
}
