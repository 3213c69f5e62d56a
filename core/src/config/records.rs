//! Rows as the ConfigStore keeps them: providers and their accounts (connections), model
//! aliases, combos and the routing settings. Records only say what differs from the catalog
//! and the defaults; the snapshot fills in the rest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::access_records::{AdminSession, ApiKeyRecord};
use crate::config::policy::{AccountSelection, ComboStrategy};
use crate::providers::{AuthScheme, WireFormat};

/// A configured provider: a catalog provider (maybe overridden) or a custom one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderRecord {
    /// The model prefix clients use (`<id>/<model>`).
    pub id: String,
    /// Who declared it: `config` (file + env, synced at start) or `api`.
    pub source: String,
    /// The catalog entry this extends; `None` for a custom provider.
    pub catalog_id: Option<String>,
    pub name: Option<String>,
    pub format: Option<WireFormat>,
    pub base_url: Option<String>,
    pub auth: Option<AuthScheme>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub chat_path: Option<String>,
    pub api_version: Option<String>,
    /// Models served besides the catalog's own.
    #[serde(default)]
    pub models: Vec<String>,
    pub enabled: bool,
    /// How a request picks among the provider's accounts.
    #[serde(default)]
    pub selection: AccountSelection,
    /// Round-robin: consecutive requests one account serves before the next (default 1).
    #[serde(default)]
    pub sticky_window: Option<u32>,
    /// Per-provider timeouts; unset ones fall back to the global `[timeouts]`.
    #[serde(default)]
    pub timeouts: TimeoutOverrides,
}

impl ProviderRecord {
    /// A row that overrides nothing: every field the catalog (or the defaults) fills in.
    pub fn bare(id: &str, source: &str, catalog_id: Option<&str>) -> ProviderRecord {
        ProviderRecord {
            id: id.to_owned(),
            source: source.to_owned(),
            catalog_id: catalog_id.map(str::to_owned),
            name: None,
            format: None,
            base_url: None,
            auth: None,
            headers: BTreeMap::new(),
            chat_path: None,
            api_version: None,
            models: Vec::new(),
            enabled: true,
            selection: AccountSelection::default(),
            sticky_window: None,
            timeouts: TimeoutOverrides::default(),
        }
    }
}

/// Timeouts in milliseconds that override the global ones where set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeoutOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_ms: Option<u64>,
}

impl TimeoutOverrides {
    pub fn is_empty(&self) -> bool {
        *self == TimeoutOverrides::default()
    }
}

/// One account (API key) of a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// Stable id: `<provider>:<name>` for declared accounts.
    pub id: String,
    pub provider_id: String,
    pub source: String,
    pub name: String,
    /// The secret in clear; stores encrypt it at rest.
    pub api_key: Option<String>,
    /// Lower is tried first.
    pub priority: i64,
    pub enabled: bool,
}

/// A model alias: a client model name (exact, or a glob with `*` and `?`) → a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRecord {
    /// An exact model name or a glob (`gpt-4*`); unique.
    pub pattern: String,
    /// `provider/model`, `combo/<name>` or a combo name.
    pub target: String,
    pub source: String,
}

/// A named, ordered list of targets tried with a strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComboRecord {
    /// What clients send as the model (`<name>` or `combo/<name>`); unique.
    pub name: String,
    pub source: String,
    #[serde(default)]
    pub strategy: ComboStrategy,
    pub targets: Vec<ComboTarget>,
    #[serde(default)]
    pub settings: ComboSettings,
}

/// One entry of a combo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComboTarget {
    /// `provider/model`, `combo/<name>` or a combo name.
    pub target: String,
    /// Share under the `weighted` strategy (default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// How a combo retries and times out; unset timeouts fall back to the provider's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComboSettings {
    /// Extra attempts on the same target before moving to the next.
    pub retries: u32,
    /// Pause before a retry on the same target.
    pub retry_delay_ms: u64,
    /// Limit of one attempt, whatever it is waiting for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_ms: Option<u64>,
}

/// Gateway-wide routing and resilience settings, stored under the settings key `routing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoutingSettings {
    /// Where a bare model name that no provider lists goes (a target); `None` refuses it.
    pub default_model: Option<String>,
    /// Upstream statuses that are retried or passed to the next target.
    pub retryable_statuses: Vec<u16>,
    /// How long a request may wait for a cooling account; 0 fails fast.
    pub max_wait_ms: u64,
    /// Circuit breaker of providers that need a key.
    pub breaker: BreakerSettings,
    /// Circuit breaker of keyless local providers (Ollama, LM Studio, …), every scope.
    pub local_breaker: BreakerSettings,
    /// Circuit breaker of an upstream origin nothing could reach (connect refused, DNS, TLS).
    pub endpoint_breaker: BreakerSettings,
    /// How long one model of an account cools down after a 429 that names no time.
    pub rate_limit_cooldown_ms: u64,
    /// How long a refused key or exhausted credit takes the whole account out.
    pub account_cooldown_ms: u64,
}

