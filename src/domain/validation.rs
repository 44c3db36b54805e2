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

/// Characters a free-text field may not hold, as ranges. Names and the like end up in mails
/// and on screens: a line break lets a value add lines of its own (a phishing URL under the
/// greeting), and the bidi overrides and isolates make text read differently from what it is.
/// NUL also cannot be stored by PostgreSQL. The OpenAPI document's pattern for such fields is
/// made from the same list ([`text_pattern`]).
pub const FORBIDDEN_IN_TEXT: &[(char, char)] = &[
    ('\u{0}', '\u{1F}'),
    ('\u{7F}', '\u{9F}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2066}', '\u{2069}'),
];

fn forbidden_in_text(c: char) -> bool {
    FORBIDDEN_IN_TEXT
        .iter()
        .any(|(from, to)| (*from..=*to).contains(&c))
}

/// The class of [`FORBIDDEN_IN_TEXT`] for an ECMA-262 regular expression: `\u0000-\u001F...`.
fn forbidden_class() -> String {
    FORBIDDEN_IN_TEXT
        .iter()
        .map(|(from, to)| format!("\\u{:04X}-\\u{:04X}", u32::from(*from), u32::from(*to)))
        .collect()
}

/// The JSON Schema `pattern` of a free-text field: no forbidden character anywhere.
pub fn text_pattern() -> String {
    format!("^[^{}]*$", forbidden_class())
}

/// [`text_pattern`] for a field that may not be blank either: at least one character that is
/// neither forbidden nor white space.
pub fn non_blank_text_pattern() -> String {
    let f = forbidden_class();
    format!("^[^{f}]*[^{f}\\s][^{f}]*$")
}

/// A free-text field that may be left out; blank counts as left out.
pub fn opt_text(c: &mut Collector, field: &str, v: Option<String>, max: usize) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
        .and_then(|s| c.take(text(field, s, max)))
}

/// A free-text field: at most `max` characters, none of them a control character.
pub fn text(field: &str, value: String, max: usize) -> Result<String, ValidationError> {
    if value.chars().any(forbidden_in_text) {
        return Err(ValidationError::field(
            "invalid_characters",
            field,
            format!("The {field} may not contain control characters or line breaks."),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forbidden_ranges_are_the_control_and_layout_characters() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let expected = c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
                );
            assert_eq!(forbidden_in_text(c), expected, "{:04X}", u32::from(c));
        }
        assert_eq!(
            text_pattern(),
            r"^[^\u0000-\u001F\u007F-\u009F\u2028-\u2029\u202A-\u202E\u2066-\u2069]*$"
        );
    }

    #[test]
    fn control_and_layout_characters_are_refused() {
        for bad in [
            "nul\0byte",
            "Ann\nVisit https://evil.example",
            "Ann\r\nX",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}next-line",
            "c1\u{9b}csi",
            "line\u{2028}separator",
            "para\u{2029}separator",
            "\u{202A}lre",
            "\u{202E}rlo",
            "\u{2066}lri",
            "\u{2069}pdi",
        ] {
            let err = text("firstname", bad.into(), 255).expect_err(bad);
            assert_eq!(err.code, "invalid_characters", "{bad:?}");
            assert!(err.errors.contains_key("firstname"), "{bad:?}");
        }
    }

    #[test]
    fn ordinary_text_in_any_script_passes() {
        for good in [
            "Ann-Marie O'Neill",
            "emoji 🦀 ñ ü 漢字",
            "עברית والعربية",
            "\u{200F}rlm mark",
            "a\u{a0}b",
        ] {
            assert_eq!(text("firstname", good.into(), 255).as_deref(), Ok(good));
        }
        assert_eq!(
            text("firstname", "x".repeat(256), 255).unwrap_err().code,
            "too_long"
        );
    }
}
