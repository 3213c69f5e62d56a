//! `WorkerClock`: wall time from `Date.now()`, a never-decreasing monotonic reading derived from
//! it, and sleeps on `setTimeout` through `worker::Delay` (`Instant::now` panics on wasm32).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::Clock;

/// `setTimeout` takes an i32 of milliseconds; longer sleeps are clamped (about 24.8 days).
const MAX_SLEEP: Duration = Duration::from_millis(i32::MAX as u64);

/// Time as the Workers runtime reports it.
///
/// Workers freeze both `Date.now()` and `performance.now()` while code runs and advance them
/// only across I/O (a Spectre mitigation), so `performance.now()` would buy no precision here;
/// the monotonic reading is `Date.now()` clamped so it never goes backwards.
#[derive(Debug, Default)]
pub struct WorkerClock {
    last_us: AtomicU64,
}

impl Clock for WorkerClock {
    fn now_unix_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn monotonic_us(&self) -> u64 {
        let now = (js_sys::Date::now() * 1000.0) as u64;
        self.last_us.fetch_max(now, Ordering::Relaxed).max(now)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        boxed(worker::Delay::from(duration.min(MAX_SLEEP)))
    }
}
