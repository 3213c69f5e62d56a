//! The response cache in the request path: a deterministic request (temperature 0 or unset)
//! already answered is served from the cache — as JSON, or replayed as a stream in the
//! client's format — without calling any upstream; a complete answer to a temperature-0
//! request is stored. With an embedding model configured, a miss is also compared by meaning
//! with the cached requests of the same model, system prompt and output options (the semantic
//! cache). `X-OmniRoute-No-Cache: true`, the `cache` settings and a key's `noCache` turn it off.

use std::sync::LazyLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use memchr::memmem::Finder;

use crate::body::Body;
use crate::cache::{cache_key, readable, semantic_scope, semantic_text, writable};
use crate::formats;
use crate::gateway::Gateway;
use crate::hub::{ChatRequest, ChatResponse, Namespaces, response_events};
use crate::pipeline::answer::stream_content_type;
use crate::pipeline::chat_context::ChatCall;
use crate::pipeline::embed;
use crate::pipeline::endpoint::ChatEndpoint;
use crate::providers::WireFormat;
use crate::render;
use crate::telemetry::CacheHitKind;

/// Longest conversation compared by meaning (embedding models take a few thousand tokens).
const MAX_SEMANTIC_CHARS: usize = 32 * 1024;

/// What the cache said about a request that missed.
pub struct Miss {
    pub key: String,
    /// The answer may be stored (temperature 0).
    pub writable: bool,
    /// The request's embedding, to find the answer by meaning once it is stored.
    pub semantic: Option<SemanticProbe>,
}

impl Miss {
    /// What to store once the answer is complete, when it may be stored.
    pub fn write(&self) -> Option<CacheWrite> {
        self.writable.then(|| CacheWrite { key: self.key.clone(), semantic: self.semantic.clone() })
    }
}

/// A request as the semantic cache compares it.
#[derive(Debug, Clone)]
pub struct SemanticProbe {
    pub scope: String,
    pub vector: Vec<f32>,
}

/// Where a complete answer goes: its key, and its request's embedding.
#[derive(Debug, Clone)]
pub struct CacheWrite {
    pub key: String,
    pub semantic: Option<SemanticProbe>,
}

pub enum Lookup {
    /// Not cacheable, or the cache is off or bypassed.
    Skip,
    Hit(Response<Body>),
    Miss(Miss),
}

/// Looks the request up. Never fails: a body the cache cannot read is left to the normal path.
/// The decoded request is left in `hub` for the rest of the request path to reuse.
pub async fn lookup(call: &ChatCall<'_>, hub: &mut Option<ChatRequest>) -> Lookup {
    if !applies(call) || !worth_decoding(call) {
        return Lookup::Skip;
    }
    let Some(request) = decode_edited(call, hub) else { return Lookup::Skip };
    if !readable(request) {
        return Lookup::Skip;
    }
    let key = cache_key(request, &call.model);
    let now_ms = call.gateway.ports.clock.now_unix_ms();
    // A Responses client's namespaced functions: the stored answer's calls name them again.
    let names = Namespaces::of(&request.tools);
    if let Some(hit) = exact_hit(call, &key, now_ms, &names).await {
        return Lookup::Hit(hit);
    }
    let semantic = semantic_probe(call, request).await;
    if let Some(hit) = semantic_hit(call, semantic.as_ref(), now_ms, &names).await {
        return Lookup::Hit(hit);
    }
    call.gateway.telemetry.metrics.cache_miss();
    let writable = writable(request) && !call.probe.stream;
    Lookup::Miss(Miss { key, writable, semantic: semantic.filter(|_| writable) })
}

/// Whether the cache is on for this request: the settings, the caller's key (`noCache`) and the
/// request itself (`X-OmniRoute-No-Cache: true`) may each turn it off.
fn applies(call: &ChatCall<'_>) -> bool {
    let bypass = call
        .headers
        .get("x-omniroute-no-cache")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let key_opted_out = call.ctx.caller.key().is_some_and(|k| k.no_cache);
    !bypass && call.snapshot.cache.enabled && !key_opted_out
}

/// Whether a key is worth its decode and hash. A request without a temperature may read a
/// stored answer but not store one; with nothing stored there is nothing to read (most requests
/// of coding agents and SDK defaults look like this: 6% of a passthrough request's CPU). That
/// case counts as a miss.
fn worth_decoding(call: &ChatCall<'_>) -> bool {
    let gateway = call.gateway;
    if !mentions_temperature(&call.body) && gateway.cache.miss_if_empty() {
        gateway.telemetry.metrics.cache_miss();
        return false;
    }
    true
}

/// The request in hub form, kept in `hub`. The key is of what goes upstream: the settings'
/// edits (system prompt, thinking) change the answer, and the request path reuses this edited
/// request for translation.
fn decode_edited<'h>(call: &ChatCall<'_>, hub: &'h mut Option<ChatRequest>) -> Option<&'h ChatRequest> {
    let mut request = formats::decode_request(call.endpoint.format, &call.body).ok()?;
    call.snapshot.request_edits.apply_to_hub(&mut request);
    Some(hub.insert(request))
}

