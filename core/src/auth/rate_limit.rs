//! In-memory request counters: per API key per minute and per day (fixed windows), and failed
//! logins per client address with a lockout. Per instance; they reset on restart.

use std::collections::HashMap;
use std::sync::Mutex;

const MINUTE_MS: u64 = 60_000;
use crate::usage::period::DAY_MS;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, Default, Clone, Copy)]
struct Windows {
    minute_start: u64,
    minute_count: u32,
    day_start: u64,
    day_count: u32,
}

/// Requests per key per minute and per day.
#[derive(Debug, Default)]
pub struct KeyRateLimiter {
    windows: Mutex<HashMap<String, Windows>>,
}

impl KeyRateLimiter {
    /// Counts one request of `key_id` if both limits allow it; otherwise the seconds until the
    /// window that refused it resets.
    pub fn admit(&self, key_id: &str, per_minute: Option<u32>, per_day: Option<u32>, now_ms: u64) -> Result<(), u64> {
        if per_minute.is_none() && per_day.is_none() {
            return Ok(());
        }
        let mut map = lock(&self.windows);
        let w = map.entry(key_id.to_owned()).or_default();
        let minute_start = now_ms - now_ms % MINUTE_MS;
        let day_start = now_ms - now_ms % DAY_MS;
        if w.minute_start != minute_start {
            (w.minute_start, w.minute_count) = (minute_start, 0);
        }
        if w.day_start != day_start {
            (w.day_start, w.day_count) = (day_start, 0);
        }
        let wait = |start: u64, len: u64| (start + len).saturating_sub(now_ms).div_ceil(1000).max(1);
        if per_day.is_some_and(|limit| w.day_count >= limit) {
            return Err(wait(day_start, DAY_MS));
        }
        if per_minute.is_some_and(|limit| w.minute_count >= limit) {
            return Err(wait(minute_start, MINUTE_MS));
        }
        w.minute_count += 1;
        w.day_count += 1;
        Ok(())
    }
}

/// Failed logins allowed within the window before the address is locked out.
pub const LOGIN_MAX_FAILURES: u32 = 5;
const LOGIN_WINDOW_MS: u64 = 15 * MINUTE_MS;
const LOGIN_LOCKOUT_MS: u64 = 15 * MINUTE_MS;

#[derive(Debug, Default, Clone, Copy)]
struct Failures {
    first_ms: u64,
    count: u32,
    /// Attempts begun and not yet judged: a password check takes milliseconds, and attempts
    /// sent at once must not all pass the count before any of them fails.
    in_flight: u32,
    locked_until_ms: u64,
}

/// Failed login attempts by client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    by_addr: Mutex<HashMap<String, Failures>>,
}

impl LoginLimiter {
    /// Begins an attempt from `addr`, or says in how many seconds it may try again: when it is
    /// locked out, or when the attempts already under way would use up what it has left.
    /// Every begun attempt ends in [`LoginLimiter::failed`] or [`LoginLimiter::succeeded`].
    pub fn begin(&self, addr: &str, now_ms: u64) -> Result<(), u64> {
        let mut map = lock(&self.by_addr);
        // Bounded: forget stale addresses when the map grows (an attacker rotating addresses).
        if map.len() > 10_000 {
            map.retain(|_, f| f.in_flight > 0 || f.locked_until_ms > now_ms || now_ms - f.first_ms < LOGIN_WINDOW_MS);
        }
        let f = map.entry(addr.to_owned()).or_default();
        if f.locked_until_ms > now_ms {
            return Err((f.locked_until_ms - now_ms).div_ceil(1000));
        }
        if now_ms.saturating_sub(f.first_ms) > LOGIN_WINDOW_MS {
            *f = Failures { first_ms: now_ms, count: 0, in_flight: f.in_flight, locked_until_ms: 0 };
        }
        if f.count + f.in_flight >= LOGIN_MAX_FAILURES {
            return Err(1);
        }
        f.in_flight += 1;
        Ok(())
    }

    /// Ends an attempt as a failure; the lockout starts at the `LOGIN_MAX_FAILURES`th within
    /// the window.
    pub fn failed(&self, addr: &str, now_ms: u64) {
        let mut map = lock(&self.by_addr);
        let f = map.entry(addr.to_owned()).or_default();
        f.in_flight = f.in_flight.saturating_sub(1);
        f.count += 1;
        if f.count >= LOGIN_MAX_FAILURES {
            f.locked_until_ms = now_ms + LOGIN_LOCKOUT_MS;
            f.count = 0;
            f.first_ms = now_ms;
        }
    }

    /// Ends an attempt as a success: the address starts afresh.
    pub fn succeeded(&self, addr: &str) {
        let mut map = lock(&self.by_addr);
        if let Some(f) = map.get_mut(addr) {
            f.in_flight = f.in_flight.saturating_sub(1);
            f.count = 0;
            if f.in_flight == 0 {
                map.remove(addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_minute_and_per_day_windows() {
        let limiter = KeyRateLimiter::default();
        let t0 = 10 * DAY_MS + 5_000;
        assert!(limiter.admit("k", Some(2), Some(3), t0).is_ok());
        assert!(limiter.admit("k", Some(2), Some(3), t0 + 1).is_ok());
        assert_eq!(limiter.admit("k", Some(2), Some(3), t0 + 2), Err(55));
        assert!(limiter.admit("other", Some(2), Some(3), t0).is_ok(), "keys count apart");
        assert!(limiter.admit("k", Some(2), Some(3), t0 + MINUTE_MS).is_ok(), "a new minute");
        let refused = limiter.admit("k", Some(2), Some(3), t0 + 2 * MINUTE_MS);
        assert!(matches!(refused, Err(secs) if secs > 80_000), "the day's 3 are used: {refused:?}");
        assert!(limiter.admit("k", Some(2), Some(3), t0 + DAY_MS).is_ok(), "a new day");
        assert!(limiter.admit("free", None, None, t0).is_ok());
    }

    #[test]
    fn logins_lock_out_after_repeated_failures() {
        let limiter = LoginLimiter::default();
        for n in 0..LOGIN_MAX_FAILURES {
            assert_eq!(limiter.begin("1.2.3.4", n as u64), Ok(()));
            limiter.failed("1.2.3.4", n as u64);
        }
        assert_eq!(limiter.begin("1.2.3.4", 10), Err(900));
        assert_eq!(limiter.begin("5.6.7.8", 10), Ok(()));
        assert_eq!(limiter.begin("1.2.3.4", LOGIN_LOCKOUT_MS + 10), Ok(()));
        limiter.begin("9.9.9.9", 0).unwrap();
        limiter.failed("9.9.9.9", 0);
        limiter.begin("9.9.9.9", 0).unwrap();
        limiter.succeeded("9.9.9.9");
        for n in 0..LOGIN_MAX_FAILURES - 1 {
            limiter.begin("9.9.9.9", n as u64).unwrap();
            limiter.failed("9.9.9.9", n as u64);
        }
        assert_eq!(limiter.begin("9.9.9.9", 10), Ok(()), "a success resets the count");
    }

    #[test]
    fn attempts_under_way_count_before_they_fail() {
        let limiter = LoginLimiter::default();
        for _ in 0..LOGIN_MAX_FAILURES {
            assert_eq!(limiter.begin("1.2.3.4", 0), Ok(()));
        }
        assert_eq!(limiter.begin("1.2.3.4", 0), Err(1), "a sixth attempt at once is not checked");
        limiter.succeeded("1.2.3.4");
        assert_eq!(limiter.begin("1.2.3.4", 0), Ok(()), "a judged attempt frees its place");
    }
}
