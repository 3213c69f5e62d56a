//! Catching up with other instances on a shared database, for runtimes that have no background
//! loop (a Lambda sandbox is frozen between invocations, a Worker isolate only runs while it
//! serves): before a request, when the last look is older than [`CATCH_UP_EVERY_MS`], read the
//! config version (reloading on a change) and exchange cooldowns; every [`SPEND_EVERY_MS`]
//! re-read per-key spend. At most one small query a second on the request path, and a change
//! made elsewhere applies from the first request at least a second after the last look, however
//! long the instance slept (docs/consistency.md). The server does the same from its own loop.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Gateway;

/// How often the config version is read and cooldowns exchanged.
pub const CATCH_UP_EVERY_MS: u64 = 1_000;
/// How often per-key spend is re-read from the usage rows.
pub const SPEND_EVERY_MS: u64 = 5_000;

/// When this instance last looked, in the clock's monotonic milliseconds.
#[derive(Debug, Default)]
pub struct CatchUp {
    config_ms: AtomicU64,
    spend_ms: AtomicU64,
}

impl CatchUp {
    /// Claims the turn for a look due at `now_ms` (`every` after the last): only one request
    /// among those arriving together does it; the others serve from the snapshot at once.
    fn claim(last: &AtomicU64, now_ms: u64, every: u64) -> bool {
        let seen = last.load(Ordering::Acquire);
        now_ms.saturating_sub(seen) >= every
            && last.compare_exchange(seen, now_ms, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

impl Gateway {
    /// Whether other instances may write the store too (a remote database), so this one must
    /// poll for their changes.
    pub fn store_is_shared(&self) -> bool {
        self.ports.config.kind() == "libsql-remote"
    }

    /// Reads what other instances on a shared database changed, when it is time. Does nothing
    /// on a store nobody else writes (a file, memory). A failure is logged; the request is served
    /// from the current snapshot.
    pub async fn catch_up(&self) {
        if !self.store_is_shared() {
            return;
        }
        let now_ms = self.ports.clock.monotonic_us() / 1_000;
        if !CatchUp::claim(&self.catch_up.config_ms, now_ms, CATCH_UP_EVERY_MS) {
            return;
        }
        if let Err(e) = self.refresh().await {
            tracing::warn!(error = %e, "config refresh failed; serving from the current snapshot");
        }
        if let Err(e) = self.share_cooldowns().await {
            tracing::warn!(error = %e, "sharing cooldowns with the store failed");
        }
        if CatchUp::claim(&self.catch_up.spend_ms, now_ms, SPEND_EVERY_MS)
            && let Err(e) = self.load_usage_state().await
        {
            tracing::warn!(error = %e, "re-reading per-key spend failed; budgets keep their in-memory count");
        }
    }

    /// Starts the catch-up clock at `now` (the gateway just loaded everything).
    pub(super) fn caught_up_now(&self) {
        let now_ms = self.ports.clock.monotonic_us() / 1_000;
        self.catch_up.config_ms.store(now_ms, Ordering::Release);
        self.catch_up.spend_ms.store(now_ms, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_period() {
        let last = AtomicU64::new(1_000);
        assert!(!CatchUp::claim(&last, 1_500, 1_000), "not due yet");
        assert!(CatchUp::claim(&last, 2_000, 1_000));
        assert!(!CatchUp::claim(&last, 2_000, 1_000), "the turn was taken");
        assert!(CatchUp::claim(&last, 3_100, 1_000));
    }
}
