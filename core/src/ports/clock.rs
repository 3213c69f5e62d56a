//! The `Clock` port: wall time, monotonic time and sleeping (for timeouts).
//! `Instant::now`/`SystemTime::now` panic on wasm32, so the core never calls them.

use std::time::Duration;

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// Time as the runtime knows it.
pub trait Clock: MaybeSend + MaybeSync {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> u64;
    /// Microseconds from an arbitrary fixed origin; never goes backwards.
    fn monotonic_us(&self) -> u64;
    /// Completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}
