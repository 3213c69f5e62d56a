//! The end of a shutdown's grace period, as every open stream sees it: when the runtime says
//! time is up, each relay ends its stream with the client's own error event and records its
//! usage, instead of being cut mid-transfer with nothing recorded. Runtime-agnostic: an
//! aborted never-ending future, shared, wakes every relay waiting on it.

use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::{AbortHandle, Abortable, Shared};

use crate::maybe_send::{BoxFuture, boxed};

/// What a stream cut by the shutdown records as its error (not the upstream's fault).
pub const SHUTTING_DOWN: &str = "the gateway is shutting down";

/// Fires once, for every stream at once.
pub struct Closing {
    handle: AbortHandle,
    fired: Shared<BoxFuture<'static, ()>>,
}

impl Default for Closing {
    fn default() -> Self {
        let (handle, registration) = AbortHandle::new_pair();
        let fired = boxed(Abortable::new(std::future::pending::<()>(), registration).map(|_| ())).shared();
        Closing { handle, fired }
    }
}

impl Closing {
    /// Ends every open stream (and every one that starts after).
    pub fn fire(&self) {
        self.handle.abort();
    }

    /// A watch for one stream.
    pub fn watch(&self) -> ClosingWatch {
        ClosingWatch(self.fired.clone())
    }
}

/// One stream's view of [`Closing`].
pub struct ClosingWatch(Shared<BoxFuture<'static, ()>>);

impl ClosingWatch {
    /// Ready once the grace period is over; registers `cx` to be woken then.
    pub fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_watch_sees_the_one_firing() {
        let closing = Closing::default();
        let (mut a, mut b) = (closing.watch(), closing.watch());
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(a.poll_fired(&mut cx).is_pending() && b.poll_fired(&mut cx).is_pending());
        closing.fire();
        assert!(a.poll_fired(&mut cx).is_ready() && b.poll_fired(&mut cx).is_ready());
        assert!(closing.watch().poll_fired(&mut cx).is_ready(), "a stream that starts later ends at once");
    }
}
