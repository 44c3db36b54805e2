//! A customer's orders. Orders are recorded by a later part of patron; until then every
//! customer's history is empty, with the same pagination and access rules.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::auth::Caller;
use super::customers::path_customer_id;
use super::error::{ApiError, ErrorBody};
use super::pagination::{PageParams, Paginated};
use super::AppState;
use crate::domain::validation::Collector;

/// A customer's orders, newest first by default.
#[utoipa::path(
    get, path = "/v1/customers/{customer_id}/orders", tag = "orders",
    params(("customer_id" = String, Path, description = "Customer id (cstmr_...)"), PageParams,
        ("sortBy" = Option<String>, Query, description = "created_at (default)")),
    responses(
        (status = 200, description = "A page of orders", body = Paginated<Object>),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ),
    security(("customer_jwt" = []), ("merchant_key" = []))
)]
pub async fn list_for_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    paging: web::Query<PageParams>,
    sort: web::Query<SortParam>,
) -> Result<HttpResponse, ApiError> {
    let id = path_customer_id(&path)?;
    caller.require_customer_or_secret(&id)?;
    let mut c = Collector::new();
    let paging = paging.parse(&mut c);
    if let Some(s) = sort.sort_by.as_deref() {
        if !matches!(s, "created_at" | "created" | "updated_at" | "updated" | "") {
            c.add(
                "invalid_parameter",
                "sortBy",
                "The sortBy must be created_at or updated_at.",
            );
        }
    }
    c.finish()?;
    // The customer must exist (a secret key can name any id).
    state.customers.get(&id).await?;
    let data: Vec<Value> = Vec::new();
    Ok(HttpResponse::Ok().json(Paginated::new(&req, data, 0, paging.limit, paging.page)))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct SortParam {
    #[serde(rename = "sortBy")]
    pub sort_by: Option<String>,
}
