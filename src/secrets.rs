//! Secrets kept in the database, encrypted with a key from the environment
//! (`PATRON_SECRETS_KEY`), so a copy of the database alone cannot forge tokens.
//!
//! A sealed value is `enc:v1:` + base64(nonce ‖ ciphertext ‖ tag), XChaCha20-Poly1305 with a
//! random 192-bit nonce (random nonces that long never collide in practice). The caller's
//! context (a signing key's `kid`) is the associated data, so a sealed value copied onto
//! another row does not open there.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::domain::random;

/// Marks a sealed value; the version leaves room for another scheme later.
pub const SEALED_PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;

/// The 32-byte key; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretsKey([u8; 32]);

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsKeyError {
    #[error("must be 32 random bytes in base64 (make one with `openssl rand -base64 32`)")]
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the value is encrypted but no key is configured")]
    KeyMissing,
    #[error("the key does not decrypt the value (another key, or the value was altered)")]
    WrongKey,
    #[error("the encrypted value is malformed")]
    Malformed,
}

impl SecretsKey {
    /// Standard or URL-safe base64, padded or not, of exactly 32 bytes.
    pub fn parse(raw: &str) -> Result<Self, SecretsKeyError> {
        let raw = raw.trim();
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(raw).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(SecretsKey)
            .ok_or(SecretsKeyError::Malformed)
    }

    #[cfg(test)]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretsKey(bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Encrypts `plain`, bound to `context`.
    pub fn seal(&self, context: &str, plain: &[u8]) -> String {
        let nonce = random::bytes::<NONCE_LEN>();
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            // Only inputs of gigabytes make XChaCha20-Poly1305 refuse.
            .expect("XChaCha20-Poly1305 encrypts a short value");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// Decrypts a value `seal` made with this key and the same `context`.
    pub fn open(&self, context: &str, stored: &str) -> Result<Vec<u8>, SealError> {
        let encoded = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealError::Malformed)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| SealError::Malformed)?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::WrongKey)
    }
}

/// Whether a stored value is sealed (in any version this code knows or not).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with("enc:")
}

/// Opens `stored` if it is sealed, else gives it back as it is (a value from before the key
/// was configured).
pub fn open_or_plain(
    key: Option<&SecretsKey>,
    context: &str,
    stored: &str,
) -> Result<Option<Vec<u8>>, SealError> {
    if !is_sealed(stored) {
        return Ok(None);
    }
    key.ok_or(SealError::KeyMissing)?
        .open(context, stored)
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_32_bytes_of_either_base64_alphabet() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 8 + 250) as u8);
        for encoded in [
            STANDARD.encode(bytes),
            STANDARD_NO_PAD.encode(bytes),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
        ] {
            assert_eq!(
                SecretsKey::parse(&encoded),
                Ok(SecretsKey(bytes)),
                "{encoded}"
            );
        }
        for bad in [
            "",
            "passphrase",
            &STANDARD.encode([1u8; 16]),
            &STANDARD.encode([1u8; 33]),
            "!!!!",
        ] {
            assert_eq!(
                SecretsKey::parse(bad),
                Err(SecretsKeyError::Malformed),
                "{bad}"
            );
        }
        let key = SecretsKey::parse(&STANDARD.encode(bytes)).unwrap();
        assert_eq!(format!("{key:?}"), "SecretsKey(***)");
    }

    #[test]
    fn sealed_values_open_only_with_the_key_and_context() {
        let key = SecretsKey([7; 32]);
        let sealed = key.seal("kid_a", b"seed bytes");
        assert!(sealed.starts_with(SEALED_PREFIX), "{sealed}");
        assert_ne!(
            sealed,
            key.seal("kid_a", b"seed bytes"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open("kid_a", &sealed).unwrap(), b"seed bytes");
        assert_eq!(key.open("kid_b", &sealed), Err(SealError::WrongKey));
        assert_eq!(
            SecretsKey([8; 32]).open("kid_a", &sealed),
            Err(SealError::WrongKey)
        );
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(key.open("kid_a", &altered), Err(SealError::WrongKey));
        assert_eq!(key.open("kid_a", "enc:v1:%%"), Err(SealError::Malformed));
        assert_eq!(key.open("kid_a", "enc:v1:AAAA"), Err(SealError::Malformed));
    }

    #[test]
    fn plain_values_pass_and_sealed_ones_need_the_key() {
        let key = SecretsKey([7; 32]);
        assert_eq!(open_or_plain(None, "k", "cGxhaW4="), Ok(None));
        assert_eq!(open_or_plain(Some(&key), "k", "cGxhaW4="), Ok(None));
        let sealed = key.seal("k", b"x");
        assert_eq!(
            open_or_plain(None, "k", &sealed),
            Err(SealError::KeyMissing)
        );
        assert_eq!(
            open_or_plain(Some(&key), "k", &sealed),
            Ok(Some(b"x".to_vec()))
        );
    }
}
