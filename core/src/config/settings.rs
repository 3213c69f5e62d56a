//! Gateway settings kept as JSON documents under keys of the `settings` table, each with its
//! typed view and defaults. Unknown fields are refused so a typo never silently does nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::providers::pricing::ModelPrice;

/// Keys of the settings documents.
pub mod keys {
    /// [`super::SecuritySettings`]
    pub const SECURITY: &str = "security";
    /// [`super::IpFilterSettings`]
    pub const IP_FILTER: &str = "ip_filter";
    /// [`super::SystemPromptSettings`]
    pub const SYSTEM_PROMPT: &str = "system_prompt";
    /// [`super::ThinkingBudgetSettings`]
    pub const THINKING_BUDGET: &str = "thinking_budget";
    /// [`super::ProxySettings`]
    pub const PROXY: &str = "proxy";
    /// [`super::UsageSettings`]
    pub const USAGE: &str = "usage";
    /// [`super::PricingSettings`]
    pub const PRICING: &str = "pricing";
    /// [`super::ProviderModelsSettings`]
    pub const PROVIDER_MODELS: &str = "provider_models";
    /// [`super::CacheSettings`]
    pub const CACHE: &str = "cache";
    /// The admin password hash: private, never returned by any endpoint.
    pub const ADMIN_AUTH: &str = "admin_auth";
    /// Keys that only the gateway itself reads and writes.
    pub const PRIVATE: [&str; 1] = [ADMIN_AUTH];
}

/// Who may reach what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SecuritySettings {
    /// Inference needs a gateway API key (also forced on by `REQUIRE_API_KEY=true`).
    pub require_api_key: bool,
    /// The management API needs a login session or an admin key. Off only for trusted setups.
    pub require_login: bool,
    /// Provider base URLs set over the API may point at loopback/private addresses.
    pub allow_private_upstreams: bool,
    /// `GET /metrics` without credentials.
    pub metrics_public: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How many trusted proxies append to `X-Forwarded-For` in front of the gateway (1-10):
    /// the client is the entry this many places from the right.
    pub forwarded_for_hops: u32,
    /// Origins allowed by CORS on the inference endpoints (`*` for any); empty: CORS off.
    pub cors_origins: Vec<String>,
}

/// The most trusted proxies a chain may have.
pub const MAX_FORWARDED_FOR_HOPS: u32 = 10;

impl SecuritySettings {
    /// How many `X-Forwarded-For` entries, from the right, trusted proxies wrote (0: none).
    pub fn forwarded_hops(&self) -> u32 {
        if self.trust_forwarded_for { self.forwarded_for_hops.clamp(1, MAX_FORWARDED_FOR_HOPS) } else { 0 }
    }
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            require_api_key: false,
            require_login: true,
            allow_private_upstreams: false,
            metrics_public: false,
            trust_forwarded_for: false,
            forwarded_for_hops: 1,
            cors_origins: Vec::new(),
        }
    }
}

/// Addresses allowed or refused before anything else runs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct IpFilterSettings {
    pub enabled: bool,
    /// When not empty, only these addresses/CIDRs (v4 or v6) get in.
    pub allow: Vec<String>,
    /// Always refused, even when also allowed.
    pub block: Vec<String>,
}

/// A system prompt the gateway adds to every chat request.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SystemPromptSettings {
    pub enabled: bool,
    pub prompt: String,
}

/// What happens to reasoning budgets on the way upstream.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingMode {
    /// The client's own budget, untouched.
    #[default]
    Passthrough,
    /// Always this budget (`budgetTokens`) where the request asks for reasoning.
    Fixed,
    /// The client's budget, at most `budgetTokens`.
    Cap,
    /// Reasoning removed from requests.
    Disabled,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ThinkingBudgetSettings {
    pub mode: ThinkingMode,
    pub budget_tokens: u32,
}

