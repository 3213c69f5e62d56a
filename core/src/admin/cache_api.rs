//! The response cache and idempotency over HTTP: `GET /api/cache` (also `/api/cache/stats`)
//! and `DELETE` to clear.

use serde_json::json;

use crate::admin::json::ok;
use crate::cache::CacheStats;
use crate::gateway::call::{Answer, Call};

/// `GET /api/cache` and `/api/cache/stats`: the response cache and idempotency in the seed's shape.
pub async fn stats(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let now_ms = gateway.ports.clock.now_unix_ms();
    Ok(ok(&CacheStats::collect(&gateway.cache, &gateway.semantic, &gateway.idempotency, now_ms)))
}

/// `DELETE /api/cache`: forgets every cached answer and embedding (this instance; the store's
/// entries are ignored from now on).
pub async fn clear(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    gateway.cache.clear(gateway.ports.clock.now_unix_ms());
    gateway.semantic.clear();
    Ok(ok(&json!({ "cleared": true })))
}
