//! Who may use the store API: the operator's key (`PATRON_ADMIN_KEY`) and nothing else.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::auth::{authorization, invalid_key, merchant_key, Authorization};
use crate::http::error::ApiError;
use crate::http::AppState;

/// Proof that the request carries the operator's key.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

fn admin_key_required() -> ApiError {
    ApiError::Forbidden {
        code: "admin_key_required",
        message: "This endpoint requires the admin key (PATRON_ADMIN_KEY) in the X-Authorization \
                  header.",
    }
}

/// Compares digests rather than the keys themselves, so that neither the content nor the
/// length of the configured key shows in the time a refusal takes.
fn is_the_admin_key(configured: &str, presented: &str) -> bool {
    let configured: [u8; 32] = Sha256::digest(configured.as_bytes()).into();
    let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    bool::from(configured.ct_eq(&presented))
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authorization = authorization(req);
        let key = merchant_key(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("app state missing".into()))?;
            let Some(admin_key) = state.config.admin_key.as_ref() else {
                return Err(ApiError::not_found());
            };
            // A credential sent is never passed over for another: a customer token here is
            // refused, even beside the admin key.
            match authorization {
                Authorization::Absent => {}
                Authorization::Unsupported => {
                    return Err(ApiError::Unauthenticated {
                        code: "unsupported_authorization",
                        message: "The Authorization header is not used here: send the admin \
                                  key in the X-Authorization header.",
                    })
                }
                Authorization::Bearer(token) => {
                    if ["pk_", "sk_", "ak_"].iter().any(|p| token.starts_with(p)) {
                        return Err(ApiError::Unauthenticated {
                            code: "api_key_as_bearer",
                            message: "This is an API key: send it in the X-Authorization \
                                      header, not as Authorization: Bearer.",
                        });
                    }
                    state.authenticate_customer(&token).await?;
                    return Err(admin_key_required());
                }
            }
            let key = match key {
                Some(None) => return Err(invalid_key()),
                Some(Some(k)) if !k.is_empty() => k,
                _ => {
                    return Err(ApiError::Unauthenticated {
                        code: "missing_api_key",
                        message: "No API key was given: send the admin key in the \
                                  X-Authorization header.",
                    })
                }
            };
            if key.starts_with("pk_") || key.starts_with("sk_") {
                // A live merchant key is the wrong kind of credential (403); anything else
                // with its shape is no credential at all (401).
                return match state.keys.verify(&key).await? {
                    Some(_) => Err(admin_key_required()),
                    None => Err(invalid_key()),
                };
            }
            if is_the_admin_key(admin_key.expose(), &key) {
                Ok(Admin)
            } else {
                Err(invalid_key())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_key_is_the_admin_key() {
        let key = "ak_test_adminadminadmin";
        assert!(is_the_admin_key(key, key));
        for other in [
            "",
            "ak_test_adminadminadmiN",
            "ak_test_adminadminadmin ",
            "ak_",
        ] {
            assert!(!is_the_admin_key(key, other), "{other:?}");
        }
    }
}