/// Outbound HTTP proxy for upstream calls (native runtime).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ProxySettings {
    pub enabled: bool,
    /// `http://host:port` or `socks5://host:port`, credentials allowed (masked when shown).
    pub url: String,
    /// Hosts reached directly (comma-separated, as `NO_PROXY`).
    pub no_proxy: String,
}

/// Models added to or hidden from providers over the API (`/api/provider-models`), by provider
/// id. Kept apart from the provider rows so they survive the start-up sync of config-file
/// providers, and so catalog providers can be changed before they are configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderModelsSettings {
    pub providers: std::collections::BTreeMap<String, ProviderModelOverrides>,
}

/// One provider's custom and hidden models.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderModelOverrides {
    /// Served besides the catalog's and the provider row's own models.
    pub custom: Vec<CustomModel>,
    /// Model ids left out of every model list and of bare-name routing (still reachable as
    /// `provider/model`).
    pub hidden: Vec<String>,
}

/// A model added over the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomModel {
    /// The upstream's model id.
    pub id: String,
    /// A display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
}

/// The admin password (Argon2id PHC string).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminAuth {
    pub password_hash: String,
}

/// Usage accounting: how long rows are kept, whether bodies are logged, and how long the
/// Responses API's stored responses are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UsageSettings {
    /// Usage rows (and logged bodies) older than this many days are deleted; 0 keeps them.
    pub retention_days: u32,
    /// Keep each request's body and its answer (each capped) for `/api/usage/request-logs`;
    /// never for keys marked `no_log`.
    pub request_logging: bool,
    /// Days a Responses API response made with `store` (its default) is kept for
    /// `previous_response_id`, item references and `GET /v1/responses/{id}`; 0 stores none.
    /// Never longer than `retention_days` when that is set: stored responses hold the
    /// conversation itself, so they count in the usage retention.
    pub responses_retention_days: u32,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings { retention_days: 90, request_logging: false, responses_retention_days: 30 }
    }
}

impl UsageSettings {
    /// How long a response stored now is kept (ms), or `None` when responses are not stored.
    pub fn stored_response_ttl_ms(&self) -> Option<u64> {
        const DAY_MS: u64 = 24 * 60 * 60 * 1000;
        let days = match (self.responses_retention_days, self.retention_days) {
            (0, _) => return None,
            (days, 0) => days,
            (days, usage) => days.min(usage),
        };
        Some(u64::from(days) * DAY_MS)
    }
}

/// Prices that replace (or add to) the catalog's, by `provider/model`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct PricingSettings {
    pub overrides: BTreeMap<String, ModelPrice>,
}

/// The response cache (`GET/PUT/PATCH /api/settings/cache`, `[cache]` in omniroute.toml).
/// Applied to the running cache when the snapshot reloads; new TTLs apply to new answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheSettings {
    /// Off: no request reads or writes the cache (exact or semantic).
    pub enabled: bool,
    /// How long an answer is served, in milliseconds (memory and store).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 31536000000_u64))]
    pub ttl_ms: u64,
    /// Answers kept in memory (the store keeps the rest until their TTL).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub max_entries: u32,
    /// Total JSON size of the answers kept in memory.
    #[cfg_attr(feature = "openapi", schema(minimum = 1024, maximum = 1_073_741_824))]
    pub max_bytes: u64,
    pub semantic: SemanticCacheSettings,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            ttl_ms: 60 * 60 * 1000,
            max_entries: 500,
            max_bytes: 64 * 1024 * 1024,
            semantic: SemanticCacheSettings::default(),
        }
    }
}

/// The semantic cache: on when `embeddingModel` names a model (off by default). A cacheable
/// request whose embedding is at least `threshold` cosine-similar to a cached answer's request,
/// with the same model, system prompt and output options, gets that answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SemanticCacheSettings {
    /// `provider/model` of an OpenAI-compatible provider serving `POST /embeddings`; `null`: off.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._-]{1,64}/[^\s\x00-\x1f\x7f-\x9f]{1,256}$"))]
    pub embedding_model: Option<String>,
    /// Least cosine similarity that counts as the same question (0 < threshold <= 1).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1.0))]
    pub threshold: f64,
    /// Embeddings kept in memory (each of the embedding model's dimensions).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub max_entries: u32,
    /// Longest wait for an embedding; past it the request goes on as a miss.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 60_000))]
    pub timeout_ms: u64,
}

