//! The gateway: one `handle` for every runtime, calling the request phases in one visible order.
//!
//! route → guard (IP filter, keys, login, per-key rate limits) → read + probe → resolve → plan (passthrough or
//! translate through the hub) → dispatch (accounts in order, first-byte peek) → respond (bytes
//! as they came, or re-encoded; streams relayed chunk by chunk) → record (usage rows through the
//! batching sink, off the hot path).

pub mod answer_check;
pub mod cache_api;
pub mod cached;
pub mod chat;
pub mod closing;
pub mod coalesce;
pub mod content_count;
pub mod cors;
pub mod count_tokens;
pub mod dispatch;
pub mod embed;
pub mod idempotent;
pub mod in_span;
pub mod info;
pub mod passthrough;
pub mod progress;
pub mod record;
pub mod relay;
pub mod reply;
pub mod resilience_api;
pub mod respond;
pub mod router;
pub mod stream_transform;
pub mod telemetry_api;
#[cfg(test)]
pub(crate) mod test_support;
pub mod timeouts;
pub mod upstream;
pub mod usage_tap;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use http::header::HeaderValue;
use http::{Request, Response};
use tracing::Instrument;

use crate::auth::Caller;
use crate::auth::guard;
use crate::auth::rate_limit::{KeyRateLimiter, LoginLimiter};
use crate::body::Body;
use crate::cache::{Idempotency, IdempotencySettings, ResponseCache, ResponseCacheSettings, SemanticIndex};
use crate::config::GatewayOptions;
use crate::config::settings::{ProxySettings, keys as settings_keys};
use crate::error::GatewayError;
use crate::ports::{Lifecycle, OutboundProxy, Ports, StoreError};
use crate::providers::WireFormat;
use crate::routing::health::BreakerProfiles;
use crate::routing::router::Router;
use crate::snapshot::ConfigSnapshot;
use crate::telemetry::Telemetry;
use crate::usage::BudgetTracker;
use crate::usage::budget::{period_name, usd};
use record::RecordHandle;
use router::{Access, Route, route};

/// The breaker settings the config asks for.
fn breaker_profiles(snapshot: &ConfigSnapshot) -> BreakerProfiles {
    let routing = snapshot.routing();
    BreakerProfiles { default: routing.breaker, local: routing.local_breaker }
}

/// The semantic index as the settings want it (off without an embedding model or the cache).
fn configure_semantic(index: &SemanticIndex, snapshot: &ConfigSnapshot) {
    let settings = &snapshot.cache;
    let model = settings.semantic.embedding_model.as_deref().filter(|_| settings.enabled);
    index.configure(model, usize::try_from(settings.semantic.max_entries).unwrap_or(usize::MAX));
}

/// Per-request facts every phase can read.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub started_us: u64,
    pub client_format: WireFormat,
    /// Who is calling (the key whose policy applies, an admin, or nobody in particular).
    pub caller: Caller,
    pub client_addr: Option<IpAddr>,
}

/// The gateway core. Cheap to share (`Arc<Gateway>`); config is an atomically swapped snapshot.
pub struct Gateway {
    pub ports: Ports,
    pub options: GatewayOptions,
    /// Breakers, cooldowns, policy picks and sessions, shared by every request.
    pub router: Arc<Router>,
    /// Latency/error windows and cumulative metrics (`/api/telemetry/summary`, `/metrics`).
    pub telemetry: Arc<Telemetry>,
    /// Answers to deterministic requests: memory LRU over the CacheStore port.
    pub cache: Arc<ResponseCache>,
    /// Embeddings of the cached requests (the semantic cache), when an embedding model is set.
    pub semantic: Arc<SemanticIndex>,
    /// Requests in flight or just answered, by idempotency key.
    pub idempotency: Idempotency,
    /// Requests per API key per minute/day.
    pub key_limits: KeyRateLimiter,
    /// Failed logins per client address.
    pub login_limiter: LoginLimiter,
    /// Spend per API key in the current day, week and month (budgets).
    pub budgets: Arc<BudgetTracker>,
    /// When each API key last got in (this instance).
    key_last_used: std::sync::Mutex<HashMap<String, u64>>,
    /// The outbound proxy last handed to the HttpClient (from the `proxy` setting).
    applied_proxy: std::sync::Mutex<Option<OutboundProxy>>,
    /// Shutdown/restart, where the runtime offers them (the native server).
    lifecycle: std::sync::OnceLock<Arc<dyn Lifecycle>>,
    /// Fired by the runtime when a shutdown's grace period is over: open streams end cleanly.
    pub closing: closing::Closing,
    snapshot: ArcSwap<ConfigSnapshot>,
    next_request: AtomicU64,
    started_us: u64,
}

