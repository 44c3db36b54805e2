//! Request fields several endpoints share, parsed the same way everywhere.

use super::error::ApiError;
use super::AppState;
use crate::domain::link::LinkTemplate;
use crate::domain::validation::Collector;
use crate::domain::{Email, ValidationError};

pub fn required_email(c: &mut Collector, raw: Option<&str>) -> Option<Email> {
    match raw {
        None => {
            c.add("email_required", "email", "The email field is required.");
            None
        }
        Some(raw) => c.take(Email::parse(raw)),
    }
}

/// A `base_url` on one of the allowed origins.
pub fn required_link(
    c: &mut Collector,
    raw: Option<&str>,
    state: &AppState,
) -> Option<LinkTemplate> {
    match raw {
        None => {
            c.add(
                "invalid_base_url",
                "base_url",
                "The base url field is required.",
            );
            None
        }
        Some(raw) => c.take(LinkTemplate::parse(raw, &state.config.link_origins)),
    }
}

/// The one answer for any token that cannot be used.
pub fn invalid_token() -> ApiError {
    ValidationError::field(
        "invalid_token",
        "token",
        "The token is invalid or has expired.",
    )
    .into()
}