impl Default for SemanticCacheSettings {
    fn default() -> Self {
        SemanticCacheSettings { embedding_model: None, threshold: 0.95, max_entries: 1000, timeout_ms: 2000 }
    }
}

/// A setting out of range: the field (as the API names it) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub field: &'static str,
    pub message: String,
}

impl CacheSettings {
    /// Longest TTL: a year.
    pub const MAX_TTL_MS: u64 = 365 * 24 * 60 * 60 * 1000;
    pub const MAX_ENTRIES: u32 = 1_000_000;
    pub const MIN_BYTES: u64 = 1024;
    pub const MAX_BYTES: u64 = 1024 * 1024 * 1024;

    /// Checks every bound the schema states; names the field in API terms.
    pub fn check(&self) -> Result<(), SettingError> {
        let fail = |field, message: String| Err(SettingError { field, message });
        if !(1..=Self::MAX_TTL_MS).contains(&self.ttl_ms) {
            return fail("ttlMs", format!("must be 1 to {} milliseconds", Self::MAX_TTL_MS));
        }
        if !(1..=Self::MAX_ENTRIES).contains(&self.max_entries) {
            return fail("maxEntries", format!("must be 1 to {}", Self::MAX_ENTRIES));
        }
        if !(Self::MIN_BYTES..=Self::MAX_BYTES).contains(&self.max_bytes) {
            return fail("maxBytes", format!("must be {} to {} bytes", Self::MIN_BYTES, Self::MAX_BYTES));
        }
        self.semantic.check()
    }
}

impl SemanticCacheSettings {
    pub const MAX_ENTRIES: u32 = 100_000;
    pub const MAX_TIMEOUT_MS: u64 = 60_000;

    pub fn check(&self) -> Result<(), SettingError> {
        let fail = |field, message: String| Err(SettingError { field, message });
        if let Some(model) = &self.embedding_model
            && split_model_ref(model).is_none()
        {
            return fail(
                "semantic.embeddingModel",
                "must be `provider/model` (provider id of letters, digits, '.', '_', '-'; no blanks)".into(),
            );
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return fail("semantic.threshold", "must be above 0 and at most 1".into());
        }
        if !(1..=Self::MAX_ENTRIES).contains(&self.max_entries) {
            return fail("semantic.maxEntries", format!("must be 1 to {}", Self::MAX_ENTRIES));
        }
        if !(1..=Self::MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            return fail("semantic.timeoutMs", format!("must be 1 to {} milliseconds", Self::MAX_TIMEOUT_MS));
        }
        Ok(())
    }
}

/// `provider/model` split in two, when both halves are well formed (the pattern the schema of
/// [`SemanticCacheSettings::embedding_model`] states).
pub fn split_model_ref(text: &str) -> Option<(&str, &str)> {
    let (provider, model) = text.split_once('/')?;
    let provider_ok =
        (1..=64).contains(&provider.len()) && provider.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    let model_len = model.chars().count();
    let model_ok = (1..=256).contains(&model_len) && !model.chars().any(|c| c.is_whitespace() || c.is_control());
    (provider_ok && model_ok).then_some((provider, model))
}

/// A settings document, or its default when absent or unreadable (logged).
pub fn setting_or_default<T: serde::de::DeserializeOwned + Default>(
    stored: &crate::config::StoredConfig,
    key: &str,
) -> T {
    match stored.settings.get(key) {
        Some(value) => serde_json::from_value(value.clone()).unwrap_or_else(|e| {
            tracing::error!(setting = key, error = %e, "stored setting is unreadable; using its defaults");
            T::default()
        }),
        None => T::default(),
    }
}
