//! Which browser origins may call patron, and the answer to one that may not.

use std::sync::OnceLock;

use actix_cors::{Cors, CorsError};
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderMap, HeaderName};

use super::error::ApiError;
use super::request_id;

const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"];
const HEADERS: [&str; 7] = [
    "X-Authorization",
    "X-Chec-Agent",
    "Authorization",
    "Content-Type",
    "Accept",
    "X-Request-Id",
    "Idempotency-Key",
];

static METHOD_LIST: OnceLock<String> = OnceLock::new();
static HEADER_LIST: OnceLock<String> = OnceLock::new();

/// A refusal's message, made once from the list the middleware is configured with.
fn listed(cell: &'static OnceLock<String>, what: &str, items: &[&str]) -> &'static str {
    cell.get_or_init(|| format!("{what}: {}.", items.join(", ")))
}

/// Browsers may call patron from the origins in `PATRON_CORS_ORIGINS` (`*` for any; unset,
/// loopback only, for a storefront in development). Authentication is by header, never by
/// cookie, so no credentials are allowed.
pub fn cors(origins: &[String]) -> Cors {
    let allowed: Vec<String> = origins.to_vec();
    Cors::default()
        .allowed_origin_fn(move |origin, _| {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            if allowed.is_empty() {
                return url::Url::parse(origin).is_ok_and(|u| {
                    u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1"))
                });
            }
            allowed
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
        })
        .allowed_methods(METHODS)
        .allowed_headers(HEADERS)
        .expose_headers(["X-Request-Id", "Retry-After"])
        .max_age(600)
}

/// The headers the CORS middleware put on a response; an error rewritten after it keeps them,
/// or the browser could not read the error.
pub fn is_cors_header(name: &HeaderName) -> bool {
    name.as_str().starts_with("access-control-") || name == header::VARY
}

fn shown(headers: &HeaderMap, name: HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

/// A preflight actix-cors refused (origin, method or headers not allowed) as
/// Chec's error, logged with what the browser asked for so an operator can see why a
/// storefront cannot call.
pub fn refusal<B: MessageBody>(res: &ServiceResponse<B>) -> Option<ApiError> {
    let err = res.response().error()?.as_error::<CorsError>()?;
    let headers = res.request().headers();
    tracing::warn!(
        request_id = %request_id::current(),
        origin = %shown(headers, header::ORIGIN),
        requested_method = %shown(headers, header::ACCESS_CONTROL_REQUEST_METHOD),
        requested_headers = %shown(headers, header::ACCESS_CONTROL_REQUEST_HEADERS),
        reason = %err,
        "CORS request refused"
    );
    Some(match err {
        CorsError::OriginNotAllowed => ApiError::Forbidden {
            code: "cors_origin_not_allowed",
            message: "Browsers may not call patron from this origin: it is not one of the \
                      server's allowed origins (PATRON_CORS_ORIGINS).",
        },
        CorsError::MethodNotAllowed => ApiError::Forbidden {
            code: "cors_method_not_allowed",
            message: listed(
                &METHOD_LIST,
                "Browsers may call patron with these methods only",
                &METHODS,
            ),
        },
        CorsError::HeadersNotAllowed => ApiError::Forbidden {
            code: "cors_headers_not_allowed",
            message: listed(
                &HEADER_LIST,
                "Browsers may send patron these headers only",
                &HEADERS,
            ),
        },
        other => ApiError::BadRequest {
            code: "cors_bad_request",
            message: format!("The CORS request could not be understood: {other}."),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_what_the_middleware_allows() {
        static CELL: OnceLock<String> = OnceLock::new();
        assert_eq!(listed(&CELL, "Only", &["GET", "PUT"]), "Only: GET, PUT.");
        let headers = listed(
            &HEADER_LIST,
            "Browsers may send patron these headers only",
            &HEADERS,
        );
        for header in HEADERS {
            assert!(headers.contains(header), "{headers}");
        }
    }
}
