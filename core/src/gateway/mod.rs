//! The gateway's shared state: the ports, the options, the config snapshot (swapped when the
//! store's version moves), breakers and cooldowns, telemetry, caches, limiters and budgets.
//! Every layer above reads it; it knows nothing of the endpoints (`pipeline`, `admin`) that
//! serve requests with it, nor of the route table (`routes`) that picks them.

pub mod call;
pub mod catch_up;
pub mod closing;
pub mod sync_status;
pub mod upkeep;

#[cfg(test)]
mod refresh_tests;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arc_swap::ArcSwap;

use crate::auth::Caller;
use crate::auth::rate_limit::{KeyRateLimiter, LoginLimiter};
use crate::cache::{Idempotency, IdempotencySettings, ResponseCache, ResponseCacheSettings, SemanticIndex};
use crate::config::GatewayOptions;
use crate::config::settings::{ProxySettings, keys as settings_keys};
use crate::ports::{Lifecycle, OutboundProxy, Ports, StoreError};
use crate::providers::WireFormat;
use crate::routing::health::BreakerProfiles;
use crate::routing::health::share::decode_row;
use crate::routing::router::Router;
use crate::routing::shared_reset::ResetTarget;
use crate::snapshot::ConfigSnapshot;
use crate::telemetry::Telemetry;
use crate::usage::BudgetTracker;

/// The breaker settings the config asks for.
fn breaker_profiles(snapshot: &ConfigSnapshot) -> BreakerProfiles {
    let routing = snapshot.routing();
    BreakerProfiles {
        default: routing.breaker,
        local: routing.local_breaker,
        endpoint: routing.endpoint_breaker,
        rate_limit_cooldown_ms: routing.rate_limit_cooldown_ms,
        account_cooldown_ms: routing.account_cooldown_ms,
    }
}

/// The semantic index as the settings want it (off without an embedding model or the cache).
fn configure_semantic(index: &SemanticIndex, snapshot: &ConfigSnapshot) {
    let settings = &snapshot.cache;
    let model = settings.semantic.embedding_model.as_deref().filter(|_| settings.enabled);
    index.configure(model, usize::try_from(settings.semantic.max_entries).unwrap_or(usize::MAX));
}

/// Response ids the gateway makes (a Responses client's answer from another format) are kept
/// as stored responses' keys, so they must not repeat after a restart or on another instance:
/// they are seeded with randomness once.
fn seed_response_ids(entropy: &dyn crate::ports::Entropy) {
    let mut seed = [0u8; 16];
    match entropy.fill(&mut seed) {
        Ok(()) => crate::formats::openai_responses::seed_response_ids(seed),
        Err(e) => tracing::warn!(error = %e, "response ids are not seeded: they may repeat those of an earlier run"),
    }
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
    pub(crate) next_request: AtomicU64,
    started_us: u64,
    /// When this instance last read what others changed (runtimes without a loop).
    catch_up: catch_up::CatchUp,
    /// How this instance keeps up with the store (`GET /api/sync/cloud`).
    pub sync: sync_status::SyncStatus,
    /// Held by the refresh under way (see `reload_if_moved`).
    refreshing: futures_util::lock::Mutex<()>,
}

impl Gateway {
    /// Loads the first config snapshot from the store.
    pub async fn new(ports: Ports, options: GatewayOptions) -> Result<Self, StoreError> {
        let stored = ports.config.load().await?;
        let started_us = ports.clock.monotonic_us();
        seed_response_ids(ports.entropy.as_ref());
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
            catch_up: catch_up::CatchUp::default(),
            sync: sync_status::SyncStatus::default(),
            refreshing: futures_util::lock::Mutex::new(()),
        };
        gateway.caught_up_now();
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
        let result = self.reload_if_moved().await;
        let now_ms = self.ports.clock.now_unix_ms();
        match &result {
            Ok(changed) => self.sync.polled(now_ms, *changed),
            Err(e) => self.sync.failed(now_ms, e.to_string()),
        }
        result
    }

    async fn reload_if_moved(&self) -> Result<bool, StoreError> {
        // One at a time: two that overlapped (the poll, and a write's own reload) could store
        // their snapshots out of order, the older over the newer, and what was just written
        // (a login's session, a new key) went missing until the next poll.
        let _turn = self.refreshing.lock().await;
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

    /// Writes this instance's cooldowns and open breakers to the shared store and takes in the
    /// other instances' (`routing/health_share.rs`). Runtimes call it periodically.
    pub async fn share_cooldowns(&self) -> Result<(), StoreError> {
        let (health, store) = (&self.router.health, &self.ports.cooldowns);
        let epoch = health.share_epoch();
        let own = health.shared_rows();
        for (row, until_ms) in &own {
            store.put(row, *until_ms).await?;
        }
        if health.share_epoch() != epoch {
            // A reset ran while these were written, and its clearing of the store may have come
            // first: clear what it ended, or the peers would hold it again.
            let still = health.shared_rows();
            for (row, _) in own.iter().filter(|(row, _)| !still.iter().any(|(kept, _)| kept == row)) {
                store.clear(Some(row)).await?;
            }
        }
        let epoch = health.share_epoch();
        let rows = store.active(self.ports.clock.now_unix_ms()).await?;
        // A reset made elsewhere, applied here for the first time: rows it covers may have been
        // written (here or by others) before they applied it, so they go too.
        for target in health.merge_shared(&rows, epoch) {
            for (row, _) in rows.iter().filter(|(row, _)| ResetTarget::from_row(row).is_none()) {
                if target.covers(&decode_row(row).0) {
                    store.clear(Some(row)).await?;
                }
            }
        }
        Ok(())
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

    /// How long this gateway has been up (µs).
    pub fn uptime_us(&self) -> u64 {
        self.ports.clock.monotonic_us().saturating_sub(self.started_us)
    }

    /// Notes that the key got in now.
    pub(crate) fn note_key_used(&self, key_id: &str, now_ms: u64) {
        self.key_last_used.lock().unwrap_or_else(|p| p.into_inner()).insert(key_id.to_owned(), now_ms);
    }

    /// Takes in last-use times read from usage rows, keeping the newer of each.
    pub(crate) fn merge_key_last_used(&self, rows: &[(String, u64)]) {
        let mut last_used = self.key_last_used.lock().unwrap_or_else(|p| p.into_inner());
        for (key_id, at) in rows {
            let entry = last_used.entry(key_id.clone()).or_insert(*at);
            *entry = (*entry).max(*at);
        }
    }
}
