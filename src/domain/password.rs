//! A password as a customer chose it: 8 to 128 characters, never shown or logged.

use std::fmt;

use super::validation::ValidationError;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks the policy for a new password; `field` names it in the error
    /// (`password`, `confirm_password`...).
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if len < MIN_LEN {
            return Err(ValidationError::field(
                "password_too_short",
                field,
                format!("The {field} must be at least {MIN_LEN} characters."),
            ));
        }
        if len > MAX_LEN {
            return Err(ValidationError::field(
                "password_too_long",
                field,
                format!("The {field} may not be greater than {MAX_LEN} characters."),
            ));
        }
        Ok(Password(raw.to_owned()))
    }

    /// A password offered at login: no policy (an old one may predate it), only a size cap so
    /// hashing cost stays bounded.
    pub fn candidate(raw: &str) -> Self {
        Password(raw.chars().take(MAX_LEN * 4).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_is_8_to_128_characters_unicode_counted() {
        assert_eq!(
            Password::parse("password", "1234567").unwrap_err().code,
            "password_too_short"
        );
        assert!(Password::parse("password", "12345678").is_ok());
        assert!(Password::parse("password", &"é".repeat(128)).is_ok());
        assert_eq!(
            Password::parse("password", &"a".repeat(129))
                .unwrap_err()
                .code,
            "password_too_long"
        );
        assert!(Password::parse("password", "пароль🔑🔑").is_ok());
        let p = Password::parse("password", "hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
