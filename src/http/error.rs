//! The one place errors become HTTP: Chec's error body, extended with a stable `code` and the
//! request id. Internal causes are logged with the request id and never sent. Every
//! `From<...> for ApiError` lives here, so one error maps to one answer everywhere.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use super::request_id;
use crate::db::DbError;
use crate::domain::{FieldErrors, ValidationError};
use crate::service::passwords::HashError;
use crate::service::{
    AccountError, CustomerError, KeyError, LoginError, OrderError, SessionError, StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthenticated: {code}")]
    Unauthenticated {
        code: &'static str,
        message: &'static str,
    },
    #[error("forbidden: {code}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error("not found: {code}")]
    NotFound {
        code: &'static str,
        message: &'static str,
    },
    /// `allow` lists the methods the resource has, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("bad request: {code}")]
    BadRequest { code: &'static str, message: String },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("rate limited: {code}")]
    RateLimited {
        code: &'static str,
        message: &'static str,
        retry_after_secs: u64,
    },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Every password hasher stayed busy for the whole wait.
    #[error("overloaded")]
    Overloaded { retry_after_secs: u64 },
    /// Fields the caller may not set; each is named in `errors`.
    #[error("forbidden fields: {code}")]
    ForbiddenFields {
        code: &'static str,
        message: String,
        errors: FieldErrors,
    },
    #[error("internal: {0}")]
    Internal(String),
}

/// Chec's error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP status, repeated in the body as Chec does.
    pub status_code: u16,
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Chec's error class: `unprocessable_entity`, `authentication_error`, `forbidden`,
    /// `not_found`, `bad_request`, `payload_too_large`, `rate_limit_error`,
    /// `service_unavailable`, `api_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Stable machine-readable reason, e.g. `invalid_email`, `invalid_api_key`.
    pub code: &'static str,
    pub message: String,
    /// Field name → messages, for invalid data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
    /// Quote this when asking for support; it is in the server's log too.
    pub request_id: String,
}

impl ApiError {
    pub fn not_found() -> Self {
        ApiError::NotFound {
            code: "not_found",
            message: "The requested resource was not found.",
        }
    }

    /// Too many wrong passwords for an address: refused for `retry_after_secs`.
    pub fn account_locked(retry_after_secs: u64) -> Self {
        ApiError::RateLimited {
            code: "account_locked",
            message: "Too many failed password attempts: this account is locked for a while. \
                      A login link or a password reset still works.",
            retry_after_secs,
        }
    }

    pub fn customer_not_found() -> Self {
        ApiError::NotFound {
            code: "customer_not_found",
            message: "No customer exists with that id.",
        }
    }

    pub fn store_not_found() -> Self {
        ApiError::NotFound {
            code: "store_not_found",
            message: "No store exists with that id.",
        }
    }

    pub fn order_not_found() -> Self {
        ApiError::NotFound {
            code: "order_not_found",
            message: "No order exists with that id.",
        }
    }

