//! HTTP: handlers parse, authorise, call a service and map the result. Nothing else.

pub mod accounts;
pub mod auth;
pub mod body;
pub mod client;
pub mod cors;
pub mod customers;
pub mod email_change;
pub mod error;
pub mod fields;
pub mod health;
pub mod known_fields;
pub mod login;
pub mod merchants;
pub mod nul;
pub mod openapi;
pub mod orders;
pub mod pagination;
pub mod request_id;
pub mod stores;

use std::sync::Arc;

use actix_web::{middleware, web, HttpResponse};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::domain::StoreId;
use crate::mail::outbox::Doorbell;
use crate::service::rate_limit::RateLimiter;
use crate::service::{
    AccountService, CustomerService, KeyService, LoginService, OrderService, SessionService,
    StoreService,
};
use auth::CustomerSession;
use error::ApiError;

/// Everything a handler may need, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: KeyService,
    pub stores: StoreService,
    pub customers: CustomerService,
    pub sessions: SessionService,
    pub login: LoginService,
    pub accounts: AccountService,
    pub orders: OrderService,
    pub limiter: RateLimiter,
    /// What every service decides expiry and windows by.
    pub clock: Clock,
    /// Wakes this process's mail worker when a message is queued.
    pub doorbell: Doorbell,
}

impl AppState {
    pub fn new(config: Arc<Config>, db: Db) -> Self {
        Self::new_with_clock(config, db, Clock::system())
    }

    /// [`AppState::new`] deciding expiry and windows by `clock` (a test's, which it can move).
    pub fn new_with_clock(config: Arc<Config>, db: Db, clock: Clock) -> Self {
        let doorbell = Doorbell::default();
        let sessions = SessionService::new(db.clone(), clock.clone(), config.clone());
        AppState {
            customers: CustomerService::new(
                db.clone(),
                clock.clone(),
                config.clone(),
                doorbell.clone(),
            ),
            accounts: AccountService::new(
                db.clone(),
                clock.clone(),
                config.clone(),
                sessions.clone(),
                doorbell.clone(),
            ),
            login: LoginService::new(
                db.clone(),
                clock.clone(),
                config.clone(),
                sessions.clone(),
                doorbell.clone(),
            ),
            limiter: RateLimiter::new(db.clone(), clock.clone()),
            stores: StoreService::new(db.clone(), clock.clone()),
            orders: OrderService::new(db.clone(), clock.clone(), config.clone()),
            sessions,
            doorbell,
            keys: KeyService::new(
                db.clone(),
                clock.clone(),
                config.public_key.as_ref(),
                config.secret_key.as_ref(),
            ),
            clock,
            config,
            db,
        }
    }

    /// Verifies a customer bearer token; the session and the store it belongs to.
    pub async fn authenticate_customer(
        &self,
        token: &str,
    ) -> Result<(CustomerSession, StoreId), ApiError> {
        match self.sessions.authenticate(token).await {
            Ok((session_id, customer, store)) => Ok((
                CustomerSession {
                    session_id,
                    customer,
                },
                store,
            )),
            // One mapping for every session error (`error.rs`): a bad token is a 401, a key
            // that cannot be read a 500, never the other way round.
            Err(e) => Err(e.into()),
        }
    }
}

/// The per-client-IP limits, by what the request does.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// Requests that send mail: login links, registrations, reset links.
    MailRequest,
    /// Requests that use a mailed token: exchange, verify, reset.
    TokenUse,
    /// Password logins.
    Login,
}

impl AppState {
    /// Counts the request against its per-IP limit; 429 past it.
    pub async fn limit(&self, client: &client::Client, which: Limit) -> Result<(), ApiError> {
        let r = &self.config.rate_limits;
        let (bucket, per_minute) = match which {
            Limit::MailRequest => ("mail", r.email_token_per_minute),
            Limit::TokenUse => ("token", r.exchange_per_minute),
            Limit::Login => ("login", r.login_per_minute),
        };
        self.limiter
            .per_minute(bucket, &client.ip_key(), per_minute)
            .await
            .map_err(|e| match e {
                crate::service::rate_limit::RateLimitError::Limited { retry_after_secs } => {
                    ApiError::RateLimited {
                        code: "rate_limited",
                        message: "Too many requests. Please wait before trying again.",
                        retry_after_secs,
                    }
                }
                crate::service::rate_limit::RateLimitError::Db(d) => d.into(),
            })
    }
}

