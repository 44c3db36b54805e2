//! Field-level validation errors, shaped like Chec's (Laravel's) `errors` map.

use std::collections::BTreeMap;

/// Field name → messages, in field order so error bodies are stable.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Invalid input: a stable machine code plus the messages for each field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid data ({code})")]
pub struct ValidationError {
    pub code: &'static str,
    pub errors: FieldErrors,
}

impl ValidationError {
    pub fn field(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        ValidationError { code, errors }
    }
}

/// Collects every problem of a request before answering, so a client sees them all at once.
#[derive(Debug, Default)]
pub struct Collector {
    first_code: Option<&'static str>,
    errors: FieldErrors,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, code: &'static str, field: &str, message: impl Into<String>) {
        self.first_code.get_or_insert(code);
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Records the error of a fallible parse and gives back its value, if any.
    pub fn take<T>(&mut self, result: Result<T, ValidationError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.first_code.get_or_insert(e.code);
                for (field, messages) in e.errors {
                    self.errors.entry(field).or_default().extend(messages);
                }
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ValidationError> {
        match self.first_code {
            None => Ok(()),
            Some(code) => Err(ValidationError {
                code,
                errors: self.errors,
            }),
        }
    }
}

/// A free-text field: at most `max` characters, no NUL (PostgreSQL cannot store it).
pub fn text(field: &str, value: String, max: usize) -> Result<String, ValidationError> {
    if value.contains('\0') {
        return Err(ValidationError::field(
            "invalid_characters",
            field,
            format!("The {field} may not contain NUL characters."),
        ));
    }
    if value.chars().count() > max {
        return Err(ValidationError::field(
            "too_long",
            field,
            format!("The {field} may not be greater than {max} characters."),
        ));
    }
    Ok(value)
}
