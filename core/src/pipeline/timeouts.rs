//! Racing work against the Clock: first-byte and idle timeouts that work on every runtime.

use std::future::Future;
use std::time::Duration;

use futures_util::future::{Either, select};

use crate::ports::Clock;

/// Runs `fut`, or gives up after `limit` (returns `None`).
pub async fn within<F: Future>(clock: &dyn Clock, limit: Duration, fut: F) -> Option<F::Output> {
    let fut = std::pin::pin!(fut);
    match select(fut, clock.sleep(limit)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}
