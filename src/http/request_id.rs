//! Per-request context: a request id (echoed as `X-Request-Id`, quoted in every error body and
//! log line), one access log line, protective headers, HEAD served as GET, and the guarantee
//! that every error response, including actix's own 404/405/413 and CORS refusals, is Chec's
//! JSON.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use super::cors;
use super::error::ApiError;
use crate::domain::random;

tokio::task_local! {
    static REQUEST_ID: String;
}

pub const HEADER: &str = "x-request-id";

/// The id of the request being served, or an empty string outside one.
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// A caller's own id is kept when it is short and plain, so traces can be joined across services.
fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let raw = req.headers().get(HEADER)?.to_str().ok()?;
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| raw.to_owned())
}

pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let id = incoming_id(&req).unwrap_or_else(|| format!("req_{}", random::alphanumeric(20)));
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    // HEAD is GET without the body, wherever GET is routed. actix-http decided from the
    // request line that no body goes out, so only the routing needs to see GET.
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
    }

    let mut res = REQUEST_ID
        .scope(id.clone(), async move {
            match next.call(req).await {
                Ok(res) => {
                    let status = res.status();
                    let ours = res
                        .response()
                        .error()
                        .is_some_and(|e| e.as_error::<ApiError>().is_some());
                    if (status.is_client_error() || status.is_server_error()) && !ours {
                        // An error actix or actix-cors made itself (routing, payload limits, a
                        // refused origin): answer in our shape, keeping the CORS headers.
                        let api =
                            cors::refusal(&res).unwrap_or_else(|| ApiError::from_status(status));
                        let (req, old) = res.into_parts();
                        let mut new = api.error_response();
                        for (name, value) in old.headers() {
                            if cors::is_cors_header(name) {
                                new.headers_mut().append(name.clone(), value.clone());
                            }
                        }
                        Ok(ServiceResponse::new(req, new).map_into_right_body())
                    } else {
                        Ok(res.map_into_left_body())
                    }
                }
                // Routing and handlers answer with Ok even for errors; only a failing middleware
                // lands here, and actix renders this after the scope (no request id then).
                Err(e) => match e.as_error::<ApiError>() {
                    Some(_) => Err(e),
                    None => Err(ApiError::from_status(e.as_response_error().status_code()).into()),
                },
            }
        })
        .await?;

    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static(HEADER), v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Customer data and tokens must never sit in a shared cache.
    if path.starts_with("/v1/") && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    let status = res.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if path != "/healthz" && path != "/readyz" {
        tracing::info!(request_id = %id, %method, path = %path, status, elapsed_ms = format!("{elapsed_ms:.2}"), "request");
    }
    Ok(res)
}
