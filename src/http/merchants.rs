//! `GET /v1/merchants`: the caller's store in Chec's merchant shape (`commerce.merchants.about()`).
//! What patron has no notion of (logo, cover, analytics, description) is rendered as Chec
//! renders it empty.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::orders::CurrencyView;
use crate::domain::store::Store;

/// The merchant (store) a key or customer token belongs to, as Chec shows it. Nothing in it is
/// secret: a storefront's public key may read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantView {
    /// The store's id (`store_...`).
    #[schema(example = "store_Xk3J2apam2oDdz")]
    pub id: String,
    pub name: String,
    /// Always empty: patron keeps no description.
    pub description: String,
    #[schema(example = "active")]
    pub status: &'static str,
    /// ISO 3166-1 alpha-2 code, or `null` when the store has none.
    #[schema(required = true, example = "SE")]
    pub country: Option<String>,
    #[schema(required = true)]
    pub currency: Option<CurrencyView>,
    #[schema(required = true)]
    pub support_email: Option<String>,
    /// Always `null`.
    #[schema(required = true)]
    pub logo: Option<String>,
    /// Always `null`.
    #[schema(required = true)]
    pub logo_shape: Option<String>,
    /// Always `null`.
    #[schema(required = true)]
    pub cover: Option<String>,
    pub has: MerchantHas,
    pub analytics: MerchantAnalytics,
    /// Always `[]`, as Chec renders an empty object.
    #[schema(schema_with = super::openapi::object_or_empty_array)]
    pub meta: Value,
}

/// What the merchant has set up; patron has none of these.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantHas {
    pub logo: bool,
    pub cover: bool,
    pub analytics: bool,
    pub description: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantAnalytics {
    pub google: MerchantGoogleAnalytics,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantGoogleAnalytics {
    pub settings: MerchantGoogleSettings,
}

/// Always empty.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantGoogleSettings {
    #[schema(required = true)]
    pub tracking_id: Option<String>,
    pub linked_domains: Vec<String>,
}

impl From<&Store> for MerchantView {
    fn from(store: &Store) -> Self {
        let s = &store.settings;
        MerchantView {
            id: store.id.as_str().to_owned(),
            name: store.name.clone(),
            description: String::new(),
            status: "active",
            country: s.country.clone(),
            currency: s.currency.map(CurrencyView::from),
            support_email: s.support_email.clone(),
            logo: None,
            logo_shape: None,
            cover: None,
            has: MerchantHas {
                logo: false,
                cover: false,
                analytics: false,
                description: false,
            },
            analytics: MerchantAnalytics {
                google: MerchantGoogleAnalytics {
                    settings: MerchantGoogleSettings {
                        tracking_id: None,
                        linked_domains: Vec::new(),
                    },
                },
            },
            meta: Value::Array(Vec::new()),
        }
    }
}

/// Registers the merchant route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/v1/merchants", "GET, HEAD").route(web::get().to(about)));
}

/// The merchant (store) the key or customer token belongs to.
#[utoipa::path(
    get, path = "/v1/merchants", operation_id = "get_merchant", tag = "merchants",
    responses(
        (status = 200, description = "The caller's merchant", body = MerchantView),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
    ),
    security(("merchant_key" = []), ("customer_jwt" = []))
)]
pub async fn about(caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(MerchantView::from(caller.store())))
}
