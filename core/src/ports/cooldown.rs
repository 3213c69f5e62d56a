//! The `CooldownStore` port: accounts and targets cooling down after failures, open breakers
//! and resets, shared between instances (several Workers, Lambdas or servers on one database)
//! so one's breaker spares the others the same failing upstream. Keys are opaque to the store
//! (e.g. `openai:team`, `open=account:openai/model:gpt-4o`; `routing/health_share.rs`).

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};
use crate::ports::StoreError;

/// Shared cooldowns: key → until when (Unix milliseconds).
pub trait CooldownStore: MaybeSend + MaybeSync {
    /// Records that `key` cools down until `until_ms`; an existing later `until` is kept.
    fn put(&self, key: &str, until_ms: u64) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The cooldowns still running at `now_ms` (`until_ms > now_ms`), as `(key, until_ms)`
    /// sorted by key. Stores may drop expired rows meanwhile.
    fn active(&self, now_ms: u64) -> BoxFuture<'_, Result<Vec<(String, u64)>, StoreError>>;
    /// Ends the cooldown of `key`, or of every key (`None`): an operator's reset must not come
    /// back from the store at the next share.
    fn clear(&self, key: Option<&str>) -> BoxFuture<'_, Result<(), StoreError>>;
}
