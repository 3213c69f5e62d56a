//! Waiting for something another instance does in the background (a config change, a cooldown,
//! a reset reaching it) with the bound the docs state: measured, printed, and asserted.

use std::time::{Duration, Instant};

/// Polls `probe` every 50 ms until it is true; how long it took. Fails when that took more than
/// `bound`, or never happened within twice `bound`.
pub async fn within(bound: Duration, what: &str, mut probe: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if probe().await {
            let took = started.elapsed();
            eprintln!("{what}: {took:?}");
            assert!(took <= bound, "{what} took {took:?}, more than {bound:?}");
            return took;
        }
        assert!(started.elapsed() < bound * 2, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
