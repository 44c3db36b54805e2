//! The OpenAPI document, generated from the handlers and DTOs. Committed as
//! `openapi/openapi.json`; a test fails when the two differ (`patron openapi` rewrites it).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, customers, email_change, error, health, login, merchants, orders, pagination, stores,
};

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
        stores::create, stores::list, stores::get, stores::update, stores::delete,
        merchants::about,
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
        stores::StoreView, stores::StoreCreated, stores::StoreCreate, stores::StoreUpdate,
        stores::StoreDeleted, stores::StoreList,
        merchants::MerchantView, merchants::MerchantHas, merchants::MerchantAnalytics,
        merchants::MerchantGoogleAnalytics, merchants::MerchantGoogleSettings,
    )),
    modifiers(&SecuritySchemes, &CommonErrors, &Constraints, &Links),
    tags(
        (name = "customers", description = "Customer records and profiles"),
        (name = "login", description = "Magic links, sessions and the JWT keys"),
        (name = "accounts", description = "Password accounts: registration, login, reset"),
        (name = "orders", description = "Orders, for the merchant and for the customer who placed them"),
        (name = "stores", description = "The operator's stores (PATRON_ADMIN_KEY; off without it)"),
        (name = "merchants", description = "The caller's store, as Chec's merchant"),
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
            "admin_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Authorization",
                "The operator's key (PATRON_ADMIN_KEY, ak_...): the store API only",
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
        for op in operations_mut(openapi) {
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

/// Enumerations the handlers parse with a table: the document lists the table's values, so
/// that what it promises and what the server accepts cannot drift apart.
struct Constraints;

impl Modify for Constraints {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        fn names<T>(table: &[(&str, T)]) -> Vec<String> {
            table.iter().map(|(name, _)| (*name).to_owned()).collect()
        }
        fn words(values: Vec<String>) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(values))
                .into()
        }
        free_text_patterns(openapi);
        order_statuses(openapi);
        let customer_sorts = names(customers::SORT_BY);
        let order_sorts = names(orders::SORT_BY);
        let directions = names(pagination::DIRECTIONS);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(get) = item.get.as_mut() else {
                continue;
            };
            for param in get.parameters.iter_mut().flatten() {
                let utoipa::openapi::RefOr::T(param) = param else {
                    continue;
                };
                match param.name.as_str() {
                    // A filter by customer: anything that is not a customer id is refused.
                    "customer_id" if matches!(param.parameter_in, ParameterIn::Query) => {
                        param.schema = Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some(crate::domain::CustomerId::pattern()))
                                .into(),
                        )
                    }
                    "sortDirection" => param.schema = Some(words(directions.clone())),
                    "sortBy" if path == "/v1/customers" => {
                        param.schema = Some(words(customer_sorts.clone()))
                    }
                    "sortBy" => param.schema = Some(words(order_sorts.clone())),
                    _ => {}
                }
            }
        }
        // What has no pattern of its own yet may not hold NUL; then the order's schema is
        // wrapped (the steps above edit plain objects only).
        no_nul_anywhere(openapi);
        order_customer_is_one_of_two(openapi);
    }
}

/// The request fields read as free text (`domain::validation::text`) refuse control, line and
/// bidi characters; their pattern says so, built from the same list.
fn free_text_patterns(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::domain::validation::{non_blank_text_pattern, text_pattern};
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    const NAMES: &[&str] = &["firstname", "lastname", "phone", "external_id"];
    let fields: &[(&str, &[&str])] = &[
        ("CustomerCreate", NAMES),
        ("CustomerUpdate", NAMES),
        ("RegisterRequest", NAMES),
        ("OrderCustomerInput", NAMES),
        ("StoreCreate", &["name", "mail_subject"]),
        ("StoreUpdate", &["name", "mail_subject"]),
        (
            "LineItemInput",
            &["product_name", "product_sku", "product_id"],
        ),
    ];
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    for (schema, names) in fields {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema) else {
            continue;
        };
        for name in names.iter() {
            let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(*name) else {
                continue;
            };
            field.pattern = Some(if matches!(*name, "product_name" | "name") {
                non_blank_text_pattern()
            } else {
                text_pattern()
            });
        }
    }
}

/// The pattern of a string that only may not hold NUL (`nul`).
const NO_NUL: &str = "^[^\\u0000]*$";

fn is_string(t: &utoipa::openapi::schema::SchemaType) -> bool {
    use utoipa::openapi::schema::{SchemaType, Type};
    match t {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(ts) => ts.contains(&Type::String),
        SchemaType::AnyValue => false,
    }
}

