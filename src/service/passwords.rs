//! Password hashing: Argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1), on the blocking
//! thread pool so hashing never stalls the async workers.
//!
//! Each hash holds 19 MiB while it runs, so how many run at once is bounded (one per core:
//! more would only queue for the CPU while holding their memory). A request that cannot get a
//! turn within a short wait is refused with [`HashError::Busy`] (503 with `Retry-After`)
//! instead of piling up memory: peak memory stays flat whatever arrives.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

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

/// How long a request waits for a turn at the hasher before it is refused.
pub const HASH_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("every password hasher is busy")]
    Busy,
    #[error("hashing failed: {0}")]
    Failed(String),
}

/// One turn per core.
fn turns() -> &'static Semaphore {
    static TURNS: OnceLock<Semaphore> = OnceLock::new();
    TURNS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
    })
}

/// Runs `work` on the blocking pool once a turn is free. The turn goes with the work, so it
/// is given back when the hash ends even if the request was abandoned meanwhile.
async fn in_turn<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let turn = tokio::time::timeout(HASH_WAIT, turns().acquire())
        .await
        .map_err(|_| HashError::Busy)?
        .map_err(|_| HashError::Busy)?;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await
    .map_err(|e| HashError::Failed(e.to_string()))
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

pub async fn hash(password: Password) -> Result<String, HashError> {
    in_turn(move || hash_now(password.expose()))
        .await?
        .map_err(HashError::Failed)
}

/// Checks `password` against `stored`, or against a dummy hash when there is none.
pub async fn verify(password: Password, stored: Option<String>) -> Result<Verified, HashError> {
    in_turn(move || {
        let against = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let v = verify_now(password.expose(), against);
        Verified {
            ok: v.ok && stored.is_some(),
            needs_rehash: v.needs_rehash && stored.is_some(),
        }
    })
    .await
}

/// Computes the dummy hash now, so the first unknown-email login is not faster than the rest.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_beyond_the_turns_wait_then_are_refused() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        // Hold every turn, as that many slow hashes would.
        let held: Vec<_> = (0..cores)
            .map(|_| turns().try_acquire().expect("a free turn"))
            .collect();
        let started = std::time::Instant::now();
        let refused = verify(Password::candidate("whatever"), None).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        assert!(started.elapsed() >= HASH_WAIT, "it waited for a turn first");
        drop(held);
        let v = verify(Password::candidate("whatever"), None).await.unwrap();
        assert!(!v.ok, "the dummy hash matches nothing");
    }

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
