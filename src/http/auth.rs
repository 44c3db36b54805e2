//! Who is calling: a merchant with a public or secret key (`X-Authorization`), or a customer
//! with a bearer JWT (`Authorization: Bearer`).
//!
//! When a bearer token is present the merchant header is not checked: Commerce.js sends its
//! public key there, or the string `undefined`, on customer calls. Anything else in it (a value
//! that is not a merchant key at all) is refused, as is an `Authorization` header patron cannot
//! use: a credential sent is never silently passed over for another.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use std::sync::Arc;

use super::error::ApiError;
use super::AppState;
use crate::domain::store::Store;
use crate::domain::{CustomerId, StoreId};
use crate::service::KeyKind;

pub const MERCHANT_KEY_HEADER: &str = "x-authorization";

/// A verified customer session.
#[derive(Debug, Clone)]
pub struct CustomerSession {
    pub session_id: String,
    /// The customer as read together with the session check, this request.
    pub customer: crate::domain::customer::Customer,
}

impl CustomerSession {
    pub fn customer_id(&self) -> &CustomerId {
        &self.customer.id
    }
}

/// Who is calling, and the store the request acts in: the merchant key's store, or the
/// customer token's. Every service call of a handler takes this store.
#[derive(Debug, Clone)]
pub struct Caller {
    pub store: Arc<Store>,
    pub who: Who,
}

#[derive(Debug, Clone)]
pub enum Who {
    Merchant(KeyKind),
    Customer(Box<CustomerSession>),
}

fn secret_required() -> ApiError {
    ApiError::Forbidden {
        code: "secret_key_required",
        message: "This endpoint requires a secret key.",
    }
}

impl Caller {
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_id(&self) -> &StoreId {
        &self.store.id
    }

    /// Only the back office (secret key) may do this.
    pub fn require_secret(&self) -> Result<(), ApiError> {
        match &self.who {
            Who::Merchant(KeyKind::Secret) => Ok(()),
            _ => Err(secret_required()),
        }
    }

    /// A storefront or back office (either key), not a customer token.
    pub fn require_merchant(&self) -> Result<KeyKind, ApiError> {
        match &self.who {
            Who::Merchant(kind) => Ok(*kind),
            Who::Customer(_) => Err(ApiError::Forbidden {
                code: "merchant_key_required",
                message: "This endpoint requires a merchant API key.",
            }),
        }
    }

    /// A secret key, or the customer themselves. Another customer's id answers 404 so that
    /// ids cannot be probed.
    pub fn require_customer_or_secret(&self, id: &CustomerId) -> Result<(), ApiError> {
        match &self.who {
            Who::Merchant(KeyKind::Secret) => Ok(()),
            Who::Merchant(KeyKind::Public) => Err(secret_required()),
            Who::Customer(s) if s.customer_id() == id => Ok(()),
            Who::Customer(_) => Err(ApiError::customer_not_found()),
        }
    }

    /// A customer's bearer token. Without one the credential this endpoint takes is missing
    /// (401, RFC 9110), whatever merchant key came along: Commerce.js sends its public key
    /// with every call, the customer's token beside it.
    pub fn require_customer(&self) -> Result<&CustomerSession, ApiError> {
        self.session().ok_or(ApiError::Unauthenticated {
            code: "customer_token_required",
            message:
                "This endpoint needs a customer's token: send it as Authorization: Bearer <jwt>.",
        })
    }

    pub fn session(&self) -> Option<&CustomerSession> {
        match &self.who {
            Who::Customer(s) => Some(s),
            Who::Merchant(_) => None,
        }
    }
}

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorization {
    /// No header: the merchant key decides.
    Absent,
    /// `Bearer <token>` (the scheme in any case); the token may be empty, and is then refused.
    Bearer(String),
    /// Anything else: another scheme (`Basic ...`), no scheme, an empty value or bytes that are
    /// not text. A credential was sent that patron cannot use, so the request is refused
    /// rather than served on the merchant key beside it.
    Unsupported,
}

pub fn authorization(req: &HttpRequest) -> Authorization {
    let Some(raw) = req.headers().get(header::AUTHORIZATION) else {
        return Authorization::Absent;
    };
    let Ok(value) = raw.to_str() else {
        return Authorization::Unsupported;
    };
    let value = value.trim();
    match value.get(..6) {
        // "Bearer" with nothing after it is still a (bad) bearer token, not a missing one.
        Some(scheme)
            if scheme.eq_ignore_ascii_case("bearer")
                && value[6..].chars().next().is_none_or(char::is_whitespace) =>
        {
            Authorization::Bearer(value[6..].trim().to_owned())
        }
        _ => Authorization::Unsupported,
    }
}

