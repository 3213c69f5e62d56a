//! The response cache and idempotency over HTTP: `GET /api/cache` (also `/api/cache/stats`)
//! and `DELETE` to clear.

use http::{Response, StatusCode};

use crate::body::Body;
use crate::cache::CacheStats;
use crate::gateway::Gateway;
use crate::pipeline::respond;

/// `GET /api/cache` and `/api/cache/stats`: the response cache and idempotency in the seed's shape.
pub fn cache_stats(gateway: &Gateway) -> Response<Body> {
    let now_ms = gateway.ports.clock.now_unix_ms();
    let stats = CacheStats::collect(&gateway.cache, &gateway.semantic, &gateway.idempotency, now_ms);
    respond::json(StatusCode::OK, serde_json::to_string(&stats).unwrap_or_else(|_| "{}".into()).into())
}

/// `DELETE /api/cache`: forgets every cached answer and embedding (this instance; the store's
/// entries are ignored from now on).
pub fn clear_cache(gateway: &Gateway) -> Response<Body> {
    gateway.cache.clear(gateway.ports.clock.now_unix_ms());
    gateway.semantic.clear();
    respond::json(StatusCode::OK, r#"{"cleared":true}"#.into())
}
