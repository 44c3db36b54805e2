//! `POST /v1/customers/confirm-email-change`: the second half of a customer's email change.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::accounts::TokenRequest;
use super::auth::Caller;
use super::body::typed;
use super::client::Client;
use super::customers::CustomerView;
use super::error::{ApiError, ErrorBody};
use super::{fields, AppState, Limit};

/// Confirm a customer's new email address with the token (link or code) mailed to it. The
/// account takes the address, verified; the old address is told.
#[utoipa::path(
    post, path = "/v1/customers/confirm-email-change", operation_id = "confirm_email_change", tag = "accounts",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The customer at the new address", body = CustomerView),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 422, description = "The token is invalid or has expired, or the address was taken meanwhile", body = ErrorBody),
        (status = 429, description = "Too many requests from this client", body = ErrorBody),
    ),
    security(("merchant_key" = []), ("customer_jwt" = []))
)]
pub async fn confirm(
    state: web::Data<AppState>,
    // Any key or the customer's own token: the link may be opened on another device, and the
    // token itself is the proof.
    caller: Caller,
    client: Client,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    state.limit(&client, Limit::TokenUse).await?;
    let body: TokenRequest = typed(body.into_inner())?;
    let token = fields::required_token(body.token)?;
    let customer = state
        .customers
        .confirm_email_change(caller.store.clone(), &token, client.0)
        .await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(customer)))
}
