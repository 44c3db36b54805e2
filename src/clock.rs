//! The time patron decides with: token, session and key expiry, lockouts, rate-limit windows,
//! mail scheduling and cache ages. Everything reads it from one [`Clock`] handed to the
//! services, so a test can move time forward ([`TestClock::advance`]) instead of sleeping
//! through an expiry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, SubsecRound, TimeDelta, Utc};

/// A cheap handle on the time: the system's, or a test's.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// How far ahead of the system's time a test moved this clock, in nanoseconds; `None`
    /// for the system clock, which nothing can move.
    ahead: Option<Arc<AtomicU64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in UTC, truncated to microseconds (PostgreSQL's precision) so that a value read
    /// back equals the value written on both backends.
    pub fn now(&self) -> NaiveDateTime {
        let now = Utc::now().naive_utc();
        let ahead = TimeDelta::from_std(self.ahead()).unwrap_or(TimeDelta::zero());
        now.checked_add_signed(ahead)
            .unwrap_or(now)
            .trunc_subsecs(6)
    }

    /// A monotonic reading, for the age of what a process caches: moved by a test like
    /// [`Clock::now`], but unlike it never stepped back by the system's time being set.
    pub fn instant(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.ahead()).unwrap_or(now)
    }

    fn ahead(&self) -> Duration {
        let nanos = self.ahead.as_ref().map_or(0, |a| a.load(Ordering::Relaxed));
        Duration::from_nanos(nanos)
    }
}

/// A clock for tests: the system's time, plus however far [`TestClock::advance`] moved it.
/// It only moves forward, as time does, so that nothing stored by the server lies in the
/// future of a later reading.
#[derive(Clone, Debug, Default)]
pub struct TestClock {
    ahead: Arc<AtomicU64>,
}

impl TestClock {
    pub fn new() -> TestClock {
        TestClock::default()
    }

    /// Moves this clock, and every [`Clock`] made from it, forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.ahead.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The handle to give the server.
    pub fn clock(&self) -> Clock {
        Clock {
            ahead: Some(self.ahead.clone()),
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        self.clock().now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_wall_and_monotonic_time_alike() {
        let test = TestClock::new();
        let clock = test.clock();
        let (wall, mono) = (clock.now(), clock.instant());
        test.advance(Duration::from_secs(3600));
        let wall_gain = clock.now() - wall;
        let mono_gain = clock.instant() - mono;
        assert!(wall_gain >= TimeDelta::hours(1), "{wall_gain:?}");
        assert!(wall_gain < TimeDelta::hours(1) + TimeDelta::seconds(5));
        assert!(mono_gain >= Duration::from_secs(3600), "{mono_gain:?}");
        assert!(mono_gain < Duration::from_secs(3605));
        // A clone is the same clock, not a copy of its reading.
        let copy = clock.clone();
        test.advance(Duration::from_secs(60));
        assert!(copy.now() - wall >= TimeDelta::minutes(61));
    }

    #[test]
    fn the_system_clock_is_the_systems_time_in_microseconds() {
        let before = Utc::now().naive_utc().trunc_subsecs(6);
        let now = Clock::system().now();
        let after = Utc::now().naive_utc();
        assert!(before <= now && now <= after, "{before} {now} {after}");
        assert_eq!(now.and_utc().timestamp_subsec_nanos() % 1000, 0);
    }
}
