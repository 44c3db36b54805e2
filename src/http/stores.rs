//! `/v1/stores`: the operator's store API, authorised by `PATRON_ADMIN_KEY` alone. Without that
//! key configured the API does not exist: every path and method under it answers 404, so a
//! deployment that never uses stores shows nothing of them.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::auth::{authorization, Authorization, MERCHANT_KEY_HEADER};
use super::body::{nullable, typed};
use super::error::{ApiError, ErrorBody};
use super::pagination::{PageParams, Paginated};
use super::AppState;
use crate::domain::store::{origin_text, Store, StoreInput};
use crate::domain::validation::Collector;
use crate::domain::StoreId;

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

fn invalid_key() -> ApiError {
    ApiError::Unauthenticated {
        code: "invalid_api_key",
        message: "The API key is not valid, or has been revoked.",
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
        // `Some(None)`: a header whose bytes are not text.
        let key = req
            .headers()
            .get(MERCHANT_KEY_HEADER)
            .map(|v| v.to_str().ok().map(|s| s.trim().to_owned()));
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

/// A store as the operator sees it. A `null` setting means the deployment's value applies (its
/// `PATRON_*` variable).
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    /// `store_` followed by 14 letters and digits.
    #[schema(example = "store_Xk3J2apam2oDdz")]
    pub id: String,
    pub name: String,
    /// Shown by `GET /v1/merchants`.
    #[schema(required = true)]
    pub support_email: Option<String>,
    /// ISO 4217 code, for display (`GET /v1/merchants`).
    #[schema(required = true, example = "EUR")]
    pub currency: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    #[schema(required = true, example = "SE")]
    pub country: Option<String>,
    /// Origins this store's magic links may point at; `null`: `PATRON_LINK_ORIGINS`.
    #[schema(required = true)]
    pub link_origins: Option<Vec<String>>,
    /// The `From` of this store's mail; `null`: `PATRON_MAIL_FROM`.
    #[schema(required = true)]
    pub mail_from: Option<String>,
    /// The subject of this store's login mail; `null`: `PATRON_MAIL_SUBJECT`.
    #[schema(required = true)]
    pub mail_subject: Option<String>,
    /// Prefix of this store's order references; `null`: `PATRON_ORDER_REFERENCE_PREFIX`.
    #[schema(required = true)]
    pub order_reference_prefix: Option<String>,
    /// The store the deployment started with: it holds the environment's keys and cannot be
    /// deleted.
    pub default: bool,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
}

impl From<&Store> for StoreView {
    fn from(s: &Store) -> Self {
        let settings = &s.settings;
        StoreView {
            id: s.id.as_str().to_owned(),
            name: s.name.clone(),
            support_email: settings.support_email.clone(),
            currency: settings.currency.map(|c| c.code().to_owned()),
            country: settings.country.clone(),
            link_origins: settings
                .link_origins
                .as_ref()
                .map(|list| list.iter().map(origin_text).collect()),
            mail_from: settings.mail_from.clone(),
            mail_subject: settings.mail_subject.clone(),
            order_reference_prefix: settings.order_reference_prefix.clone(),
            default: s.is_default(),
            created: s.created_at.and_utc().timestamp(),
            updated: s.updated_at.and_utc().timestamp(),
        }
    }
}

/// A new store, with its first key pair: the only time the keys are shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCreated {
    #[serde(flatten)]
    pub store: StoreView,
    /// The store's storefront key (`pk_...`). Shown only now.
    pub public_key: String,
    /// The store's back-office key (`sk_...`). Shown only now.
    pub secret_key: String,
}

/// A new store. Only `name` is required; a setting left out or `null` (or blank) follows the
/// deployment's value.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StoreCreate {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, required = true, max_length = 255, example = "Shop B")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "help@shop-b.example")]
    pub support_email: Option<Option<String>>,
    /// ISO 4217 code of a currency with minor units.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<Option<String>>,
    /// ISO 3166-1 alpha-2 code.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "SE")]
    pub country: Option<Option<String>>,
    /// Origins (scheme, host, optional port; `:*` for any port) the store's magic links may
    /// point at, at most 50.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 50, example = json!(["https://shop-b.example"]))]
    pub link_origins: Option<Option<Vec<String>>>,
    /// A mailbox: `Shop B <no-reply@shop-b.example>`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "Shop B <no-reply@shop-b.example>")]
    pub mail_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub mail_subject: Option<Option<String>>,
    /// 1 to 16 letters or digits.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 16, example = "SHOPB")]
    pub order_reference_prefix: Option<Option<String>>,
}

/// A partial update: a field left out keeps its value, `null` (or blank text) gives a setting
/// back to the deployment's value. `name` cannot be cleared (422).
#[derive(Debug, Deserialize, ToSchema)]
pub struct StoreUpdate {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, max_length = 255)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub support_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    pub link_origins: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub mail_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub mail_subject: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 16)]
    pub order_reference_prefix: Option<Option<String>>,
}

macro_rules! into_input {
    ($body:expr) => {{
        let b = $body;
        StoreInput {
            name: b.name,
            support_email: b.support_email,
            currency: b.currency,
            country: b.country,
            link_origins: b.link_origins,
            mail_from: b.mail_from,
            mail_subject: b.mail_subject,
            order_reference_prefix: b.order_reference_prefix,
        }
    }};
}

impl From<StoreCreate> for StoreInput {
    fn from(b: StoreCreate) -> Self {
        into_input!(b)
    }
}

impl From<StoreUpdate> for StoreInput {
    fn from(b: StoreUpdate) -> Self {
        into_input!(b)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreDeleted {
    pub id: String,
    pub deleted: bool,
}

/// A page of stores (documentation of `Paginated<StoreView>`).
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreList {
    pub data: Vec<StoreView>,
    pub meta: super::pagination::PageMeta,
}

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

    #[test]
    fn the_documented_limits_are_the_validated_ones() {
        use crate::domain::store::{MAX_LINK_ORIGINS, MAX_NAME_LEN, MAX_SUBJECT_LEN};
        // The schema attributes are literals; they must say what `domain::store` enforces.
        assert_eq!(MAX_NAME_LEN, 255);
        assert_eq!(MAX_SUBJECT_LEN, 255);
        assert_eq!(MAX_LINK_ORIGINS, 50);
    }
}