/// NUL is refused in every string of a request body (`nul`): a string field with no pattern
/// of its own says so.
fn no_nul_anywhere(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    // Parameters (query and path) of every operation.
    for op in operations_mut(openapi) {
        for param in op.parameters.iter_mut().flatten() {
            let RefOr::T(param) = param else {
                continue;
            };
            if let Some(RefOr::T(Schema::Object(text))) = param.schema.as_mut() {
                forbid_nul(text);
            }
        }
    }
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    for (name, schema) in components.schemas.iter_mut() {
        let is_request = ["Request", "Create", "Update", "Input"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        if !is_request {
            continue;
        }
        for field in object.properties.values_mut() {
            if let RefOr::T(Schema::Object(field)) = field {
                forbid_nul(field);
            }
        }
    }
}

/// An order's statuses, from the tables `domain::order` checks them with.
fn order_statuses(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::domain::order::{FULFILLMENT_STATUSES, ORDER_STATUS_PATTERN, PAYMENT_STATUSES};
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
    use utoipa::openapi::RefOr;
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    for schema in ["OrderCreate", "OrderUpdate"] {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) else {
            continue;
        };
        for (name, property) in object.properties.iter_mut() {
            let RefOr::T(Schema::Object(field)) = property else {
                continue;
            };
            let table = match name.as_str() {
                "status" => {
                    field.pattern = Some(ORDER_STATUS_PATTERN.to_owned());
                    continue;
                }
                "status_payment" => PAYMENT_STATUSES,
                "status_fulfillment" => FULFILLMENT_STATUSES,
                _ => continue,
            };
            let words = ObjectBuilder::new()
                .schema_type(Type::String)
                .description(field.description.clone())
                .enum_values(Some(table.iter().copied()))
                .build();
            // A field that may be null (on create: left to its default) is one of the words or
            // null, which generated clients read as an optional enum.
            let nullable =
                matches!(&field.schema_type, SchemaType::Array(ts) if ts.contains(&Type::Null));
            *property = if nullable {
                Schema::OneOf(
                    OneOfBuilder::new()
                        .item(words)
                        .item(ObjectBuilder::new().schema_type(Type::Null))
                        .build(),
                )
                .into()
            } else {
                Schema::Object(words).into()
            };
        }
    }
}

/// An order names its customer by `customer_id` or by `customer` (with an email): one of the
/// two is required, which the derived object schema cannot say alone.
fn order_customer_is_one_of_two(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema};
    use utoipa::openapi::RefOr;
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(original)) = components.schemas.remove("OrderCreate") else {
        return;
    };
    let one_of_two = AnyOfBuilder::new()
        .item(ObjectBuilder::new().required("customer_id"))
        .item(ObjectBuilder::new().required("customer"))
        .build();
    let combined = AllOfBuilder::new()
        .item(original)
        .item(Schema::AnyOf(one_of_two))
        .build();
    components
        .schemas
        .insert("OrderCreate".into(), Schema::AllOf(combined).into());
}

/// OpenAPI links from each answer that names a new or known resource to the operations that
/// take its id, so that generated clients and stateful fuzzers can chain them.
struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::link::LinkBuilder;
        use utoipa::openapi::RefOr;
        type Chain = (
            &'static str,
            &'static str,
            &'static [(&'static str, &'static str)],
        );
        const CUSTOMER_ID: &[(&str, &str)] = &[("customer_id", "$response.body#/id")];
        const SESSION_CUSTOMER: &[(&str, &str)] = &[("customer_id", "$response.body#/customer_id")];
        const ORDER_ID: &[(&str, &str)] = &[("order_id", "$response.body#/id")];
        const CUSTOMER_ORDER: &[(&str, &str)] = &[
            ("customer_id", "$response.body#/customer/id"),
            ("order_id", "$response.body#/id"),
        ];
        let customer: &[Chain] = &[
            ("GetCustomer", "get_customer", CUSTOMER_ID),
            ("UpdateCustomer", "update_customer", CUSTOMER_ID),
            ("DeleteCustomer", "delete_customer", CUSTOMER_ID),
            ("IssueToken", "issue_token", CUSTOMER_ID),
            ("ListCustomerOrders", "list_customer_orders", CUSTOMER_ID),
        ];
        let session: &[Chain] = &[
            ("GetCustomer", "get_customer", SESSION_CUSTOMER),
            ("UpdateCustomer", "update_customer", SESSION_CUSTOMER),
            (
                "ListCustomerOrders",
                "list_customer_orders",
                SESSION_CUSTOMER,
            ),
        ];
        const STORE_ID: &[(&str, &str)] = &[("store_id", "$response.body#/id")];
        let store: &[Chain] = &[
            ("GetStore", "get_store", STORE_ID),
            ("UpdateStore", "update_store", STORE_ID),
            ("DeleteStore", "delete_store", STORE_ID),
        ];
        let order: &[Chain] = &[
            ("GetOrder", "get_order", ORDER_ID),
            ("UpdateOrder", "update_order", ORDER_ID),
            ("GetCustomerOrder", "get_customer_order", CUSTOMER_ORDER),
        ];
        let sources: &[(&str, &str, &[Chain])] = &[
            ("create_customer", "201", customer),
            ("get_customer", "200", customer),
            ("update_customer", "200", customer),
            ("exchange_token", "200", session),
            ("issue_token", "200", session),
            ("login_with_password", "200", session),
            ("create_order", "201", order),
            ("get_order", "200", order),
            ("create_store", "201", store),
            ("get_store", "200", store),
            ("update_store", "200", store),
        ];
        for op in operations_mut(openapi) {
            let Some((_, status, chains)) = sources
                .iter()
                .find(|(id, _, _)| op.operation_id.as_deref() == Some(*id))
            else {
                continue;
            };
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                continue;
            };
            for (name, target, params) in chains.iter() {
                if op.operation_id.as_deref() == Some(*target) {
                    continue;
                }
                let link = params
                    .iter()
                    .fold(LinkBuilder::new().operation_id(*target), |l, (p, v)| {
                        l.parameter(*p, *v)
                    })
                    .build();
                response.links.insert((*name).to_owned(), link.into());
            }
        }
    }
}

/// Every operation of the document (the methods patron serves).
fn operations_mut(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
    })
}

/// A string with no pattern or values of its own may not hold NUL (`nul`), and says so.
fn forbid_nul(text: &mut utoipa::openapi::schema::Object) {
    if is_string(&text.schema_type) && text.pattern.is_none() && text.enum_values.is_none() {
        text.pattern = Some(NO_NUL.to_owned());
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
