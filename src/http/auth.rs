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

use super::error::ApiError;
use super::AppState;
use crate::domain::CustomerId;
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

#[derive(Debug, Clone)]
pub enum Caller {
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
    /// Only the back office (secret key) may do this.
    pub fn require_secret(&self) -> Result<(), ApiError> {
        match self {
            Caller::Merchant(KeyKind::Secret) => Ok(()),
            _ => Err(secret_required()),
        }
    }

    /// A storefront or back office (either key), not a customer token.
    pub fn require_merchant(&self) -> Result<KeyKind, ApiError> {
        match self {
            Caller::Merchant(kind) => Ok(*kind),
            Caller::Customer(_) => Err(ApiError::Forbidden {
                code: "merchant_key_required",
                message: "This endpoint requires a merchant API key.",
            }),
        }
    }

    /// A secret key, or the customer themselves. Another customer's id answers 404 so that
    /// ids cannot be probed.
    pub fn require_customer_or_secret(&self, id: &CustomerId) -> Result<(), ApiError> {
        match self {
            Caller::Merchant(KeyKind::Secret) => Ok(()),
            Caller::Merchant(KeyKind::Public) => Err(secret_required()),
            Caller::Customer(s) if s.customer_id() == id => Ok(()),
            Caller::Customer(_) => Err(ApiError::customer_not_found()),
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
        match self {
            Caller::Customer(s) => Some(s),
            Caller::Merchant(_) => None,
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

/// A merchant key (`pk_...`, `sk_...`) in the bearer header is a common mistake; a customer
/// JWT never starts so. Told by its shape alone, without checking the key.
fn is_merchant_key(token: &str) -> bool {
    token.starts_with("pk_") || token.starts_with("sk_")
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authorization = authorization(req);
        // `Some(None)`: a header whose bytes are not text.
        let key = req
            .headers()
            .get(MERCHANT_KEY_HEADER)
            .map(|v| v.to_str().ok().map(|s| s.trim().to_owned()));
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
                if !matches!(beside, None | Some(Some("undefined")))
                    && !beside.flatten().is_some_and(is_merchant_key)
                {
                    return Err(ApiError::Unauthenticated {
                        code: "invalid_api_key",
                        message: "The X-Authorization header beside the customer token is not a \
                                  merchant key.",
                    });
                }
                let session = state.authenticate_customer(&token).await?;
                return Ok(Caller::Customer(Box::new(session)));
            }
            if matches!(key, Some(None)) {
                return Err(ApiError::Unauthenticated {
                    code: "invalid_api_key",
                    message: "The API key is not valid, or has been revoked.",
                });
            }
            let key = key
                .flatten()
                .filter(|k| !k.is_empty())
                .ok_or(ApiError::Unauthenticated {
                    code: "missing_api_key",
                    message: "No API key was given: send it in the X-Authorization header.",
                })?;
            match state.keys.verify(&key).await? {
                Some(kind) => Ok(Caller::Merchant(kind)),
                None => Err(ApiError::Unauthenticated {
                    code: "invalid_api_key",
                    message: "The API key is not valid, or has been revoked.",
                }),
            }
        })
    }
}
