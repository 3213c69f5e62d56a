//! Writes to the stored config: a list of changes applied in one transaction together with the
//! version bump and the audit entry that describes them (the one way anything is written).

use serde::{Deserialize, Serialize};

use crate::config::access_records::{AdminSession, ApiKeyRecord};
use crate::config::discovered::DiscoveredModels;
use crate::config::records::{
    AliasRecord, ComboRecord, ConnectionRecord, ProviderRecord, RoutingSettings, StoredConfig,
};

/// The `source` of rows written over the management API (the file/env sync never touches them).
pub const API_SOURCE: &str = "api";

/// One change to the stored config.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigChange {
    /// Insert or replace by id.
    PutProvider(ProviderRecord),
    /// Removes the provider and its accounts.
    DeleteProvider(String),
    PutConnection(ConnectionRecord),
    DeleteConnection(String),
    /// Insert (appended after the existing ones) or replace by pattern, keeping its position.
    PutAlias(AliasRecord),
    DeleteAlias(String),
    PutCombo(ComboRecord),
    DeleteCombo(String),
    PutRouting(RoutingSettings),
    /// A gateway setting (a JSON document under a key, see [`crate::config::settings`]).
    PutSetting {
        key: String,
        value: serde_json::Value,
    },
    DeleteSetting(String),
    PutApiKey(ApiKeyRecord),
    DeleteApiKey(String),
    PutSession(AdminSession),
    /// By token hash.
    DeleteSession(String),
    /// Drops sessions that ended before this time (Unix ms).
    PruneSessions {
        before_ms: u64,
    },
    /// Replaces what the provider's upstream was last seen to list.
    PutDiscoveredModels {
        provider: String,
        models: DiscoveredModels,
    },
}

/// One line of the audit log: who changed what, when, with before/after (secrets masked).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    #[serde(default)]
    pub id: u64,
    pub timestamp_ms: u64,
    /// `admin` (login session), `key:<id>` (admin API key) or `anonymous` (login not required).
    pub actor: String,
    /// The client's address when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `<resource>.<verb>`, e.g. `key.create`, `provider.update`, `settings.update`.
    pub action: String,
    /// The resource's id.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}

impl ConfigChange {
    /// Applies this change to an in-memory copy (the memory store; the SQL stores do the same
    /// with statements).
    pub fn apply_to(self, stored: &mut StoredConfig) {
        fn put<T>(items: &mut Vec<T>, item: T, same: impl Fn(&T, &T) -> bool) {
            match items.iter_mut().find(|existing| same(existing, &item)) {
                Some(existing) => *existing = item,
                None => items.push(item),
            }
        }
        match self {
            ConfigChange::PutProvider(p) => put(&mut stored.providers, p, |a, b| a.id == b.id),
            ConfigChange::DeleteProvider(id) => {
                stored.providers.retain(|p| p.id != id);
                stored.connections.retain(|c| c.provider_id != id);
                stored.discovered.remove(&id);
            }
            ConfigChange::PutConnection(c) => put(&mut stored.connections, c, |a, b| a.id == b.id),
            ConfigChange::DeleteConnection(id) => stored.connections.retain(|c| c.id != id),
            ConfigChange::PutAlias(a) => put(&mut stored.aliases, a, |x, y| x.pattern == y.pattern),
            ConfigChange::DeleteAlias(pattern) => stored.aliases.retain(|a| a.pattern != pattern),
            ConfigChange::PutCombo(c) => put(&mut stored.combos, c, |a, b| a.name == b.name),
            ConfigChange::DeleteCombo(name) => stored.combos.retain(|c| c.name != name),
            ConfigChange::PutRouting(r) => {
                stored.routing = Some(r);
                stored.routing_source = Some(API_SOURCE.into());
            }
            ConfigChange::PutSetting { key, value } => {
                stored.settings.insert(key, value);
            }
            ConfigChange::DeleteSetting(key) => {
                stored.settings.remove(&key);
            }
            ConfigChange::PutApiKey(k) => put(&mut stored.api_keys, k, |a, b| a.id == b.id),
            ConfigChange::DeleteApiKey(id) => stored.api_keys.retain(|k| k.id != id),
            ConfigChange::PutSession(s) => put(&mut stored.sessions, s, |a, b| a.token_hash == b.token_hash),
            ConfigChange::DeleteSession(hash) => stored.sessions.retain(|s| s.token_hash != hash),
            ConfigChange::PruneSessions { before_ms } => stored.sessions.retain(|s| s.expires_ms >= before_ms),
            ConfigChange::PutDiscoveredModels { provider, models } => {
                stored.discovered.insert(provider, models);
            }
        }
    }
}
