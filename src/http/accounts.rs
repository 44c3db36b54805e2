//! Password accounts: register, verify email, log in, reset, log out everywhere.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Caller;
use super::body::typed;
use super::client::Client;
use super::error::{ApiError, ErrorBody};
use super::fields::{self, required_email, required_link};
use super::login::{LoginResponse, Success};
use super::{AppState, Limit};
use crate::domain::customer::Meta;
use crate::domain::password::Password;
use crate::domain::validation::{opt_text, Collector};
use crate::service::accounts::{AccountError, Registration};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(value_type = String, required = true, format = Email)]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, write_only, min_length = 8, max_length = 128)]
    pub password: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    /// Where the verification link points; `{token}` is replaced, else `token=` is added.
    #[schema(value_type = String, required = true, example = "http://localhost:3000/verify?token={token}")]
    pub base_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    #[schema(value_type = String, required = true, min_length = 1)]
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordLoginRequest {
    #[schema(value_type = String, required = true, format = Email)]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, write_only)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetEmailRequest {
    #[schema(value_type = String, required = true, format = Email)]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, example = "http://localhost:3000/reset?token={token}")]
    pub base_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    #[schema(value_type = String, required = true, min_length = 1)]
    pub token: Option<String>,
    #[schema(value_type = String, required = true, write_only, min_length = 8, max_length = 128)]
    pub password: Option<String>,
    #[schema(value_type = String, required = true, write_only)]
    pub confirm_password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenValidity {
    pub valid: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    pub changed: bool,
}

fn required_password(c: &mut Collector, field: &str, raw: Option<&str>) -> Option<Password> {
    match raw {
        None => {
            c.add(
                "password_required",
                field,
                format!("The {field} field is required."),
            );
            None
        }
        Some(raw) => c.take(Password::parse(field, raw)),
    }
}

/// Create a password account. The answer is the same whether or not the email is taken: a new
/// address gets a verification link, a taken one a note with a login link.
#[utoipa::path(
    post, path = "/v1/customers/register", tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; check the mailbox", body = Success),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "Invalid email, password or base_url", body = ErrorBody),
        (status = 429, description = "Too many requests from this client", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::MailRequest).await?;
    let body: RegisterRequest = typed(body.into_inner())?;
    let mut c = Collector::new();
    let email = required_email(&mut c, body.email.as_deref());
    let password = required_password(&mut c, "password", body.password.as_deref());
    let link = required_link(&mut c, body.base_url.as_deref(), &state, &caller);
    let firstname = opt_text(&mut c, "firstname", body.firstname, 255);
    let lastname = opt_text(&mut c, "lastname", body.lastname, 255);
    let phone = opt_text(&mut c, "phone", body.phone, 64);
    let meta = body.meta.and_then(|m| c.take(Meta::parse(m)));
    c.finish()?;
    let (Some(email), Some(password), Some(link)) = (email, password, link) else {
        return Err(ApiError::Internal("validated fields missing".into()));
    };
    state
        .accounts
        .register(
            caller.store.clone(),
            Registration {
                email,
                password,
                firstname,
                lastname,
                phone,
                meta: meta.unwrap_or_default(),
                link,
            },
            client.0,
        )
        .await?;
    Ok(HttpResponse::Accepted().json(Success { success: true }))
}

/// Confirm the email address of a new account with the token from the mail; logs the customer in.
#[utoipa::path(
    post, path = "/v1/customers/verify-email", tag = "accounts",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Verified and logged in", body = LoginResponse),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "The token is invalid or has expired", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn verify_email(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::TokenUse).await?;
    let body: TokenRequest = typed(body.into_inner())?;
    let token = fields::required_token(body.token)?;
    let login = state
        .accounts
        .verify_email(caller.store.clone(), &token, client.0)
        .await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(login)))
}

