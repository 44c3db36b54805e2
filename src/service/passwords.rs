//! Password hashing: Argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1), on the blocking
//! thread pool so hashing never stalls the async workers.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::domain::password::Password;
use crate::domain::random;

pub const M_COST: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, P_COST, None)
        .unwrap_or_else(|e| unreachable!("OWASP parameters are valid: {e}"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String, String> {
    argon2()
        .hash_password_with_salt(password.as_bytes(), &random::bytes::<16>())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// What checking a password found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash uses other parameters: store a fresh one.
    pub needs_rehash: bool,
}

fn verify_now(password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified {
            ok: false,
            needs_rehash: false,
        };
    };
    // Verification uses the parameters inside the stored hash.
    let ok = argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = Params::try_from(&parsed)
        .is_ok_and(|p| p.m_cost() == M_COST && p.t_cost() == T_COST && p.p_cost() == P_COST)
        && parsed.algorithm.as_str() == "argon2id";
    Verified {
        ok,
        needs_rehash: ok && !current,
    }
}

/// A valid hash of a password nobody has, so an unknown email costs the same as a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_now(&crate::domain::random::alphanumeric(32))
            .unwrap_or_else(|e| unreachable!("hashing a fixed-size string works: {e}"))
    })
}

pub async fn hash(password: Password) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_now(password.expose()))
        .await
        .map_err(|e| e.to_string())?
}

/// Checks `password` against `stored`, or against a dummy hash when there is none.
pub async fn verify(password: Password, stored: Option<String>) -> Verified {
    tokio::task::spawn_blocking(move || {
        let against = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let v = verify_now(password.expose(), against);
        Verified {
            ok: v.ok && stored.is_some(),
            needs_rehash: v.needs_rehash && stored.is_some(),
        }
    })
    .await
    .unwrap_or(Verified {
        ok: false,
        needs_rehash: false,
    })
}

/// Computes the dummy hash now, so the first unknown-email login is not faster than the rest.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_at_owasp_parameters_and_verify() {
        let h = hash_now("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            verify_now("correct horse battery", &h),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(!verify_now("wrong horse", &h).ok);
        assert!(!verify_now("x", "not a hash").ok);
    }

    #[test]
    fn weaker_hashes_verify_and_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password_with_salt(b"old password", &[7u8; 16])
        .unwrap()
        .to_string();
        assert_eq!(
            verify_now("old password", &weak),
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        assert_eq!(
            verify_now("wrong", &weak),
            Verified {
                ok: false,
                needs_rehash: false
            }
        );
    }
}
