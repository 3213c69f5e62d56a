//! `SystemClock`: the Clock port on tokio and the OS clocks.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::Clock;

/// Wall time from the OS, monotonic time from `Instant`, sleeping on tokio's timer.
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    #[allow(clippy::disallowed_methods)] // the native Clock is where real time is read
    pub fn new() -> Self {
        SystemClock { origin: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now_unix_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }

    fn monotonic_us(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        boxed(tokio::time::sleep(duration))
    }
}
