//! Keys lately found unknown, so that a client repeating a bad key (a storefront left with a
//! revoked key, a flood) costs one database query per `UNKNOWN_TTL`, not one per request.
//!
//! Only "unknown" is remembered. A live key is looked up on every request, so a key revoked by
//! any process (the CLI, another replica) is refused from its next request on. A key is
//! hidden by an entry here only if its exact value was presented before it was stored, which
//! for a generated key means guessed; a key stored by other means (a restored backup) works
//! within `UNKNOWN_TTL`.
//!
//! Requests never wait for each other: when an entry expires, one request asks the database
//! again while the others are still answered "unknown" from it, so a flood of one bad key does
//! not turn into a burst of queries each time its entry expires.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a key found unknown is refused without asking the database again.
pub const UNKNOWN_TTL: Duration = Duration::from_secs(2);

/// At most this many keys are remembered (about 1 MB); past it the oldest are forgotten
/// first, so random keys cannot grow the memory.
pub const CAPACITY: usize = 10_000;

pub type Digest = [u8; 32];

/// What the database said of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Unknown,
    /// Live, or the question failed: nothing to remember either way.
    NotUnknown,
}

#[derive(Clone)]
pub struct UnknownKeys {
    state: Arc<Mutex<State>>,
    ttl: Duration,
    capacity: usize,
}

#[derive(Default)]
struct State {
    entries: HashMap<Digest, Entry>,
    /// Digests in the order remembered, which is the order they expire in (one TTL for all).
    /// A record whose `until` no longer matches its entry is left over from a renewal.
    order: VecDeque<(Digest, Instant)>,
}

struct Entry {
    until: Instant,
    /// A request is asking the database again; the others keep the answer meanwhile.
    refreshing: bool,
}

/// What to do with a presented key.
pub enum Check {
    /// Refuse it: found unknown lately.
    Unknown,
    /// Ask the database, then tell the answer to `Lookup::finish`.
    Ask(Lookup),
}

/// One question to the database about a key. Dropped without an answer (the request was
/// cancelled), it forgets the entry it was refreshing, so no stale entry outlives it.
pub struct Lookup {
    keys: UnknownKeys,
    digest: Digest,
    refreshing: bool,
}

