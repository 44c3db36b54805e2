//! `/v1/stores`: the operator's store API, authorised by `PATRON_ADMIN_KEY` alone. Without that
//! key configured the API does not exist: every path and method under it answers 404, so a
//! deployment that never uses stores shows nothing of them.

mod admin;
mod view;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

pub use admin::Admin;
pub use view::{StoreCreate, StoreCreated, StoreDeleted, StoreList, StoreUpdate, StoreView};

use super::body::typed;
use super::error::{ApiError, ErrorBody};
use super::pagination::{PageParams, Paginated};
use super::AppState;
use crate::domain::store::StoreInput;
use crate::domain::validation::Collector;
use crate::domain::StoreId;

/// The id in the path; anything malformed is simply not found, but NUL is refused by name as
/// everywhere else.
fn path_store_id(raw: &str) -> Result<StoreId, ApiError> {
    super::nul::check_path("store_id", raw)?;
    StoreId::parse(raw).ok_or_else(ApiError::store_not_found)
}

/// A resource of the store API: with the admin key unset, other methods are as absent as the
/// rest (404); with it, 405 naming the methods there are.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |state: web::Data<AppState>| async move {
        Err::<HttpResponse, _>(if state.config.admin_key.is_some() {
            ApiError::MethodNotAllowed { allow }
        } else {
            ApiError::not_found()
        })
    }))
}

/// Registers the store API's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/stores", "GET, HEAD, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/v1/stores/{store_id}", "GET, HEAD, PUT, DELETE")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
}

/// Create a store, with its first key pair (shown only in this answer).
#[utoipa::path(
    post, path = "/v1/stores", operation_id = "create_store", tag = "stores",
    request_body = StoreCreate,
    responses(
        (status = 201, description = "The new store and its keys", body = StoreCreated),
        (status = 401, description = "No or bad admin key", body = ErrorBody),
        (status = 403, description = "Not the admin key", body = ErrorBody),
        (status = 404, description = "The store API is off (no PATRON_ADMIN_KEY)", body = ErrorBody),
        (status = 422, description = "Invalid data", body = ErrorBody),
    ),
    security(("admin_key" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    _: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let body: StoreCreate = typed(body.into_inner())?;
    let new = StoreInput::from(body).into_new()?;
    let created = state.stores.create(new).await?;
    Ok(HttpResponse::Created().json(StoreCreated {
        store: StoreView::from(&created.store),
        public_key: created.public_key.key.expose().to_owned(),
        secret_key: created.secret_key.key.expose().to_owned(),
    }))
}

/// List the live stores, paginated, by creation.
#[utoipa::path(
    get, path = "/v1/stores", operation_id = "list_stores", tag = "stores",
    params(PageParams),
    responses(
        (status = 200, description = "A page of stores", body = StoreList),
        (status = 401, description = "No or bad admin key", body = ErrorBody),
        (status = 403, description = "Not the admin key", body = ErrorBody),
        (status = 404, description = "The store API is off (no PATRON_ADMIN_KEY)", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ),
    security(("admin_key" = []))
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: Admin,
    paging: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Collector::new();
    let paging = paging.parse(&mut c);
    c.finish()?;
    let page = state
        .stores
        .list(paging.page, paging.limit, paging.direction)
        .await?;
    let data = page.items.iter().map(StoreView::from).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(
        &req, data, page.total, page.limit, page.page,
    )))
}

/// Get one live store.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}", operation_id = "get_store", tag = "stores",
    params(("store_id" = String, Path, description = "Store id (store_...)")),
    responses(
        (status = 200, description = "The store", body = StoreView),
        (status = 401, description = "No or bad admin key", body = ErrorBody),
        (status = 403, description = "Not the admin key", body = ErrorBody),
        (status = 404, description = "No such store, or the store API is off", body = ErrorBody),
    ),
    security(("admin_key" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    _: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_store_id(&path)?;
    let store = state.stores.get(&id).await?;
    Ok(HttpResponse::Ok().json(StoreView::from(&store)))
}

/// Update a store partially: absent fields keep their values, `null` gives a setting back to
/// the deployment.
#[utoipa::path(
    put, path = "/v1/stores/{store_id}", operation_id = "update_store", tag = "stores",
    params(("store_id" = String, Path, description = "Store id (store_...)")),
    request_body = StoreUpdate,
    responses(
        (status = 200, description = "The updated store", body = StoreView),
        (status = 401, description = "No or bad admin key", body = ErrorBody),
        (status = 403, description = "Not the admin key", body = ErrorBody),
        (status = 404, description = "No such store, or the store API is off", body = ErrorBody),
        (status = 422, description = "Invalid data", body = ErrorBody),
    ),
    security(("admin_key" = []))
)]
pub async fn update(
    state: web::Data<AppState>,
    _: Admin,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = path_store_id(&path)?;
    let body: StoreUpdate = typed(body.into_inner())?;
    let patch = StoreInput::from(body).into_patch()?;
    let store = state.stores.update(&id, patch).await?;
    Ok(HttpResponse::Ok().json(StoreView::from(&store)))
}

/// Delete a store: its keys and customer tokens are refused at once. Its data stays until the
/// operator runs `patron stores purge <id>`. The default store cannot be deleted.
#[utoipa::path(
    delete, path = "/v1/stores/{store_id}", operation_id = "delete_store", tag = "stores",
    params(("store_id" = String, Path, description = "Store id (store_...)")),
    responses(
        (status = 200, description = "Deleted", body = StoreDeleted),
        (status = 401, description = "No or bad admin key", body = ErrorBody),
        (status = 403, description = "Not the admin key", body = ErrorBody),
        (status = 404, description = "No such store, or the store API is off", body = ErrorBody),
        (status = 422, description = "The default store", body = ErrorBody),
    ),
    security(("admin_key" = []))
)]
pub async fn delete(
    state: web::Data<AppState>,
    _: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_store_id(&path)?;
    state.stores.delete(&id).await?;
    Ok(HttpResponse::Ok().json(StoreDeleted {
        id: id.into_string(),
        deleted: true,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_limits_are_the_validated_ones() {
        use crate::domain::store::{MAX_LINK_ORIGINS, MAX_NAME_LEN, MAX_SUBJECT_LEN};
        // The schema attributes are literals; they must say what `domain::store` enforces.
        assert_eq!(MAX_NAME_LEN, 255);
        assert_eq!(MAX_SUBJECT_LEN, 255);
        assert_eq!(MAX_LINK_ORIGINS, 50);
    }
}