/// The answer stored under exactly this request's key.
async fn exact_hit(call: &ChatCall<'_>, key: &str, now_ms: u64, names: &Namespaces) -> Option<Response<Body>> {
    let gateway = call.gateway;
    let cached = gateway.cache.get(key, now_ms).await?;
    gateway.telemetry.metrics.cache_hit(CacheHitKind::Exact);
    Some(hit(call.endpoint, call.probe.stream, &cached, None, names))
}

/// The request's scope and embedding for the semantic cache: when an embedding model is set,
/// the request compares by text, and the embedding came in time.
async fn semantic_probe(call: &ChatCall<'_>, request: &ChatRequest) -> Option<SemanticProbe> {
    let settings = &call.snapshot.cache.semantic;
    let embedding_model = settings.embedding_model.as_deref()?;
    let text = semantic_text(request).filter(|t| t.len() <= MAX_SEMANTIC_CHARS)?;
    let timeout = Duration::from_millis(settings.timeout_ms);
    match embed::embed(call.gateway, call.ctx, embedding_model, &text, timeout).await {
        Some(vector) => Some(SemanticProbe { scope: semantic_scope(request, &call.model), vector }),
        None => {
            call.gateway.semantic.note_failure();
            None
        }
    }
}

/// The stored answer of a request close enough in meaning, when one is still there.
async fn semantic_hit(
    call: &ChatCall<'_>,
    probe: Option<&SemanticProbe>,
    now_ms: u64,
    names: &Namespaces,
) -> Option<Response<Body>> {
    let gateway = call.gateway;
    let threshold = call.snapshot.cache.semantic.threshold;
    let probe = probe?;
    let found = gateway.semantic.search(&probe.scope, &probe.vector, threshold, now_ms)?;
    let Some(cached) = gateway.cache.fetch(&found.key, now_ms).await else {
        // The answer expired or was cleared since: the entry goes, and this is a miss.
        gateway.semantic.unhit(&found.key);
        return None;
    };
    gateway.telemetry.metrics.cache_hit(CacheHitKind::Semantic);
    Some(hit(call.endpoint, call.probe.stream, &cached, Some(found.similarity), names))
}

/// Whether the body may set a temperature: every format names it `temperature` (Gemini and
/// Ollama nest it), so a body without the word has none.
fn mentions_temperature(body: &[u8]) -> bool {
    // Built once, as the stream searchers are: per call, building it cost more than the search.
    static TEMPERATURE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"temperature"));
    TEMPERATURE.find(body).is_some()
}

/// The cached answer in the client's shape, marked as a hit (and how similar, if semantic).
fn hit(
    endpoint: &ChatEndpoint,
    stream: bool,
    cached: &ChatResponse,
    similarity: Option<f64>,
    names: &Namespaces,
) -> Response<Body> {
    // A Responses answer is a response object of its own, which may be stored and continued by
    // its id: a hit gets a new id rather than the cached answer's.
    let fresh;
    let cached = if endpoint.format == WireFormat::OpenaiResponses {
        fresh = ChatResponse { id: String::new(), ..cached.clone() };
        &fresh
    } else {
        cached
    };
    let mut response = if stream {
        replay_stream(endpoint, cached, names)
    } else {
        render::json(StatusCode::OK, formats::encode_answer(endpoint.format, cached, names))
    };
    let headers = response.headers_mut();
    headers.insert("x-omniroute-cache", HeaderValue::from_static("HIT"));
    match similarity {
        None => {
            headers.insert("x-omniroute-cache-type", HeaderValue::from_static("exact"));
        }
        Some(similarity) => {
            headers.insert("x-omniroute-cache-type", HeaderValue::from_static("semantic"));
            if let Ok(value) = HeaderValue::from_str(&format!("{similarity:.4}")) {
                headers.insert("x-omniroute-cache-similarity", value);
            }
        }
    }
    response
}

/// A cached answer as the client's stream, whole.
fn replay_stream(endpoint: &ChatEndpoint, cached: &ChatResponse, names: &Namespaces) -> Response<Body> {
    let mut encoder = formats::answer_stream_encoder(endpoint.format, endpoint.framing, names);
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

/// Stores a complete, successful answer (the client's format) under its key, and its request's
/// embedding for the semantic cache, off the request.
pub fn store(gateway: &Gateway, client: WireFormat, write: CacheWrite, body: Bytes) {
    let Ok(answer) = formats::decode_response(client, &body) else { return };
    let (cache, semantic) = (gateway.cache.clone(), gateway.semantic.clone());
    let now_ms = gateway.ports.clock.now_unix_ms();
    gateway.ports.spawner.spawn(crate::maybe_send::boxed(async move {
        let stored = cache.put(&write.key, answer, now_ms).await;
        if let Some(probe) = write.semantic
            && stored
        {
            let settings = cache.settings();
            semantic.insert(&probe.scope, &write.key, &probe.vector, now_ms.saturating_add(settings.ttl_ms));
        }
    }));
}