    /// Maps a status from outside our handlers (actix's own 404, 405, 413...) to our error.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => ApiError::Unauthenticated {
                code: "unauthenticated",
                message: "Authentication is required.",
            },
            403 => ApiError::Forbidden {
                code: "forbidden",
                message: "You are not allowed to do this.",
            },
            404 => ApiError::not_found(),
            // Every resource answers its own 405 with `Allow`; one rewritten here names none.
            405 => ApiError::MethodNotAllowed { allow: "" },
            413 => ApiError::PayloadTooLarge,
            503 => ApiError::Unavailable(format!("status {status}")),
            400..=499 => ApiError::BadRequest {
                code: "bad_request",
                message: "The request could not be understood.".into(),
            },
            _ => ApiError::Internal(format!("status {status}")),
        }
    }

    fn parts(&self) -> (&'static str, &'static str, String, Option<FieldErrors>) {
        match self {
            ApiError::Unauthenticated { code, message } => {
                ("authentication_error", code, (*message).into(), None)
            }
            ApiError::Forbidden { code, message } => ("forbidden", code, (*message).into(), None),
            ApiError::ForbiddenFields {
                code,
                message,
                errors,
            } => ("forbidden", code, message.clone(), Some(errors.clone())),
            ApiError::NotFound { code, message } => ("not_found", code, (*message).into(), None),
            ApiError::MethodNotAllowed { .. } => (
                "method_not_allowed",
                "method_not_allowed",
                "This method is not allowed on this resource.".into(),
                None,
            ),
            ApiError::BadRequest { code, message } => ("bad_request", code, message.clone(), None),
            ApiError::PayloadTooLarge => (
                "payload_too_large",
                "payload_too_large",
                "The request body is too large.".into(),
                None,
            ),
            ApiError::Invalid(v) => (
                "unprocessable_entity",
                v.code,
                "The given data was invalid.".into(),
                Some(v.errors.clone()),
            ),
            ApiError::RateLimited { code, message, .. } => {
                ("rate_limit_error", code, (*message).into(), None)
            }
            ApiError::Unavailable(_) => (
                "service_unavailable",
                "service_unavailable",
                "The service is temporarily unavailable. Please retry.".into(),
                None,
            ),
            ApiError::Overloaded { .. } => (
                "service_unavailable",
                "server_busy",
                "The server is busy. Please retry in a moment.".into(),
                None,
            ),
            ApiError::Internal(_) => (
                "api_error",
                "internal_error",
                "Something went wrong on our side.".into(),
                None,
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } | ApiError::ForbiddenFields { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = request_id::current();
        match self {
            ApiError::Internal(cause) => {
                tracing::error!(request_id = %request_id, cause = %cause, "internal error")
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(request_id = %request_id, cause = %cause, "service unavailable")
            }
            _ => {}
        }
        let status = self.status_code();
        let (kind, code, message, errors) = self.parts();
        let body = ErrorBody {
            status_code: status.as_u16(),
            error: ErrorDetail {
                kind,
                code,
                message,
                errors,
                request_id,
            },
        };
        let mut res = HttpResponse::build(status);
        // RFC 9110: a 401 names the scheme that would do. Only the customer token is an HTTP
        // authentication scheme; a merchant key goes in its own header.
        if let ApiError::Unauthenticated { code, .. } = self {
            if BEARER_CODES.contains(code) {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"patron\""));
            }
        }
        if let ApiError::MethodNotAllowed { allow } = self {
            res.insert_header((header::ALLOW, *allow));
        }
        if let ApiError::RateLimited {
            retry_after_secs, ..
        }
        | ApiError::Overloaded { retry_after_secs } = self
        {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        res.json(body)
    }
}

/// The 401 codes that are about the customer's bearer token.
const BEARER_CODES: &[&str] = &[
    "customer_token_required",
    "invalid_bearer_token",
    "unsupported_authorization",
];

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(cause) => ApiError::Unavailable(cause),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<CustomerError> for ApiError {
    fn from(e: CustomerError) -> Self {
        match e {
            CustomerError::NotFound => ApiError::customer_not_found(),
            CustomerError::Invalid(v) => ApiError::Invalid(v),
            CustomerError::Db(d) => d.into(),
            CustomerError::Hash(e) => e.into(),
            CustomerError::Locked {
                retry_after_secs, ..
            } => ApiError::account_locked(retry_after_secs),
            CustomerError::InvalidToken => super::fields::invalid_token(),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ApiError::Overloaded {
                retry_after_secs: 1,
            },
            HashError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Db(d) => d.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Db(d) => d.into(),
            SessionError::Invalid => ApiError::Unauthenticated {
                code: "invalid_bearer_token",
                message: "The bearer token is invalid, expired or revoked.",
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidToken => super::fields::invalid_token(),
            LoginError::CustomerNotFound => ApiError::customer_not_found(),
            LoginError::Session(s) => s.into(),
            LoginError::Db(d) => d.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::InvalidCredentials => ApiError::Unauthenticated {
                code: "invalid_credentials",
                message: "The email or password is incorrect.",
            },
            AccountError::Locked {
                retry_after_secs, ..
            } => ApiError::account_locked(retry_after_secs),
            AccountError::Hash(e) => e.into(),
            AccountError::Login(l) => l.into(),
            AccountError::Db(d) => d.into(),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::NotFound => ApiError::order_not_found(),
            OrderError::CustomerNotFound => ApiError::customer_not_found(),
            OrderError::Invalid(v) => ApiError::Invalid(v),
            // A stored order that cannot be read is a fault of this service (logged, 500).
            OrderError::Unreadable(e) => ApiError::Internal(e.to_string()),
            OrderError::Db(d) => d.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::store_not_found(),
            StoreError::Invalid(v) => ApiError::Invalid(v),
            StoreError::Db(d) => d.into(),
        }
    }
}
