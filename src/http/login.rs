//! Magic-link login, sessions and logout: Chec's email-token, exchange-token and issue-token.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Caller;
use super::body::typed;
use super::client::Client;
use super::customers::path_customer_id;
use super::error::{ApiError, ErrorBody};
use super::fields;
use super::{AppState, Limit};
use crate::domain::validation::Collector;
use crate::service::login::Login;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailTokenRequest {
    #[schema(value_type = String, required = true, format = Email, example = "leslie@example.com")]
    pub email: Option<String>,
    /// Where the link points; `{token}` is replaced by the token, or `token=` is added to the
    /// query. Must be on an allowed origin.
    #[schema(value_type = String, required = true, example = "http://localhost:3000/login?token={token}")]
    pub base_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Success {
    pub success: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExchangeTokenRequest {
    /// The token from the login link.
    #[schema(value_type = String, required = true, min_length = 1)]
    pub token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    #[schema(example = "cstmr_cO3J2apam2oDdz")]
    pub customer_id: String,
    /// A session JWT for `Authorization: Bearer`, valid for 24 hours by default.
    pub jwt: String,
}

impl From<Login> for LoginResponse {
    fn from(l: Login) -> Self {
        LoginResponse {
            customer_id: l.customer_id.into_string(),
            jwt: l.session.jwt,
        }
    }
}

/// Email a one-time login link. The answer is the same for known, unknown and throttled
/// addresses; only the known customer gets a mail.
#[utoipa::path(
    post, path = "/v1/customers/email-token", tag = "login",
    request_body = EmailTokenRequest,
    responses(
        (status = 200, description = "Accepted (whether or not the email is known)", body = Success),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "Invalid email or base_url", body = ErrorBody),
        (status = 429, description = "Too many requests from this client", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn email_token(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::MailRequest).await?;
    let body: EmailTokenRequest = typed(body.into_inner())?;
    let mut c = Collector::new();
    let email = fields::required_email(&mut c, body.email.as_deref());
    let link = fields::required_link(&mut c, body.base_url.as_deref(), &state, &caller);
    c.finish()?;
    if let (Some(email), Some(link)) = (email, link) {
        state
            .login
            .request_link(caller.store.clone(), email, link, client.0)
            .await?;
    }
    Ok(HttpResponse::Ok().json(Success { success: true }))
}

/// Exchange a login token for a session JWT. The token works once.
#[utoipa::path(
    post, path = "/v1/customers/exchange-token", tag = "login",
    request_body = ExchangeTokenRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "The token is unknown, used, expired or superseded", body = ErrorBody),
        (status = 429, description = "Too many requests from this client", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn exchange_token(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::TokenUse).await?;
    let body: ExchangeTokenRequest = typed(body.into_inner())?;
    let token = fields::required_token(body.token)?;
    let login = state
        .login
        .exchange(caller.store.clone(), &token, client.0)
        .await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(login)))
}

/// Issue a session JWT for a customer without email, for merchants that authenticate
/// customers themselves.
#[utoipa::path(
    post, path = "/v1/customers/{customer_id}/issue-token", tag = "login",
    params(("customer_id" = String, Path, description = "Customer id (cstmr_...)")),
    responses(
        (status = 200, description = "A session for this customer", body = LoginResponse),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn issue_token(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let id = path_customer_id(&path)?;
    let login = state
        .login
        .issue_token(caller.store.clone(), &id, client.0)
        .await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(login)))
}

/// End the session of the bearer token; the JWT is refused afterwards.
#[utoipa::path(
    post, path = "/v1/customers/logout", tag = "login",
    responses(
        (status = 200, description = "Logged out", body = Success),
        (status = 401, description = "No or bad bearer token", body = ErrorBody),
        (status = 403, description = "Not a customer token", body = ErrorBody),
    ),
    security(("customer_jwt" = []))
)]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
) -> Result<HttpResponse, ApiError> {
    let session = caller.require_customer()?;
    state
        .login
        .logout(
            caller.store.clone(),
            session.customer_id(),
            &session.session_id,
            client.0,
        )
        .await?;
    Ok(HttpResponse::Ok().json(Success { success: true }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSet {
    pub keys: Vec<crate::service::sessions::Jwk>,
}

/// The public keys that verify customer JWTs (EdDSA, Ed25519).
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "login",
    responses((status = 200, description = "JSON Web Key Set", body = JwkSet))
)]
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.sessions.jwks().await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=600"))
        .json(JwkSet { keys }))
}