/// Log in with email and password. A wrong password, an unknown email and an unverified
/// account get one identical 401; ten failures in 15 minutes lock the account for a while.
#[utoipa::path(
    post, path = "/v1/customers/login", operation_id = "login_with_password", tag = "accounts",
    request_body = PasswordLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Invalid credentials (or no or bad API key)", body = ErrorBody),
        (status = 429, description = "Account locked, or too many requests from this client", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn login(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::Login).await?;
    let body: PasswordLoginRequest = typed(body.into_inner())?;
    // A missing field is the client's mistake, named as such; a wrong value is only ever
    // "incorrect", whatever was wrong.
    let mut c = Collector::new();
    if body.email.is_none() {
        c.add("email_required", "email", "The email field is required.");
    }
    if body.password.is_none() {
        c.add(
            "password_required",
            "password",
            "The password field is required.",
        );
    }
    c.finish()?;
    let (Some(email), Some(password)) = (body.email, body.password) else {
        return Err(AccountError::InvalidCredentials.into());
    };
    let login = state
        .accounts
        .login(
            caller.store.clone(),
            &email,
            Password::candidate(&password),
            client.0,
        )
        .await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(login)))
}

/// Mail a password-reset link. Always `{"success": true}`.
#[utoipa::path(
    post, path = "/v1/customers/password-reset-email", operation_id = "password_reset_email", tag = "accounts",
    request_body = ResetEmailRequest,
    responses(
        (status = 200, description = "Accepted (whether or not the email is known)", body = Success),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "Invalid email or base_url", body = ErrorBody),
        (status = 429, description = "Too many requests from this client", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn reset_email(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::MailRequest).await?;
    let body: ResetEmailRequest = typed(body.into_inner())?;
    let mut c = Collector::new();
    let email = required_email(&mut c, body.email.as_deref());
    let link = required_link(&mut c, body.base_url.as_deref(), &state, &caller);
    c.finish()?;
    if let (Some(email), Some(link)) = (email, link) {
        state
            .accounts
            .request_reset(caller.store.clone(), email, link, client.0)
            .await?;
    }
    Ok(HttpResponse::Ok().json(Success { success: true }))
}

/// Tell whether a reset token would work, without using it up.
#[utoipa::path(
    post, path = "/v1/customers/password-reset/verify", operation_id = "password_reset_verify", tag = "accounts",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Whether the token is valid", body = TokenValidity),
        (status = 401, description = "No or bad API key", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn reset_verify(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::TokenUse).await?;
    let body: TokenRequest = typed(body.into_inner())?;
    let token = fields::required_token(body.token)?;
    let valid = state
        .accounts
        .reset_token_valid(caller.store.clone(), &token)
        .await?;
    Ok(HttpResponse::Ok().json(TokenValidity { valid }))
}

/// Set a new password with a reset token. Every session and outstanding link of the customer
/// stops working; the customer is not logged in and gets a notice by mail.
#[utoipa::path(
    post, path = "/v1/customers/password-reset", operation_id = "password_reset", tag = "accounts",
    request_body = ResetRequest,
    responses(
        (status = 200, description = "Changed", body = PasswordChanged),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 422, description = "Invalid token or password", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn reset(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_merchant()?;
    state.limit(&client, Limit::TokenUse).await?;
    let body: ResetRequest = typed(body.into_inner())?;
    let mut c = Collector::new();
    let token = fields::token(&mut c, body.token);
    let password = required_password(&mut c, "password", body.password.as_deref());
    match body.confirm_password.as_deref() {
        None => c.add(
            "password_required",
            "confirm_password",
            "The confirm password field is required.",
        ),
        Some(confirm) if Some(confirm) != body.password.as_deref() => c.add(
            "password_mismatch",
            "confirm_password",
            "The confirm password does not match the password.",
        ),
        Some(_) => {}
    }
    c.finish()?;
    let (Some(token), Some(password)) = (token, password) else {
        return Err(fields::invalid_token());
    };
    state
        .accounts
        .reset_password(caller.store.clone(), &token, password, client.0)
        .await?;
    Ok(HttpResponse::Ok().json(PasswordChanged { changed: true }))
}

/// End every session of the customer holding this bearer token.
#[utoipa::path(
    post, path = "/v1/customers/logout-all", tag = "accounts",
    responses(
        (status = 200, description = "Every session ended", body = Success),
        (status = 401, description = "No or bad bearer token", body = ErrorBody),
        (status = 403, description = "Not a customer token", body = ErrorBody),
    ),
    security(("customer_jwt" = []))
)]
pub async fn logout_all(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
) -> Result<HttpResponse, ApiError> {
    let session = caller.require_customer()?;
    state
        .accounts
        .logout_all(caller.store.clone(), session.customer_id(), client.0)
        .await?;
    Ok(HttpResponse::Ok().json(Success { success: true }))
}
