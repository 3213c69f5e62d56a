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
    /// Origins allowed by CORS on the inference endpoints (`*` for any); empty: CORS off.
    pub cors_origins: Vec<String>,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            require_api_key: false,
            require_login: true,
            allow_private_upstreams: false,
            metrics_public: false,
            trust_forwarded_for: false,
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

/// Usage accounting: how long rows are kept and whether bodies are logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UsageSettings {
    /// Usage rows (and logged bodies) older than this many days are deleted; 0 keeps them.
    pub retention_days: u32,
    /// Keep each request's body and its answer (each capped) for `/api/usage/request-logs`;
    /// never for keys marked `no_log`.
    pub request_logging: bool,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings { retention_days: 90, request_logging: false }
    }
}

/// Prices that replace (or add to) the catalog's, by `provider/model`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct PricingSettings {
    pub overrides: BTreeMap<String, ModelPrice>,
}