/// The `X-Authorization` header: `None` when absent, `Some(None)` when its bytes are not text.
pub fn merchant_key(req: &HttpRequest) -> Option<Option<String>> {
    req.headers()
        .get(MERCHANT_KEY_HEADER)
        .map(|v| v.to_str().ok().map(|s| s.trim().to_owned()))
}

/// A merchant key (`pk_...`, `sk_...`) in the bearer header is a common mistake; a customer
/// JWT never starts so. Told by its shape alone, without checking the key.
fn is_merchant_key(token: &str) -> bool {
    token.starts_with("pk_") || token.starts_with("sk_")
}

/// The operator's key (`PATRON_ADMIN_KEY`) is for `/v1/stores` only.
fn is_admin_key(key: &str) -> bool {
    key.starts_with("ak_")
}

fn admin_key_refused() -> ApiError {
    ApiError::Forbidden {
        code: "admin_key_not_allowed",
        message: "The admin key manages stores only: send a store's public or secret key here.",
    }
}

pub(crate) fn invalid_key() -> ApiError {
    ApiError::Unauthenticated {
        code: "invalid_api_key",
        message: "The API key is not valid, or has been revoked.",
    }
}

/// The live store a key or token names; one deleted meanwhile refuses the credential.
async fn store_of(state: &AppState, id: &StoreId) -> Result<Arc<Store>, ApiError> {
    state.stores.resolve(id).await?.ok_or_else(invalid_key)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authorization = authorization(req);
        let key = merchant_key(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("app state missing".into()))?;
            let bearer = match authorization {
                Authorization::Absent => None,
                Authorization::Bearer(token) => Some(token),
                Authorization::Unsupported => {
                    return Err(ApiError::Unauthenticated {
                        code: "unsupported_authorization",
                        message: "The Authorization header is not a customer token: send one as \
                                  Authorization: Bearer <jwt>, and a merchant key in the \
                                  X-Authorization header.",
                    })
                }
            };
            if let Some(token) = bearer {
                if is_merchant_key(&token) {
                    return Err(ApiError::Unauthenticated {
                        code: "api_key_as_bearer",
                        message: "This is a merchant API key: send it in the X-Authorization \
                                  header, not as Authorization: Bearer (which is for customer \
                                  tokens).",
                    });
                }
                let beside = key.as_ref().map(|k| k.as_deref());
                if beside.flatten().is_some_and(is_admin_key) {
                    return Err(admin_key_refused());
                }
                if !matches!(beside, None | Some(Some("undefined")))
                    && !beside.flatten().is_some_and(is_merchant_key)
                {
                    return Err(ApiError::Unauthenticated {
                        code: "invalid_api_key",
                        message: "The X-Authorization header beside the customer token is not a \
                                  merchant key.",
                    });
                }
                let (session, store) = state.authenticate_customer(&token).await?;
                // A merchant key beside the token (Commerce.js sends its public key) must be a
                // live key of the token's store: a token of one store is no good with another
                // store's key.
                if let Some(beside) = beside.flatten().filter(|k| is_merchant_key(k)) {
                    match state.keys.store_of(beside).await? {
                        Some(key_store) if key_store == store => {}
                        Some(_) => {
                            return Err(ApiError::Unauthenticated {
                                code: "store_mismatch",
                                message: "The customer token belongs to another store than the \
                                          API key sent with it.",
                            })
                        }
                        None => return Err(invalid_key()),
                    }
                }
                let store = store_of(&state, &store).await?;
                return Ok(Caller {
                    store,
                    who: Who::Customer(Box::new(session)),
                });
            }
            if matches!(key, Some(None)) {
                return Err(invalid_key());
            }
            let key = key
                .flatten()
                .filter(|k| !k.is_empty())
                .ok_or(ApiError::Unauthenticated {
                    code: "missing_api_key",
                    message: "No API key was given: send it in the X-Authorization header.",
                })?;
            if is_admin_key(&key) {
                return Err(admin_key_refused());
            }
            match state.keys.verify(&key).await? {
                Some(key) => Ok(Caller {
                    store: store_of(&state, &key.store).await?,
                    who: Who::Merchant(key.kind),
                }),
                None => Err(invalid_key()),
            }
        })
    }
}
