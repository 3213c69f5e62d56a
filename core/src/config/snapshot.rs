//! The immutable view the hot path reads: stored records merged with the catalog, indexed by
//! id and alias. Built once per config version and shared behind an `Arc`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::records::StoredConfig;
use crate::providers::{AuthScheme, CatalogModel, WireFormat, find_catalog_provider};

/// A provider ready to be called.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedProvider {
    pub id: String,
    pub name: String,
    pub format: WireFormat,
    pub base_url: String,
    pub auth: AuthScheme,
    pub headers: Vec<(String, String)>,
    /// Path of a (non-streamed) chat call; `{model}` is replaced by the upstream model.
    pub chat_path: String,
    /// Path of a streamed call where it differs (Gemini's `:streamGenerateContent?alt=sse`).
    pub stream_chat_path: Option<String>,
    pub api_version: Option<String>,
    /// Catalog models plus configured ones.
    pub models: Vec<CatalogModel>,
    /// Enabled accounts, lowest priority first.
    pub connections: Vec<ResolvedConnection>,
}

/// An account ready to be used.
#[derive(Clone, PartialEq)]
pub struct ResolvedConnection {
    pub id: String,
    pub name: String,
    pub api_key: Option<String>,
}

impl std::fmt::Debug for ResolvedConnection {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedConnection")
            .field("id", &self.id)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Everything the request path needs from config.
#[derive(Debug, Clone, Default)]
pub struct ConfigSnapshot {
    pub version: u64,
    providers: Vec<Arc<ResolvedProvider>>,
    by_name: HashMap<String, usize>,
}

impl ConfigSnapshot {
    pub fn build(stored: &StoredConfig) -> Self {
        let mut snapshot = ConfigSnapshot { version: stored.version, ..Default::default() };
        for record in stored.providers.iter().filter(|p| p.enabled) {
            let entry = record.catalog_id.as_deref().and_then(find_catalog_provider);
            let mut connections: Vec<_> =
                stored.connections.iter().filter(|c| c.provider_id == record.id && c.enabled).collect();
            connections.sort_by_key(|c| (c.priority, c.id.clone()));
            let mut connections: Vec<ResolvedConnection> = connections
                .into_iter()
                .map(|c| ResolvedConnection { id: c.id.clone(), name: c.name.clone(), api_key: c.api_key.clone() })
                .collect();
            let auth = record.auth.or(entry.map(|e| e.auth)).unwrap_or(AuthScheme::Bearer);
            let key_required = entry.map(|e| e.key_required).unwrap_or(auth != AuthScheme::None);
            if connections.is_empty() && !key_required {
                connections.push(ResolvedConnection {
                    id: format!("{}:local", record.id),
                    name: "local".into(),
                    api_key: None,
                });
            }
            let mut headers: Vec<(String, String)> =
                entry.map(|e| e.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
            for (k, v) in &record.headers {
                headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(k));
                headers.push((k.clone(), v.clone()));
            }
            let mut models: Vec<CatalogModel> = entry.map(|e| e.models.clone()).unwrap_or_default();
            for id in &record.models {
                if !models.iter().any(|m| &m.id == id) {
                    models.push(CatalogModel {
                        id: id.clone(),
                        context: None,
                        max_output: None,
                        capabilities: Vec::new(),
                        input_price: None,
                        output_price: None,
                        cached_input_price: None,
                    });
                }
            }
            let format = record.format.or(entry.map(|e| e.format)).unwrap_or(WireFormat::OpenaiChat);
            // A record's own path wins; a catalog entry of the same format gives its paths; else
            // the format's documented ones.
            let catalog_paths = entry.filter(|e| e.format == format);
            let provider = ResolvedProvider {
                id: record.id.clone(),
                name: record.name.clone().or(entry.map(|e| e.name.clone())).unwrap_or_else(|| record.id.clone()),
                format,
                base_url: record.base_url.clone().or(entry.map(|e| e.base_url.clone())).unwrap_or_default(),
                auth,
                headers,
                chat_path: record
                    .chat_path
                    .clone()
                    .or(catalog_paths.map(|e| e.chat_path.clone()))
                    .unwrap_or_else(|| format.default_chat_path().into()),
                stream_chat_path: match (&record.chat_path, catalog_paths) {
                    (Some(_), _) => None,
                    (None, Some(e)) => e.stream_chat_path.clone(),
                    (None, None) => format.default_stream_chat_path().map(Into::into),
                },
                api_version: record.api_version.clone().or(entry.and_then(|e| e.api_version.clone())),
                models,
                connections,
            };
            let index = snapshot.providers.len();
            snapshot.by_name.insert(provider.id.clone(), index);
            for alias in entry.map(|e| e.aliases.as_slice()).unwrap_or_default() {
                snapshot.by_name.entry(alias.clone()).or_insert(index);
            }
            snapshot.providers.push(Arc::new(provider));
        }
        snapshot
    }

    /// A provider by id or alias.
    pub fn provider(&self, name: &str) -> Option<&Arc<ResolvedProvider>> {
        let index = match self.by_name.get(name) {
            Some(index) => *index,
            None => *self.by_name.get(&name.to_ascii_lowercase())?,
        };
        self.providers.get(index)
    }

    pub fn providers(&self) -> &[Arc<ResolvedProvider>] {
        &self.providers
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::records::{ConnectionRecord, ProviderRecord};

    fn provider(id: &str, catalog: Option<&str>) -> ProviderRecord {
        ProviderRecord {
            id: id.into(),
            source: "config".into(),
            catalog_id: catalog.map(Into::into),
            name: None,
            format: None,
            base_url: None,
            auth: None,
            headers: Default::default(),
            chat_path: None,
            api_version: None,
            models: vec!["extra-model".into()],
            enabled: true,
        }
    }

    fn connection(id: &str, provider: &str, priority: i64) -> ConnectionRecord {
        ConnectionRecord {
            id: id.into(),
            provider_id: provider.into(),
            source: "config".into(),
            name: id.into(),
            api_key: Some(format!("key-{id}")),
            priority,
            enabled: true,
        }
    }

    #[test]
    fn catalog_fills_what_records_leave_out() {
        let stored = StoredConfig {
            version: 3,
            providers: vec![provider("anthropic", Some("anthropic")), provider("ollama", Some("ollama"))],
            connections: vec![connection("b", "anthropic", 2), connection("a", "anthropic", 1)],
        };
        let snap = ConfigSnapshot::build(&stored);
        let anthropic = snap.provider("claude").unwrap();
        assert_eq!(anthropic.base_url, "https://api.anthropic.com/v1");
        assert_eq!(anthropic.auth, AuthScheme::XApiKey);
        assert!(anthropic.headers.iter().any(|(k, _)| k == "anthropic-version"));
        assert_eq!(anthropic.connections.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(anthropic.models.iter().any(|m| m.id == "extra-model"));
        let ollama = snap.provider("ollama").unwrap();
        assert_eq!(ollama.connections.len(), 1, "keyless providers get an implicit account");
    }

    #[test]
    fn debug_output_never_contains_keys() {
        let c = ResolvedConnection { id: "x".into(), name: "x".into(), api_key: Some("sk-secret".into()) };
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
