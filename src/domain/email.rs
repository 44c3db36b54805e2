//! An email address as a customer typed it, plus the normalised form that makes it unique.

use std::fmt;

use super::validation::ValidationError;

const MAX_LEN: usize = 254;

#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    original: String,
    normalized: String,
}

impl Email {
    /// Trims surrounding white space and checks the address (RFC 5321 length, RFC 5322 syntax,
    /// a dotted domain). Case is kept as typed; uniqueness ignores it.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::field(
                "email_required",
                "email",
                "The email field is required.",
            ));
        }
        let invalid = || {
            ValidationError::field(
                "invalid_email",
                "email",
                "The email must be a valid email address.",
            )
        };
        if trimmed.len() > MAX_LEN || trimmed.chars().any(char::is_control) {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default()
                .with_required_tld()
                .without_domain_literal()
                .without_display_text(),
        )
        .map_err(|_| invalid())?;
        // Quoted local parts and address literals are legal but no shop mails them.
        if parsed.local_part().starts_with('"') || parsed.domain().starts_with('[') {
            return Err(invalid());
        }
        Ok(Email {
            original: trimmed.to_owned(),
            normalized: trimmed.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// For logs: `j***@example.com`.
    pub fn masked(&self) -> String {
        mask(&self.original)
    }
}

/// Masks the local part of anything that looks like an address.
/// How counters kept in the database (mail limits, the password lockout) name an address
/// without storing it: 128 bits of the SHA-256 of its normalised form, in hex.
pub fn digest(normalized: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(normalized.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn mask(raw: &str) -> String {
    match raw.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let e = Email::parse("  John.Doe+shop@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "John.Doe+shop@Example.COM");
        assert_eq!(e.normalized(), "john.doe+shop@example.com");
        assert_eq!(e.masked(), "J***@Example.COM");
        assert!(Email::parse("o'brien@example.ie").is_ok());
        assert!(Email::parse("émile@exämple.fr").is_ok());
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "plain",
            "a@b",
            "@example.com",
            "a@",
            "a b@example.com",
            "Name <a@example.com>",
            "a@exa\nmple.com",
            "\"q\"@example.com",
            "x@[127.0.0.1]",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Email::parse("   ").unwrap_err().code, "email_required");
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err().code, "invalid_email");
    }
}