impl Gateway {
    /// Loads the first config snapshot from the store.
    pub async fn new(ports: Ports, options: GatewayOptions) -> Result<Self, StoreError> {
        let stored = ports.config.load().await?;
        let started_us = ports.clock.monotonic_us();
        let snapshot = ConfigSnapshot::build(&stored);
        // Shared with stream relays and background writes that outlive the request. On wasm32
        // the ports (and so these) are not Send, and nothing is threaded there: Arc stays correct.
        #[allow(clippy::arc_with_non_send_sync)]
        let router = Arc::new(Router::new(ports.clock.clone(), breaker_profiles(&snapshot)));
        #[allow(clippy::arc_with_non_send_sync)]
        let cache = Arc::new(ResponseCache::new(ResponseCacheSettings::from(&snapshot.cache), ports.cache.clone()));
        let semantic = Arc::new(SemanticIndex::new(0));
        configure_semantic(&semantic, &snapshot);
        let gateway = Gateway {
            router,
            telemetry: Arc::new(Telemetry::default()),
            cache,
            semantic,
            idempotency: Idempotency::new(IdempotencySettings::default()),
            key_limits: KeyRateLimiter::default(),
            login_limiter: LoginLimiter::default(),
            budgets: Arc::new(BudgetTracker::default()),
            key_last_used: std::sync::Mutex::new(HashMap::new()),
            applied_proxy: std::sync::Mutex::new(None),
            lifecycle: std::sync::OnceLock::new(),
            closing: closing::Closing::default(),
            snapshot: ArcSwap::from_pointee(snapshot),
            ports,
            options,
            next_request: AtomicU64::new(0),
            started_us,
        };
        // Budgets must hold across restarts: spend so far comes from the stored rows.
        if let Err(e) = gateway.load_usage_state().await {
            tracing::warn!(error = %e, "could not read past usage; budgets count from zero until the next refresh");
        }
        gateway.apply_proxy(&gateway.snapshot());
        Ok(gateway)
    }

    /// The current config snapshot; no lock, no query.
    pub fn snapshot(&self) -> Arc<ConfigSnapshot> {
        self.snapshot.load_full()
    }

