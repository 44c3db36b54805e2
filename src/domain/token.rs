//! One-time tokens: 256 random bits, shown once in a link, stored only as a SHA-256 hash.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::random;

/// Lets secret scanners recognise a leaked token.
pub const PREFIX: &str = "ctk_";

/// What each token is for; a token works only for its own purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    VerifyEmail,
    PasswordReset,
    /// Confirms a new address a customer asked to move their account to.
    EmailChange,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::VerifyEmail => "verify_email",
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailChange => "email_change",
        }
    }
}

/// A token in the clear. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken(String);

impl PlainToken {
    pub fn generate() -> Self {
        PlainToken(format!(
            "{PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random::bytes::<32>())
        ))
    }

    /// Accepts what a client sent back. Anything not shaped like a token is refused without a
    /// database look-up, and cannot be stored or logged by accident.
    pub fn parse(raw: &str) -> Option<Self> {
        let body = raw.trim().strip_prefix(PREFIX)?;
        let ok = body.len() == 43
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| PlainToken(raw.trim().to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(***)")
    }
}

/// The stored form: lowercase hex SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(secret: &str) -> Self {
        TokenHash(
            Sha256::digest(secret.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tokens_are_unique_urlsafe_and_43_chars_after_prefix() {
        let tokens: HashSet<String> = (0..10_000)
            .map(|_| PlainToken::generate().expose().to_owned())
            .collect();
        assert_eq!(tokens.len(), 10_000);
        for t in &tokens {
            let body = t.strip_prefix(PREFIX).unwrap();
            assert_eq!(body.len(), 43);
            assert!(body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert!(PlainToken::parse(t).is_some());
        }
    }

    #[test]
    fn parse_refuses_other_shapes_and_debug_hides() {
        for bad in [
            "",
            "ctk_",
            "ctk_short",
            "1ae420a5-2f43-426f-8a61-516eabb56d33",
            "ctk_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(PlainToken::parse(bad).is_none(), "{bad}");
        }
        let t = PlainToken::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
        assert_eq!(t.hash().as_str().len(), 64);
        assert_ne!(t.hash().as_str(), t.expose());
    }
}
