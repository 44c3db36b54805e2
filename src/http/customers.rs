//! `/v1/customers`: the merchant's customer records, and a customer's own profile.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::body::{nullable, typed};
use super::client::Client;
use super::error::{ApiError, ErrorBody};
use super::pagination::{PageParams, Paginated};
use super::{AppState, Limit};

use crate::domain::customer::{Customer, Filter, ProfileInput, SortColumn, MERCHANT_ONLY_FIELDS};
use crate::domain::link::LinkTemplate;
use crate::domain::validation::Collector;
use crate::domain::{CustomerId, Email};
use crate::service::customers::{Actor, ListQuery};

/// A customer, exactly as Chec shows one. Never a password or hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    /// `cstmr_` followed by 14 letters and digits.
    #[schema(example = "cstmr_cO3J2apam2oDdz")]
    pub id: String,
    pub external_id: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: String,
    pub phone: Option<String>,
    /// Merchant data: an object, or `[]` when empty (as Chec renders it).
    #[schema(schema_with = super::openapi::object_or_empty_array)]
    pub meta: Value,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
    /// Whether the customer can log in with a password.
    pub has_password: bool,
    /// Only in the answer to a customer's own `PUT` that changes `email`: the address a
    /// confirmation was mailed to. `email` changes once it is confirmed
    /// (`POST /v1/customers/confirm-email-change`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<String>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        CustomerView {
            id: c.id.into_string(),
            external_id: c.external_id,
            firstname: c.firstname,
            lastname: c.lastname,
            email: c.email,
            phone: c.phone,
            meta: c.meta.to_json(),
            created: c.created_at.and_utc().timestamp(),
            updated: c.updated_at.and_utc().timestamp(),
            has_password: c.has_password,
            pending_email: None,
        }
    }
}

/// Fields of a new customer. Only `email` is required.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerCreate {
    /// Unique per store, ignoring case.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, required = true, format = Email, example = "leslie@example.com")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub firstname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub lastname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub phone: Option<Option<String>>,
    /// The merchant's own id for this customer.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub external_id: Option<Option<String>>,
    /// Any JSON object (at most 16 KiB).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    /// Optional: lets the customer log in with email and password (8 to 128 characters).
    #[schema(write_only, min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

/// A partial update: a field left out keeps its value, `null` clears it (`firstname`,
/// `lastname`, `phone`, `external_id`, `meta`), a value sets it. `email` and `password` cannot
/// be cleared: `null` for them is refused (422).
///
/// With the secret key every field may be set. A customer's own token may set `firstname`,
/// `lastname`, `phone`, `password` (with `current_password`) and `email`, which only mails a
/// confirmation to the new address; `external_id` and `meta` are the merchant's (403).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerUpdate {
    /// With the secret key: set at once. With the customer's own token: a confirmation goes
    /// to the new address and the change applies when it is used.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, format = Email)]
    pub email: Option<Option<String>>,
    /// For a customer's own email change: where the confirmation link points (`{token}` is
    /// replaced, else `token=` is added). Without it the mail carries a code to enter.
    #[schema(example = "http://localhost:3000/confirm-email?token={token}")]
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub firstname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub lastname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub external_id: Option<Option<String>>,
    /// Any JSON object (at most 16 KiB), replacing the stored one; `null` or `[]` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Option<Value>>,
    /// A new password (8 to 128 characters). Every other session is logged out.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, write_only, min_length = 8, max_length = 128)]
    pub password: Option<Option<String>>,
    /// Required when a customer changes their own existing password.
    #[schema(write_only)]
    pub current_password: Option<String>,
}

impl From<CustomerCreate> for ProfileInput {
    fn from(b: CustomerCreate) -> Self {
        ProfileInput {
            email: b.email,
            firstname: b.firstname,
            lastname: b.lastname,
            phone: b.phone,
            external_id: b.external_id,
            meta: b.meta.map(Some),
            password: b.password.map(Some),
            current_password: None,
        }
    }
}