    /// Rebuilds the snapshot if the store's version moved. Returns whether it did.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let version = self.ports.config.version().await?;
        if version == self.snapshot.load().version {
            return Ok(false);
        }
        let stored = self.ports.config.load().await?;
        let snapshot = ConfigSnapshot::build(&stored);
        self.router.health.set_profiles(breaker_profiles(&snapshot));
        self.apply_proxy(&snapshot);
        // Cache settings apply to the running cache here, not per request.
        self.cache.configure(ResponseCacheSettings::from(&snapshot.cache));
        configure_semantic(&self.semantic, &snapshot);
        self.snapshot.store(Arc::new(snapshot));
        Ok(true)
    }

    /// Hands the `proxy` setting to the HttpClient when it changed, so a new proxy applies to
    /// the next upstream call without a restart (on any instance, at its next refresh).
    fn apply_proxy(&self, snapshot: &ConfigSnapshot) {
        let settings: ProxySettings = snapshot.setting(settings_keys::PROXY);
        let wanted = (settings.enabled && !settings.url.trim().is_empty())
            .then(|| OutboundProxy { url: settings.url.trim().to_owned(), no_proxy: settings.no_proxy });
        let mut applied = self.applied_proxy.lock().unwrap_or_else(|p| p.into_inner());
        if *applied == wanted {
            return;
        }
        match self.ports.http.set_proxy(wanted.as_ref()) {
            Ok(()) => tracing::info!(enabled = wanted.is_some(), "outbound proxy for upstream calls updated"),
            // Writes over the API are refused on such runtimes; this is a hand-edited store.
            Err(e) => tracing::warn!(error = %e, "the outbound proxy setting cannot be applied"),
        }
        *applied = wanted;
    }

    /// Writes this instance's cooldowns to the shared store and takes in the other
    /// instances'. Runtimes call it periodically.
    pub async fn share_cooldowns(&self) -> Result<(), StoreError> {
        for (key, until_ms) in self.router.health.active_cooldowns() {
            self.ports.cooldowns.put(&key, until_ms).await?;
        }
        let rows = self.ports.cooldowns.active(self.ports.clock.now_unix_ms()).await?;
        self.router.health.merge_cooldowns(&rows);
        Ok(())
    }

    pub(crate) fn record_handle(&self) -> RecordHandle {
        RecordHandle {
            usage: self.ports.usage.clone(),
            clock: self.ports.clock.clone(),
            telemetry: self.telemetry.clone(),
            budgets: self.budgets.clone(),
        }
    }

    /// Lets the management API stop or restart the runtime (set once, by the native server).
    pub fn set_lifecycle(&self, lifecycle: Arc<dyn Lifecycle>) {
        if self.lifecycle.set(lifecycle).is_err() {
            tracing::warn!("a lifecycle hook was already set; keeping the first");
        }
    }

    /// The runtime's shutdown/restart hook, if it has one.
    pub fn lifecycle(&self) -> Option<&Arc<dyn Lifecycle>> {
        self.lifecycle.get()
    }

    /// When the key last got in (this instance), if it has.
    pub fn key_last_used(&self, key_id: &str) -> Option<u64> {
        self.key_last_used.lock().unwrap_or_else(|p| p.into_inner()).get(key_id).copied()
    }

    /// Takes in last-use times read from usage rows, keeping the newer of each.
    pub(crate) fn merge_key_last_used(&self, rows: &[(String, u64)]) {
        let mut last_used = self.key_last_used.lock().unwrap_or_else(|p| p.into_inner());
        for (key_id, at) in rows {
            let entry = last_used.entry(key_id.clone()).or_insert(*at);
            *entry = (*entry).max(*at);
        }
    }

    /// Serves one request. Never panics on client input; every error is a response.
    pub async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let route = route(&parts.method, parts.uri.path(), parts.uri.query());
        let access = route.access(&parts.method, parts.uri.path());
        let spends = matches!(route, Route::Chat(_));
        let mut ctx = RequestContext {
            request_id: self.request_id(&parts.headers),
            started_us: self.ports.clock.monotonic_us(),
            client_format: route.client_format(),
            caller: Caller::Anonymous,
            client_addr: None,
        };
        // Everything logged for this request, its stream included, carries the request id. A
        // span is only entered when its level is enabled: at ERROR it is there whenever any
        // line is logged (`RUST_LOG=warn` included).
        let span = tracing::error_span!("request", request_id = %ctx.request_id, method = %parts.method, path = parts.uri.path());
        let admitted = span.in_scope(|| self.admit(&route, access, &parts, &mut ctx));
        let response = match admitted {
            Ok(()) => self.serve(route, &ctx, &parts, body).instrument(span.clone()).await,
            Err(err) => {
                self.telemetry.metrics.gateway_error(err.code());
                let client = ctx.client_addr.map(|a| a.to_string()).unwrap_or_default();
                span.in_scope(|| tracing::info!(status = err.status().as_u16(), code = err.code(), %client, reason = %err, "request refused"));
                match access {
                    Access::Inference => respond::error(ctx.client_format, &err),
                    _ => crate::admin::respond::error(&err),
                }
            }
        };
        let mut response = response;
        if access == Access::Inference {
            let snapshot = self.snapshot.load();
            cors::add_headers(&snapshot.access.security.cors_origins, &parts.headers, response.headers_mut());
        }
        span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "request answered"));
        let mut response = response.map(|body| in_span::in_span(body, span));
        if let Ok(value) = HeaderValue::from_str(&ctx.request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        if spends {
            self.budget_warning(&ctx, response.headers_mut());
        }
        response
    }

    /// `X-OmniRoute-Budget-Warning` once the key's spend reached its warning share.
    fn budget_warning(&self, ctx: &RequestContext, headers: &mut http::HeaderMap) {
        let Some(key) = ctx.caller.key() else { return };
        let Some(budget) = &key.budget else { return };
        let status = self.budgets.status(&key.id, budget, self.ports.clock.now_unix_ms());
        if status.warning
            && let Ok(value) = HeaderValue::from_str(&status.warning_header())
        {
            headers.insert("x-omniroute-budget-warning", value);
        }
    }

    /// The guard: IP filter, then the route's access rule, then the key's rate limits on calls
    /// that reach an upstream. Fills in who is calling.
    fn admit(
        &self,
        route: &Route,
        access: Access,
        parts: &http::request::Parts,
        ctx: &mut RequestContext,
    ) -> Result<(), GatewayError> {
        let snapshot = self.snapshot();
        let rules = &snapshot.access;
        ctx.client_addr = guard::client_addr(parts, rules.security.forwarded_hops());
        guard::check_host(parts, &self.options.allowed_hosts)?;
        guard::check_ip(rules, ctx.client_addr)?;
        let now_ms = self.ports.clock.now_unix_ms();
        ctx.caller = match access {
            Access::Public => Caller::Anonymous,
            Access::Inference => {
                guard::check_inference_origin(parts, &rules.security.cors_origins)?;
                let required = self.options.require_api_key || rules.security.require_api_key;
                guard::inference(rules, &parts.headers, parts.uri.query(), required, now_ms)?
            }
            Access::Metrics if rules.security.metrics_public => Caller::Anonymous,
            Access::Management | Access::Metrics => guard::management(rules, parts, now_ms)?,
        };
        if let Some(key) = ctx.caller.key() {
            // A spent budget refuses before anything reaches an upstream (or a rate-limit slot).
            if let (Route::Chat(_), Some(budget)) = (route, &key.budget) {
                let status = self.budgets.status(&key.id, budget, now_ms);
                if status.exceeded {
                    return Err(GatewayError::BudgetExceeded(format!(
                        "API key '{}' has spent its {} budget (${} of ${}); it resets at {}",
                        key.name,
                        period_name(budget.period),
                        usd(status.spent_usd),
                        usd(status.limit_usd),
                        crate::admin::respond::timestamp(status.resets_at_ms),
                    )));
                }
            }
            if matches!(route, Route::Chat(_) | Route::CountTokens) {
                self.key_limits.admit(&key.id, key.requests_per_minute, key.requests_per_day, now_ms).map_err(
                    |retry_after_secs| GatewayError::RateLimited {
                        message: format!("API key '{}' is over its request limit", key.name),
                        retry_after_secs,
                    },
                )?;
            }
            self.key_last_used.lock().unwrap_or_else(|p| p.into_inner()).insert(key.id.clone(), now_ms);
        }
        Ok(())
    }

    async fn serve(
        &self,
        route: Route,
        ctx: &RequestContext,
        parts: &http::request::Parts,
        body: Body,
    ) -> Response<Body> {
        match route {
            Route::Chat(endpoint) => chat::handle(self, ctx, &endpoint, &parts.headers, body).await,
            Route::CountTokens => count_tokens::handle(self, ctx, &parts.headers, body).await,
            Route::ListModels => info::list_models(self),
            Route::GetModel(id) => info::get_model(self, &id),
            Route::GeminiModels => info::gemini_models(self),
            Route::GeminiModel(id) => info::gemini_model(self, &id),
            Route::OllamaTags => info::ollama_tags(self),
            Route::OllamaVersion => info::ollama_version(),
            Route::ProviderModels(provider) => info::provider_models(self, &provider),
            Route::Resilience => resilience_api::report(self),
            Route::PatchResilience => resilience_api::patch(self, body).await,
            Route::ResetResilience => resilience_api::reset(self, body).await,
            Route::RateLimits => resilience_api::rate_limits(self),
            Route::Availability => resilience_api::availability(self),
            Route::ModelAvailability => resilience_api::check_model(self, body).await,
            Route::Sessions => resilience_api::sessions(self),
            Route::TelemetrySummary => telemetry_api::summary(self, parts.uri.query()),
            Route::Metrics => telemetry_api::metrics(self),
            Route::CacheStats => cache_api::cache_stats(self),
            Route::ClearCache => cache_api::clear_cache(self),
            Route::Health => info::health(self),
            Route::Admin => crate::admin::handle(self, ctx, parts, body).await,
            Route::Preflight(allowed) => {
                cors::preflight(&self.snapshot().access.security.cors_origins, allowed, &parts.headers)
            }
            Route::NotFound(format) => {
                respond::error(format, &GatewayError::NotFound(format!("{} {}", parts.method, parts.uri.path())))
            }
            Route::MethodNotAllowed(format, allowed) => {
                respond::error(format, &GatewayError::method_not_allowed(&parts.method, allowed))
            }
        }
    }

    /// The client's `X-Request-Id` when it is sane, else a fresh one.
    fn request_id(&self, headers: &http::HeaderMap) -> String {
        if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok())
            && !id.is_empty()
            && id.len() <= 128
            && id.bytes().all(|b| b.is_ascii_graphic())
        {
            return id.to_owned();
        }
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        // `req_{now_ms:x}{n:06x}`, written by hand: `format!` was 1% of a request's CPU.
        let mut id = String::with_capacity(26);
        id.push_str("req_");
        push_hex(&mut id, self.ports.clock.now_unix_ms(), 1);
        push_hex(&mut id, n & 0xff_ffff, 6);
        id
    }
}

/// Appends `value` in lower-case hex, zero-padded to at least `min_digits`.
fn push_hex(out: &mut String, value: u64, min_digits: usize) {
    let digits = (u64::BITS - value.leading_zeros()).div_ceil(4) as usize;
    for i in (0..digits.max(min_digits)).rev() {
        let nibble = value.checked_shr(4 * i as u32).unwrap_or(0) & 0xf;
        out.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

#[cfg(test)]
mod request_id_tests {
    use super::push_hex;

    #[test]
    fn hex_is_written_as_format_writes_it() {
        for (value, min) in [(0_u64, 1), (0, 6), (0xabc, 6), (0x19_3a4b_5c6d_7e8f, 1), (u64::MAX, 6), (0xff_ffff, 6)] {
            let mut out = String::new();
            push_hex(&mut out, value, min);
            assert_eq!(out, format!("{value:0min$x}"), "{value:#x} at {min} digits");
        }
    }
}
