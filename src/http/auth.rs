//! Who is calling: a merchant with a public or secret key (`X-Authorization`), or a customer
//! with a bearer JWT (`Authorization: Bearer`).
//!
//! When a bearer token is present the merchant header is ignored: Commerce.js sends it as the
//! string `undefined` on customer calls.

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

/// The bearer token of `Authorization`, if the header uses that scheme.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let scheme = value.get(..6)?;
    // "Bearer" with nothing after it is still a (bad) bearer token, not a missing one.
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| value[6..].trim().to_owned())
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
        let bearer = bearer_token(req);
        let key = req
            .headers()
            .get(MERCHANT_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("app state missing".into()))?;
            if let Some(token) = bearer {
                if is_merchant_key(&token) {
                    return Err(ApiError::Unauthenticated {
                        code: "api_key_as_bearer",
                        message: "This is a merchant API key: send it in the X-Authorization \
                                  header, not as Authorization: Bearer (which is for customer \
                                  tokens).",
                    });
                }
                let session = state.authenticate_customer(&token).await?;
                return Ok(Caller::Customer(Box::new(session)));
            }
            let key = key
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