impl From<CustomerUpdate> for ProfileInput {
    fn from(b: CustomerUpdate) -> Self {
        ProfileInput {
            email: b.email,
            firstname: b.firstname,
            lastname: b.lastname,
            phone: b.phone,
            external_id: b.external_id,
            meta: b.meta,
            password: b.password,
            current_password: b.current_password,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDeleted {
    pub id: String,
    pub deleted: bool,
}

/// The longest `query` or `email` a list accepts: no name or address stored is longer.
const MAX_SEARCH_LEN: usize = 255;

/// Filters and sorting of the customer list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerListParams {
    /// `created_at` (default), `updated_at`, `email`, `firstname` or `lastname` (`created`
    /// and `updated` are aliases).
    #[serde(rename = "sortBy")]
    #[param(rename = "sortBy")]
    pub sort_by: Option<String>,
    /// Matches part of the email, first name or last name, ignoring case (at most 255
    /// characters).
    #[param(max_length = 255)]
    pub query: Option<String>,
    /// Exact email, ignoring case (at most 255 characters).
    #[param(max_length = 255)]
    pub email: Option<String>,
    /// Exact external id.
    pub external_id: Option<String>,
}

/// A page of customers (documentation of `Paginated<CustomerView>`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    pub data: Vec<CustomerView>,
    pub meta: super::pagination::PageMeta,
}

/// The id in the path; anything malformed is simply not found, but NUL is refused by name as
/// everywhere else.
pub fn path_customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    super::nul::check_path("customer_id", raw)?;
    CustomerId::parse(raw).ok_or_else(ApiError::customer_not_found)
}

/// The values of the customer list's `sortBy` (`created` and `updated` are Chec's aliases).
pub const SORT_BY: &[(&str, SortColumn)] = &[
    ("created_at", SortColumn::CreatedAt),
    ("updated_at", SortColumn::UpdatedAt),
    ("email", SortColumn::Email),
    ("firstname", SortColumn::Firstname),
    ("lastname", SortColumn::Lastname),
    ("created", SortColumn::CreatedAt),
    ("updated", SortColumn::UpdatedAt),
];

/// Create a customer.
#[utoipa::path(
    post, path = "/v1/customers", operation_id = "create_customer", tag = "customers",
    request_body = CustomerCreate,
    responses(
        (status = 201, description = "The new customer", body = CustomerView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid data, or the email is taken", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let body: CustomerCreate = typed(body.into_inner())?;
    let new = ProfileInput::from(body).into_new()?;
    let customer = state.customers.create(caller.store.clone(), new).await?;
    Ok(HttpResponse::Created().json(CustomerView::from(customer)))
}

/// List customers, paginated, with search, filters and sorting.
#[utoipa::path(
    get, path = "/v1/customers", operation_id = "list_customers", tag = "customers",
    params(PageParams, CustomerListParams),
    responses(
        (status = 200, description = "A page of customers", body = CustomerList),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    paging: web::Query<PageParams>,
    params: web::Query<CustomerListParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let mut c = Collector::new();
    let paging = paging.parse(&mut c);
    let sort = super::pagination::one_of(
        &mut c,
        "sortBy",
        params.sort_by.as_deref(),
        SORT_BY,
        SortColumn::CreatedAt,
    );
    let non_empty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let email = non_empty(&params.email).map(|raw| match Email::parse(&raw) {
        Ok(e) => e.normalized().to_owned(),
        // An exact filter on something that is not an address just matches nothing.
        Err(_) => raw.to_lowercase(),
    });
    let query = non_empty(&params.query).map(|q| q.to_lowercase());
    for (name, raw) in [("query", &params.query), ("email", &params.email)] {
        if non_empty(raw).is_some_and(|v| v.chars().count() > MAX_SEARCH_LEN) {
            c.add(
                "invalid_parameter",
                name,
                format!("The {name} may not be greater than {MAX_SEARCH_LEN} characters."),
            );
        }
    }
    c.finish()?;
    let page = state
        .customers
        .list(
            caller.store.clone(),
            ListQuery {
                filter: Filter {
                    query,
                    email_normalized: email,
                    external_id: non_empty(&params.external_id),
                },
                sort,
                direction: paging.direction,
                limit: paging.limit,
                page: paging.page,
            },
        )
        .await?;
    let data = page.items.into_iter().map(CustomerView::from).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(
        &req, data, page.total, page.limit, page.page,
    )))
}

