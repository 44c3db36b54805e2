//! Chec's (Fractal's) pagination block and the list parameters every collection shares.

use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::paging::SortDirection;
use crate::domain::validation::Collector;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 200;
/// The largest page number: what a 32-bit signed integer holds, the `int32` clients generated
/// from the OpenAPI document use.
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// The parameters of a paginated list, as text so that a bad value is a 422 naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Page number, from 1 to 2147483647; a page past the last is empty.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 2147483647)]
    pub page: Option<String>,
    /// `asc` or `desc` (default `desc`). The values are written in by the OpenAPI document's
    /// `Constraints` from [`DIRECTIONS`].
    #[serde(rename = "sortDirection")]
    #[param(rename = "sortDirection", value_type = Option<String>)]
    pub sort_direction: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub limit: u32,
    pub page: u32,
    pub direction: SortDirection,
}

/// The values of `sortDirection`.
pub const DIRECTIONS: &[(&str, SortDirection)] =
    &[("asc", SortDirection::Asc), ("desc", SortDirection::Desc)];

/// A query parameter that takes one of a few words, exactly as the OpenAPI document lists
/// them (from the same table): absent is the default; anything else, an empty value
/// included, is a 422 naming the parameter.
pub fn one_of<T: Copy>(
    c: &mut Collector,
    field: &str,
    raw: Option<&str>,
    choices: &[(&'static str, T)],
    default: T,
) -> T {
    let Some(raw) = raw else {
        return default;
    };
    if let Some((_, value)) = choices.iter().find(|(name, _)| *name == raw) {
        return *value;
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    c.add(
        "invalid_parameter",
        field,
        format!("The {field} must be one of {}.", names.join(", ")),
    );
    default
}

/// A whole number from 1 to `max`; absent is the default, an empty value is refused like any
/// other that is not a number.
fn positive(c: &mut Collector, field: &str, raw: Option<&str>, default: u32, max: u32) -> u32 {
    let Some(raw) = raw else {
        return default;
    };
    let parsed = raw.parse::<u32>();
    // Digits beyond u32 are a number too large, not a malformed one.
    let too_large = match parsed {
        Ok(n) => n > max,
        Err(_) => raw.bytes().all(|b| b.is_ascii_digit()),
    };
    match parsed {
        Ok(n) if n >= 1 && !too_large => n,
        _ if too_large => {
            c.add(
                "invalid_parameter",
                field,
                format!("The {field} may not be greater than {max}."),
            );
            default
        }
        _ => {
            c.add(
                "invalid_parameter",
                field,
                format!("The {field} must be a whole number of at least 1."),
            );
            default
        }
    }
}

impl PageParams {
    pub fn parse(&self, c: &mut Collector) -> Paging {
        let limit = positive(c, "limit", self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT);
        let page = positive(c, "page", self.page.as_deref(), 1, MAX_PAGE);
        let direction = one_of(
            c,
            "sortDirection",
            self.sort_direction.as_deref(),
            DIRECTIONS,
            SortDirection::Desc,
        );
        Paging {
            limit,
            page,
            direction,
        }
    }
}

/// A page of results, as Chec returns collections. Each collection documents itself with a
/// concrete schema (`CustomerList`, `OrderList`), so generated clients get distinct types.
#[derive(Debug, Serialize)]
pub struct Paginated<T: Serialize> {
    pub data: Vec<T>,
    pub meta: PageMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    pub pagination: Pagination,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub total: u64,
    pub count: u64,
    pub per_page: u32,
    pub current_page: u32,
    pub total_pages: u64,
    pub links: PageLinks,
}

/// Absolute URLs of the neighbouring pages; empty (`{}`) when there are none.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct PageLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T: Serialize> Paginated<T> {
    pub fn new(req: &HttpRequest, data: Vec<T>, total: u64, per_page: u32, page: u32) -> Self {
        let count = data.len() as u64;
        // Laravel's paginator: at least one page, even when empty.
        let total_pages = total.div_ceil(u64::from(per_page)).max(1);
        let links = PageLinks {
            previous: (page > 1 && u64::from(page) <= total_pages + 1)
                .then(|| page_url(req, page - 1)),
            next: (u64::from(page) < total_pages).then(|| page_url(req, page + 1)),
        };
        Paginated {
            data,
            meta: PageMeta {
                pagination: Pagination {
                    total,
                    count,
                    per_page,
                    current_page: page,
                    total_pages,
                    links,
                },
            },
        }
    }
}

/// This request's URL with `page` replaced, on `PATRON_PUBLIC_URL`: request headers (`Host`,
/// `X-Forwarded-*`) are the client's to choose and must not steer where a link points.
fn page_url(req: &HttpRequest, page: u32) -> String {
    let base = req
        .app_data::<actix_web::web::Data<crate::http::AppState>>()
        .and_then(|state| state.config.public_url.as_ref())
        .map(|u| u.as_str().trim_end_matches('/'))
        .unwrap_or_default();
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &kept {
        query.append_pair(k, v);
    }
    query.append_pair("page", &page.to_string());
    format!("{base}{}?{}", req.path(), query.finish())
}