/// Five minutes: long enough not to hammer a revoked key, short enough to notice a fix.
pub const DEFAULT_ACCOUNT_COOLDOWN_MS: u64 = 300_000;
/// A 429 with no `Retry-After`: a few seconds, as providers' per-minute windows refill.
pub const DEFAULT_RATE_LIMIT_COOLDOWN_MS: u64 = 5_000;

/// The retryable statuses when none are configured (529: Anthropic's "overloaded").
pub const DEFAULT_RETRYABLE_STATUSES: [u16; 7] = [408, 429, 500, 502, 503, 504, 529];

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            default_model: None,
            retryable_statuses: DEFAULT_RETRYABLE_STATUSES.to_vec(),
            max_wait_ms: 0,
            breaker: BreakerSettings::default(),
            local_breaker: BreakerSettings::local_default(),
            endpoint_breaker: BreakerSettings::ENDPOINT,
            rate_limit_cooldown_ms: DEFAULT_RATE_LIMIT_COOLDOWN_MS,
            account_cooldown_ms: DEFAULT_ACCOUNT_COOLDOWN_MS,
        }
    }
}

/// When a target's breaker opens and how it recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSettings {
    /// Failures within `window_ms` that open the breaker.
    pub failure_threshold: u32,
    pub window_ms: u64,
    /// How long an open breaker keeps the target out (its cooldown).
    pub open_ms: u64,
    /// Trial requests let through once `open_ms` has passed.
    pub half_open_probes: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self::REMOTE
    }
}

impl BreakerSettings {
    /// Remote, keyed providers: 5 failures in 60 s open the breaker for 30 s.
    pub const REMOTE: BreakerSettings =
        BreakerSettings { failure_threshold: 5, window_ms: 60_000, open_ms: 30_000, half_open_probes: 1 };
    /// Local servers (Ollama and the like) fail fast (connection refused) and come back fast.
    pub const LOCAL: BreakerSettings =
        BreakerSettings { failure_threshold: 3, window_ms: 10_000, open_ms: 5_000, half_open_probes: 1 };
    /// An origin that cannot be reached: a refused connection is no fluke, so three in a
    /// minute take every model behind it out for 30 s.
    pub const ENDPOINT: BreakerSettings =
        BreakerSettings { failure_threshold: 3, window_ms: 60_000, open_ms: 30_000, half_open_probes: 1 };

    pub fn local_default() -> Self {
        Self::LOCAL
    }
}

/// What a store holds, with the version it was read at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredConfig {
    pub version: u64,
    pub providers: Vec<ProviderRecord>,
    pub connections: Vec<ConnectionRecord>,
    /// In declaration order (the first matching glob wins).
    pub aliases: Vec<AliasRecord>,
    pub combos: Vec<ComboRecord>,
    /// `None` when nothing set them: the defaults apply.
    pub routing: Option<RoutingSettings>,
    /// Who set `routing`: `config` (the file, applied again at every start) or `api`.
    pub routing_source: Option<String>,
    /// Gateway API keys (hashes and policies), revoked ones included.
    pub api_keys: Vec<ApiKeyRecord>,
    /// Admin login sessions.
    pub sessions: Vec<AdminSession>,
    /// Settings documents by key (see [`crate::config::settings`]), `routing` excluded.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// What each provider's upstream listed when last asked, by provider id (a cache, not
    /// config: see [`crate::config::discovered`]).
    pub discovered: BTreeMap<String, crate::config::DiscoveredModels>,
}

/// What one declarative source (the file plus env vars) says should exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeclaredConfig {
    pub source: String,
    pub providers: Vec<ProviderRecord>,
    pub connections: Vec<ConnectionRecord>,
    pub aliases: Vec<AliasRecord>,
    pub combos: Vec<ComboRecord>,
    /// `None` when the source sets no routing settings (a stored one of this source goes).
    pub routing: Option<RoutingSettings>,
    /// Settings documents the source sets (`cache` from `[cache]`), by key; a stored one of
    /// this source that it no longer sets goes.
    pub settings: BTreeMap<String, serde_json::Value>,
}