/// Get one customer: with the secret key, or the customer's own bearer token.
#[utoipa::path(
    get, path = "/v1/customers/{customer_id}", operation_id = "get_customer", tag = "customers",
    params(("customer_id" = String, Path, description = "Customer id (cstmr_...)")),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
    ),
    security(("merchant_key" = []), ("customer_jwt" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_customer_id(&path)?;
    caller.require_customer_or_secret(&id)?;
    // A customer reading their own profile: it was read with the session check.
    let customer = match caller.session() {
        Some(s) if *s.customer_id() == id => s.customer.clone(),
        _ => state.customers.get(caller.store.clone(), &id).await?,
    };
    Ok(HttpResponse::Ok().json(CustomerView::from(customer)))
}

/// Update a customer partially: absent fields keep their values.
#[utoipa::path(
    put, path = "/v1/customers/{customer_id}", operation_id = "update_customer", tag = "customers",
    params(("customer_id" = String, Path, description = "Customer id (cstmr_...)")),
    request_body = CustomerUpdate,
    responses(
        (status = 200, description = "The updated customer", body = CustomerView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not allowed, or a customer naming a merchant-only field", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Invalid data, or the email is taken", body = ErrorBody),
        (status = 429, description = "Too many wrong current passwords, or too many mail-sending requests from this client", body = ErrorBody),
        (status = 503, description = "Password hashing busy; retry after `Retry-After`", body = ErrorBody),
    ),
    security(("merchant_key" = []), ("customer_jwt" = []))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: Client,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = path_customer_id(&path)?;
    caller.require_customer_or_secret(&id)?;
    let body = body.into_inner();
    if caller.session().is_some() {
        refuse_merchant_only_fields(&body)?;
    }
    let mut body: CustomerUpdate = typed(body)?;
    let mut c = Collector::new();
    let email_link = body.base_url.take().and_then(|raw| {
        c.take(LinkTemplate::parse(
            &raw,
            caller.store().link_origins(&state.config),
        ))
    });
    let patch = ProfileInput::from(body).into_patch();
    let patch = c.take(patch);
    c.finish()?;
    let Some(patch) = patch else {
        return Err(ApiError::Internal("validated patch missing".into()));
    };
    let actor = match caller.session() {
        Some(s) => {
            if patch.email.is_some() {
                // A customer's email change mails an address of their choosing: it counts
                // against the per-client limit of every request that sends mail.
                state.limit(&client, Limit::MailRequest).await?;
            }
            Actor::Customer {
                session_id: s.session_id.clone(),
            }
        }
        None => Actor::Merchant,
    };
    let updated = state
        .customers
        .update(
            caller.store.clone(),
            &id,
            patch,
            actor,
            client.0,
            email_link,
        )
        .await?;
    let mut view = CustomerView::from(updated.customer);
    view.pending_email = updated.pending_email;
    Ok(HttpResponse::Ok().json(view))
}

/// A customer's own `PUT` may not name a merchant-only field, not even to clear it; the whole
/// request is refused so nothing of it is saved.
fn refuse_merchant_only_fields(body: &Value) -> Result<(), ApiError> {
    let Some(fields) = body.as_object() else {
        return Ok(());
    };
    let named: Vec<&str> = MERCHANT_ONLY_FIELDS
        .into_iter()
        .filter(|f| fields.contains_key(*f))
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let errors = named
        .iter()
        .map(|f| {
            (
                (*f).to_owned(),
                vec![format!(
                    "The {f} can only be set by the merchant, with the secret key."
                )],
            )
        })
        .collect();
    Err(ApiError::ForbiddenFields {
        code: "merchant_only_field",
        message: format!(
            "A customer cannot change {}: only the merchant's secret key may set it.",
            named.join(", ")
        ),
        errors,
    })
}

/// Delete a customer and their personal data. Their orders remain, anonymised.
#[utoipa::path(
    delete, path = "/v1/customers/{customer_id}", operation_id = "delete_customer", tag = "customers",
    params(("customer_id" = String, Path, description = "Customer id (cstmr_...)")),
    responses(
        (status = 200, description = "Deleted", body = CustomerDeleted),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "Not a secret key", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
    ),
    security(("merchant_key" = []))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_secret()?;
    let id = path_customer_id(&path)?;
    state.customers.delete(caller.store.clone(), &id).await?;
    Ok(HttpResponse::Ok().json(CustomerDeleted {
        id: id.into_string(),
        deleted: true,
    }))
}