/// Unknown paths are 404; other methods on the document and the API browser (served by
/// Swagger UI's own routes) are 405 like every other resource.
async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if path == "/openapi.json" || path == "/docs" || path.starts_with("/docs/") {
        return Err(ApiError::MethodNotAllowed { allow: "GET, HEAD" });
    }
    Err(ApiError::not_found())
}

/// A resource that answers 405 (in Chec's error body) to methods it has no route for, with
/// `Allow` naming the ones it has (RFC 9110). HEAD is answered wherever GET is (see
/// `request_id::request_context`). A test holds each `allow` to the routes and the OpenAPI
/// document.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow })
    }))
}

/// Registers every route, with the extractor settings and middleware they rely on.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let limit = state.config.max_body_bytes;
        let cors_origins = state.config.cors_origins.clone();
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
                // The last `wrap` runs first: the request context is outermost so that what
                // CORS refuses still gets a request id and Chec's body.
                web::scope("")
                    .wrap(middleware::from_fn(nul::refuse_in_query))
                    .wrap(cors::cors(&cors_origins))
                    .wrap(middleware::from_fn(request_id::request_context))
                    .service(
                        resource("/healthz", "GET, HEAD").route(web::get().to(health::healthz)),
                    )
                    .service(resource("/readyz", "GET, HEAD").route(web::get().to(health::readyz)))
                    .service(
                        resource("/.well-known/jwks.json", "GET, HEAD")
                            .route(web::get().to(login::jwks)),
                    )
                    .service(
                        resource("/v1/customers/email-token", "POST")
                            .route(web::post().to(login::email_token)),
                    )
                    .service(
                        resource("/v1/customers/exchange-token", "POST")
                            .route(web::post().to(login::exchange_token)),
                    )
                    .service(
                        resource("/v1/customers/logout", "POST")
                            .route(web::post().to(login::logout)),
                    )
                    .service(
                        resource("/v1/customers/logout-all", "POST")
                            .route(web::post().to(accounts::logout_all)),
                    )
                    .service(
                        resource("/v1/customers/register", "POST")
                            .route(web::post().to(accounts::register)),
                    )
                    .service(
                        resource("/v1/customers/verify-email", "POST")
                            .route(web::post().to(accounts::verify_email)),
                    )
                    .service(
                        resource("/v1/customers/login", "POST")
                            .route(web::post().to(accounts::login)),
                    )
                    .service(
                        resource("/v1/customers/confirm-email-change", "POST")
                            .route(web::post().to(email_change::confirm)),
                    )
                    .service(
                        resource("/v1/customers/password-reset-email", "POST")
                            .route(web::post().to(accounts::reset_email)),
                    )
                    .service(
                        resource("/v1/customers/password-reset/verify", "POST")
                            .route(web::post().to(accounts::reset_verify)),
                    )
                    .service(
                        resource("/v1/customers/password-reset", "POST")
                            .route(web::post().to(accounts::reset)),
                    )
                    .service(
                        resource("/v1/customers/{customer_id}/issue-token", "POST")
                            .route(web::post().to(login::issue_token)),
                    )
                    .service(
                        resource("/v1/customers/{customer_id}/orders", "GET, HEAD")
                            .route(web::get().to(orders::list_for_customer)),
                    )
                    .service(
                        resource("/v1/customers/{customer_id}/orders/{order_id}", "GET, HEAD")
                            .route(web::get().to(orders::get_for_customer)),
                    )
                    .service(
                        resource("/v1/orders", "GET, HEAD, POST")
                            .route(web::get().to(orders::list))
                            .route(web::post().to(orders::create)),
                    )
                    .service(
                        resource("/v1/orders/{order_id}", "GET, HEAD, PUT")
                            .route(web::get().to(orders::get))
                            .route(web::put().to(orders::update)),
                    )
                    .service(
                        resource("/v1/customers", "GET, HEAD, POST")
                            .route(web::get().to(customers::list))
                            .route(web::post().to(customers::create)),
                    )
                    .service(
                        resource("/v1/customers/{customer_id}", "GET, HEAD, PUT, DELETE")
                            .route(web::get().to(customers::get))
                            .route(web::put().to(customers::update))
                            .route(web::delete().to(customers::delete)),
                    )
                    .configure(stores::routes)
                    .configure(merchants::routes)
                    .service(web::redirect("/docs", "/docs/").permanent())
                    .service(
                        SwaggerUi::new("/docs/{_:.*}")
                            .url("/openapi.json", openapi::ApiDoc::openapi()),
                    )
                    .default_service(web::to(not_found)),
            );
    }
}
