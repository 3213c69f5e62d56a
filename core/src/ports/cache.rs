//! The `CacheStore` port: response cache and idempotency results, by key with a time to live.

use std::time::Duration;

use bytes::Bytes;

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// A key/value cache with expiry.
pub trait CacheStore: MaybeSend + MaybeSync {
    fn get(&self, key: &str) -> BoxFuture<'_, Option<Bytes>>;
    fn put(&self, key: &str, value: Bytes, ttl: Duration) -> BoxFuture<'_, ()>;

    /// Whether any entry whose key starts with `prefix` may be stored (expired ones may count).
    /// `false` only when certain: a store shared with other instances answers `true`.
    fn may_hold(&self, _prefix: &str) -> bool {
        true
    }
}