impl UnknownKeys {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        UnknownKeys {
            state: Arc::default(),
            ttl,
            capacity,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn check(&self, digest: Digest, now: Instant) -> Check {
        let mut state = self.state();
        let refreshing = match state.entries.get_mut(&digest) {
            None => false,
            Some(entry) if now < entry.until || entry.refreshing => return Check::Unknown,
            Some(entry) => {
                entry.refreshing = true;
                true
            }
        };
        Check::Ask(Lookup {
            keys: self.clone(),
            digest,
            refreshing,
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().entries.len()
    }

    fn remember(&self, digest: Digest, now: Instant) {
        let until = now + self.ttl;
        let mut state = self.state();
        let State { entries, order } = &mut *state;
        // Expired entries first, then the oldest, until there is room. Every entry has its
        // record in `order`, so bounding `order` bounds both. An entry being refreshed may go
        // too: its `Lookup` remembers it again if it is still unknown.
        while let Some(&(old, old_until)) = order.front() {
            if old_until > now && order.len() < self.capacity {
                break;
            }
            order.pop_front();
            if entries.get(&old).is_some_and(|e| e.until == old_until) {
                entries.remove(&old);
            }
        }
        entries.insert(
            digest,
            Entry {
                until,
                refreshing: false,
            },
        );
        order.push_back((digest, until));
    }

    fn forget(&self, digest: &Digest) {
        self.state().entries.remove(digest);
    }
}

impl Lookup {
    pub fn finish(mut self, answer: Answer, now: Instant) {
        self.refreshing = false;
        match answer {
            Answer::Unknown => self.keys.remember(self.digest, now),
            Answer::NotUnknown => self.keys.forget(&self.digest),
        }
    }
}

impl Drop for Lookup {
    fn drop(&mut self) {
        if self.refreshing {
            self.keys.forget(&self.digest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(2);

    fn key(n: u32) -> Digest {
        let mut d = [0u8; 32];
        d[..4].copy_from_slice(&n.to_be_bytes());
        d
    }

    fn ask(keys: &UnknownKeys, digest: Digest, now: Instant) -> Lookup {
        match keys.check(digest, now) {
            Check::Ask(lookup) => lookup,
            Check::Unknown => panic!("refused from memory, not asked"),
        }
    }

    fn refused(keys: &UnknownKeys, digest: Digest, now: Instant) -> bool {
        matches!(keys.check(digest, now), Check::Unknown)
    }

    #[test]
    fn an_unknown_key_is_refused_from_memory_until_its_ttl_ends() {
        let keys = UnknownKeys::new(TTL, 10);
        let t0 = Instant::now();
        ask(&keys, key(1), t0).finish(Answer::Unknown, t0);
        assert!(refused(&keys, key(1), t0 + TTL - Duration::from_millis(1)));
        assert!(!refused(&keys, key(2), t0), "another key is asked");
        ask(&keys, key(1), t0 + TTL).finish(Answer::Unknown, t0 + TTL);
        assert!(refused(&keys, key(1), t0 + TTL + TTL / 2), "renewed");
    }

    #[test]
    fn a_live_or_failed_answer_is_not_remembered() {
        let keys = UnknownKeys::new(TTL, 10);
        let t0 = Instant::now();
        ask(&keys, key(1), t0).finish(Answer::NotUnknown, t0);
        assert!(!refused(&keys, key(1), t0));
        // An expired entry whose key is now live is forgotten at once.
        ask(&keys, key(2), t0).finish(Answer::Unknown, t0);
        ask(&keys, key(2), t0 + TTL).finish(Answer::NotUnknown, t0 + TTL);
        assert!(!refused(&keys, key(2), t0 + TTL));
        assert_eq!(keys.len(), 0);
    }

    #[test]
    fn one_request_refreshes_an_expired_entry_while_the_others_are_refused() {
        let keys = UnknownKeys::new(TTL, 10);
        let t0 = Instant::now();
        ask(&keys, key(1), t0).finish(Answer::Unknown, t0);
        let later = t0 + TTL;
        let refresh = ask(&keys, key(1), later);
        assert!(
            refused(&keys, key(1), later),
            "no second question meanwhile"
        );
        refresh.finish(Answer::Unknown, later);
        assert!(refused(&keys, key(1), later + TTL / 2));

        // A refresh that never answers (its request cancelled) leaves nothing behind.
        let abandoned = ask(&keys, key(1), later + TTL);
        drop(abandoned);
        assert!(!refused(&keys, key(1), later + TTL));
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_keys_go_first() {
        let keys = UnknownKeys::new(TTL, 3);
        let t0 = Instant::now();
        for n in 0..10u32 {
            let at = t0 + Duration::from_millis(u64::from(n));
            ask(&keys, key(n), at).finish(Answer::Unknown, at);
            assert!(keys.len() <= 3, "{} remembered", keys.len());
        }
        let at = t0 + Duration::from_millis(10);
        assert!(refused(&keys, key(9), at) && refused(&keys, key(7), at));
        assert!(!refused(&keys, key(6), at), "the oldest went first");
        // Expired entries make room before live ones are evicted.
        let keys = UnknownKeys::new(TTL, 3);
        ask(&keys, key(1), t0).finish(Answer::Unknown, t0);
        let mid = t0 + TTL / 2;
        ask(&keys, key(2), mid).finish(Answer::Unknown, mid);
        let late = t0 + TTL;
        ask(&keys, key(3), late).finish(Answer::Unknown, late);
        assert_eq!(keys.len(), 2, "the expired key 1 was dropped");
        assert!(refused(&keys, key(2), late));
    }
}
