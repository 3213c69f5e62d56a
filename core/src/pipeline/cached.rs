//! The response cache in the request path: a deterministic request (temperature 0 or unset)
//! already answered is served from the cache — as JSON, or replayed as a stream in the
//! client's format — without calling any upstream; a complete answer to a temperature-0
//! request is stored. `X-OmniRoute-No-Cache: true` bypasses both.

use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use crate::body::Body;
use crate::cache::{cache_key, readable, writable};
use crate::formats;
use crate::hub::{ChatRequest, response_events};
use crate::pipeline::Gateway;
use crate::pipeline::reply::stream_content_type;
use crate::pipeline::respond;
use crate::pipeline::router::ChatEndpoint;
use crate::providers::WireFormat;

/// What the cache said about a request that missed.
pub struct Miss {
    pub key: String,
    /// The answer may be stored (temperature 0).
    pub writable: bool,
}

pub enum Lookup {
    /// Not cacheable, or the cache is off or bypassed.
    Skip,
    Hit(Response<Body>),
    Miss(Miss),
}

/// Looks the request up. Never fails: a body the cache cannot read is left to the normal path.
/// The decoded request is left in `hub` for the rest of the request path to reuse.
pub async fn lookup(
    gateway: &Gateway,
    endpoint: &ChatEndpoint,
    headers: &HeaderMap,
    body: &[u8],
    hub: &mut Option<ChatRequest>,
    model: &str,
    stream: bool,
) -> Lookup {
    let bypass = headers
        .get("x-omniroute-no-cache")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if bypass || !gateway.cache.settings().enabled {
        return Lookup::Skip;
    }
    let Ok(mut request) = formats::decode_request(endpoint.format, body) else { return Lookup::Skip };
    // The key is of what goes upstream: the settings' edits (system prompt, thinking) change
    // the answer. The request path reuses this edited request for translation.
    gateway.snapshot().request_edits.apply_to_hub(&mut request);
    let request = hub.insert(request);
    if !readable(request) {
        return Lookup::Skip;
    }
    let key = cache_key(request, model);
    let now_ms = gateway.ports.clock.now_unix_ms();
    match gateway.cache.get(&key, now_ms).await {
        Some(cached) => {
            gateway.telemetry.metrics.cache_hit();
            let mut response = if stream {
                replay_stream(endpoint, &cached)
            } else {
                respond::json(StatusCode::OK, formats::encode_response(endpoint.format, &cached))
            };
            response.headers_mut().insert("x-omniroute-cache", HeaderValue::from_static("HIT"));
            Lookup::Hit(response)
        }
        None => {
            gateway.telemetry.metrics.cache_miss();
            Lookup::Miss(Miss { key, writable: writable(request) && !stream })
        }
    }
}

/// A cached answer as the client's stream, whole.
fn replay_stream(endpoint: &ChatEndpoint, cached: &crate::hub::ChatResponse) -> Response<Body> {
    let mut encoder = formats::stream_encoder(endpoint.format, endpoint.framing);
    let mut bytes = BytesMut::new();
    for event in response_events(cached) {
        bytes.extend_from_slice(&encoder.push(&event));
    }
    bytes.extend_from_slice(&encoder.finish());
    let content_type = stream_content_type(endpoint.format, endpoint.framing);
    let mut response = Response::new(Body::Full(bytes.freeze()));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Stores a complete, successful answer (the client's format) under `key`, off the request.
pub fn store(gateway: &Gateway, client: WireFormat, key: String, body: Bytes) {
    let Ok(answer) = formats::decode_response(client, &body) else { return };
    let cache = gateway.cache.clone();
    let now_ms = gateway.ports.clock.now_unix_ms();
    gateway.ports.spawner.spawn(crate::maybe_send::boxed(async move { cache.put(&key, answer, now_ms).await }));
}
