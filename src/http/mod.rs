//! HTTP: handlers parse, authorise, call a service and map the result. Nothing else.

pub mod auth;
pub mod body;
pub mod customers;
pub mod error;
pub mod health;
pub mod openapi;
pub mod pagination;
pub mod request_id;

use std::sync::Arc;

use actix_web::{middleware, web, HttpResponse};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::db::Db;
use crate::service::{CustomerService, KeyService};
use auth::CustomerSession;
use error::ApiError;

/// Everything a handler may need, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: KeyService,
    pub customers: CustomerService,
}

impl AppState {
    pub fn new(config: Arc<Config>, db: Db) -> Self {
        AppState {
            keys: KeyService::new(
                db.clone(),
                config.public_key.as_ref(),
                config.secret_key.as_ref(),
            ),
            customers: CustomerService::new(db.clone()),
            config,
            db,
        }
    }

    /// Verifies a customer bearer token.
    pub async fn authenticate_customer(&self, _token: &str) -> Result<CustomerSession, ApiError> {
        Err(ApiError::Unauthenticated {
            code: "invalid_token",
            message: "The bearer token is not valid.",
        })
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// Registers every route, with the extractor settings and middleware they rely on.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let limit = state.config.max_body_bytes;
        cfg.app_data(web::Data::new(state))
            .app_data(body::json_config(limit))
            .app_data(web::PayloadConfig::new(limit))
            .app_data(web::QueryConfig::default().error_handler(|_, _| {
                ApiError::Invalid(crate::domain::ValidationError::field(
                    "invalid_parameter",
                    "query",
                    "The query string could not be read.",
                ))
                .into()
            }))
            .service(
                web::scope("")
                    .wrap(middleware::from_fn(request_id::request_context))
                    .route("/healthz", web::get().to(health::healthz))
                    .route("/readyz", web::get().to(health::readyz))
                    .service(
                        web::resource("/v1/customers")
                            .route(web::get().to(customers::list))
                            .route(web::post().to(customers::create))
                            .default_service(web::to(method_not_allowed)),
                    )
                    .service(
                        web::resource("/v1/customers/{customer_id}")
                            .route(web::get().to(customers::get))
                            .route(web::put().to(customers::update))
                            .route(web::delete().to(customers::delete))
                            .default_service(web::to(method_not_allowed)),
                    )
                    .service(
                        SwaggerUi::new("/docs/{_:.*}")
                            .url("/openapi.json", openapi::ApiDoc::openapi()),
                    )
                    .default_service(web::to(not_found)),
            );
    }
}
