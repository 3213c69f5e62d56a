//! Rows as the ConfigStore keeps them: providers and their accounts (connections).
//! Records only say what differs from the catalog; the snapshot fills in the rest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// What a store holds, with the version it was read at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredConfig {
    pub version: u64,
    pub providers: Vec<ProviderRecord>,
    pub connections: Vec<ConnectionRecord>,
}

/// What one declarative source (the file plus env vars) says should exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeclaredConfig {
    pub source: String,
    pub providers: Vec<ProviderRecord>,
    pub connections: Vec<ConnectionRecord>,
}
