//! The OpenAPI document, generated from the handlers and DTOs. Committed as
//! `openapi/openapi.json`; a test fails when the two differ (`patron openapi` rewrites it).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{accounts, customers, email_change, error, health, login, orders, pagination};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "patron",
        description = "Customer identity and profile service for headless commerce. \
            Mirrors Chec's (Commerce.js) /v1/customers API.",
        license(name = "MIT")
    ),
    paths(
        customers::create, customers::list, customers::get, customers::update, customers::delete,
        login::email_token, login::exchange_token, login::issue_token, login::logout, login::jwks,
        accounts::register, accounts::verify_email, accounts::login, accounts::reset_email,
        accounts::reset_verify, accounts::reset, accounts::logout_all, email_change::confirm,
        orders::create, orders::list, orders::get, orders::update,
        orders::list_for_customer, orders::get_for_customer,
        health::healthz, health::readyz,
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail,
        customers::CustomerView, customers::CustomerCreate, customers::CustomerUpdate,
        customers::CustomerDeleted, customers::CustomerList,
        pagination::PageMeta, pagination::Pagination, pagination::PageLinks,
        login::EmailTokenRequest, login::ExchangeTokenRequest, login::LoginResponse, login::Success,
        login::JwkSet, crate::service::sessions::Jwk,
        orders::OrderView, orders::OrderList, orders::OrderCreate, orders::OrderUpdate,
        orders::LineItemInput, orders::OrderCustomerInput, orders::LineItemView,
        orders::CurrencyView, orders::OrderTotals, orders::ShippingLine, orders::TaxView,
        crate::domain::money::Price,
        accounts::RegisterRequest, accounts::TokenRequest, accounts::PasswordLoginRequest,
        accounts::ResetEmailRequest, accounts::ResetRequest, accounts::TokenValidity,
        accounts::PasswordChanged,
    )),
    modifiers(&SecuritySchemes, &CommonErrors),
    tags(
        (name = "customers", description = "Customer records and profiles"),
        (name = "login", description = "Magic links, sessions and the JWT keys"),
        (name = "accounts", description = "Password accounts: registration, login, reset"),
        (name = "orders", description = "Orders, for the merchant and for the customer who placed them"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "merchant_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Authorization",
                "Merchant API key: pk_... (storefront) or sk_... (back office)",
            ))),
        );
        components.add_security_scheme(
            "customer_jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A customer's session token from exchange-token"))
                    .build(),
            ),
        );
    }
}

/// Answers every operation can give, documented once instead of on each handler: any
/// authenticated operation can refuse the credentials (401) or the caller (403, e.g. a customer
/// token on a merchant endpoint); any operation with a body can find it malformed (400), too
/// large (413) or invalid (422).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add("401", "No or bad credentials");
                    add("403", "These credentials may not do this");
                }
                if op.request_body.is_some() {
                    add("400", "Malformed JSON");
                    add("413", "Body too large");
                    add("422", "Invalid data");
                }
            }
        }
    }
}

/// The document as committed: pretty JSON with a final newline.
pub fn document() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

/// Chec renders an empty object as `[]` (a PHP habit), so these fields are an object, or an
/// empty array.
pub fn object_or_empty_array() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Object))
            .item(
                ArrayBuilder::new()
                    .items(ObjectBuilder::new())
                    .max_items(Some(0)),
            )
            .description(Some("An object, or [] when empty (as Chec renders it)"))
            .build(),
    )
}
