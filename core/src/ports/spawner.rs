//! The `Spawner` port: run work after the response (usage writes, cache fills).
//! Native: a tracked tokio task; Workers: `ctx.wait_until`; Lambda: inline.

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// Runs a future to completion outside the request's own future.
pub trait Spawner: MaybeSend + MaybeSync {
    fn spawn(&self, task: BoxFuture<'static, ()>);
}
