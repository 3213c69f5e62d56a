//! The optional `Lifecycle` port: how the management API asks its runtime to shut down or
//! restart. Only the native server sets it; the Worker and Lambda have no process of their own
//! to stop, so there the endpoints do not exist (404).

use crate::maybe_send::{MaybeSend, MaybeSync};

/// What the management API may ask of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    /// Stop accepting, let requests in flight finish, flush usage, exit.
    Shutdown,
    /// The same, then start again (the binary re-executes itself on the same address).
    Restart,
}

impl LifecycleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleAction::Shutdown => "shutdown",
            LifecycleAction::Restart => "restart",
        }
    }
}

/// The runtime's side.
pub trait Lifecycle: MaybeSend + MaybeSync {
    /// Whether this runtime can do it (a server embedded in another program cannot re-execute
    /// itself).
    fn supports(&self, action: LifecycleAction) -> bool;
    /// Starts it. Answers in flight (the one asking included) are finished first.
    fn request(&self, action: LifecycleAction);
}
