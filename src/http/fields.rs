//! Request fields several endpoints share, parsed the same way everywhere.

use super::auth::Caller;
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

/// A `base_url` on one of the origins the caller's store allows.
pub fn required_link(
    c: &mut Collector,
    raw: Option<&str>,
    state: &AppState,
    caller: &Caller,
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
        Some(raw) => c.take(LinkTemplate::parse(
            raw,
            caller.store().link_origins(&state.config),
        )),
    }
}

fn token_error() -> ValidationError {
    ValidationError::field(
        "invalid_token",
        "token",
        "The token is invalid or has expired.",
    )
}

/// The one answer for any token that cannot be used.
pub fn invalid_token() -> ApiError {
    token_error().into()
}

fn non_blank(raw: Option<String>) -> Result<String, ValidationError> {
    raw.filter(|t| !t.trim().is_empty()).ok_or_else(token_error)
}

/// A token field that is present and not blank, else the answer of [`invalid_token`].
pub fn required_token(raw: Option<String>) -> Result<String, ApiError> {
    Ok(non_blank(raw)?)
}

/// [`required_token`] for a request with other fields: the error joins the others.
pub fn token(c: &mut Collector, raw: Option<String>) -> Option<String> {
    c.take(non_blank(raw))
}
