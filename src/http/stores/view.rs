//! The store API's request and response bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::store::{origin_text, Store, StoreInput};
use crate::http::body::nullable;

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
    pub meta: crate::http::pagination::PageMeta,
}
