//! Who may use the gateway: gateway API keys (stored as SHA-256 hashes, with their policy) and
//! admin login sessions. Records as the ConfigStore keeps them.

use serde::{Deserialize, Serialize};

/// What a gateway API key may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    /// Inference only (`/v1/*` and the other client formats).
    #[default]
    User,
    /// Inference and the management API (`/api/*`).
    Admin,
}

/// How often a budget resets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    #[default]
    Daily,
    Weekly,
    Monthly,
}

/// A spending limit of one key, in USD per period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyBudget {
    pub limit_usd: f64,
    pub period: BudgetPeriod,
    /// Share of the limit at which a warning is reported (0..1, default 0.8).
    #[serde(default = "default_warn_ratio")]
    pub warn_ratio: f64,
}

fn default_warn_ratio() -> f64 {
    0.8
}

/// One gateway API key. The key itself is shown once at creation; only its hash is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Stable id (`key_<hex>`), used in URLs, usage rows and budgets.
    pub id: String,
    pub name: String,
    /// The first characters of the key, enough to recognise it in a list.
    pub prefix: String,
    /// Lower-case hex SHA-256 of the whole key.
    pub hash: String,
    #[serde(default)]
    pub role: KeyRole,
    pub created_ms: u64,
    #[serde(default)]
    pub expires_ms: Option<u64>,
    /// `false` once revoked: requests with it are refused, the row stays for attribution.
    #[serde(default = "yes")]
    pub active: bool,
    /// Model globs (`gpt-4*`, `anthropic/*`) the key may request; empty allows every model.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    /// Provider ids the key may be routed to; empty allows every provider.
    #[serde(default)]
    pub allowed_providers: Vec<String>,
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    #[serde(default)]
    pub requests_per_day: Option<u32>,
    /// Never store request or response bodies of this key's requests.
    #[serde(default)]
    pub no_log: bool,
    /// This key's requests neither read nor write the response cache (exact or semantic).
    #[serde(default)]
    pub no_cache: bool,
    /// Requests go to their target as sent: no parameter is fitted to the model (`pipeline::fit`),
    /// so the upstream's own refusal comes back instead.
    #[serde(default)]
    pub strict_parameters: bool,
    #[serde(default)]
    pub budget: Option<KeyBudget>,
}

fn yes() -> bool {
    true
}

/// An admin login session: the hash of the cookie token and when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    /// Lower-case hex SHA-256 of the `auth_token` cookie value.
    pub token_hash: String,
    pub created_ms: u64,
    pub expires_ms: u64,
}
