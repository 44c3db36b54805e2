//! Randomness for ids, keys and tokens: always the operating system's generator.

use rand::TryRng;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `N` bytes from the OS CSPRNG. Without it nothing secure can be issued, so failure aborts.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut buf)
        .expect("the operating system's random generator failed");
    buf
}

/// `len` characters of `[A-Za-z0-9]`, unbiased (rejection sampling over bytes).
pub fn alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in bytes::<64>() {
            // 248 = 4 * 62: bytes at or above it would favour the first letters.
            if b < 248 {
                out.push(ALPHANUMERIC[usize::from(b % 62)] as char);
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn alphanumeric_has_length_charset_and_no_repeats() {
        let seen: HashSet<String> = (0..5000).map(|_| alphanumeric(14)).collect();
        assert_eq!(seen.len(), 5000);
        assert!(seen
            .iter()
            .all(|s| s.len() == 14 && s.bytes().all(|b| b.is_ascii_alphanumeric())));
    }
}
