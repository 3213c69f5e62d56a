//! The immutable view the hot path reads: stored records merged with the catalog, indexed by
//! id and alias, plus model aliases, combos and routing settings. Built once per config
//! version and shared behind an `Arc`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::auth::AccessIndex;
use crate::config::aliases::AliasTable;
use crate::config::policy::{AccountSelection, ComboStrategy};
use crate::config::records::{ComboRecord, ComboSettings, RoutingSettings, StoredConfig, TimeoutOverrides};
use crate::config::settings::setting_or_default;
use crate::config::settings::{self, CacheSettings, PricingSettings, ProviderModelsSettings, UsageSettings, keys};
use crate::config::validate::{COMBO_PREFIX, TargetRef};
use crate::providers::pricing::ModelPrice;
use crate::providers::{AuthScheme, CatalogModel, WireFormat, find_catalog_provider};
use crate::rewrite::RequestEdits;

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
    /// Path of the upstream's model list under the base URL; `None` where it has none.
    pub models_path: Option<String>,
    /// Catalog models plus configured ones (hidden ones included: they still route and price).
    pub models: Vec<CatalogModel>,
    /// Model ids hidden over the API: left out of model lists and bare-name routing.
    pub hidden_models: Vec<String>,
    /// Whether the upstream's own model list adds to `models`: it has one (`models_path`) and
    /// the provider row names no `models` of its own.
    pub discovers: bool,
    /// Ids in `models` that only the upstream's list (model discovery) named, in its order.
    pub discovered_models: Vec<String>,
    /// Enabled accounts, lowest priority first.
    pub connections: Vec<ResolvedConnection>,
    pub selection: AccountSelection,
    /// Round-robin: consecutive requests per account (at least 1).
    pub sticky_window: u32,
    /// This provider's own timeouts; unset ones fall back to the global `[timeouts]`.
    pub timeouts: TimeoutOverrides,
}

/// A combo ready to be planned.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedCombo {
    pub name: String,
    pub strategy: ComboStrategy,
    /// In declared order.
    pub targets: Vec<ResolvedComboTarget>,
    pub settings: ComboSettings,
}

/// One target of a combo, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedComboTarget {
    /// As configured (`openai/gpt-4o`, `combo/fast`, `fast`).
    pub target: String,
    pub kind: TargetRef,
    pub weight: u32,
}

/// An account ready to be used.
#[derive(Clone, PartialEq)]
pub struct ResolvedConnection {
    pub id: String,
    pub name: String,
    pub api_key: Option<String>,
}

impl ResolvedProvider {
    /// The models lists show and bare names resolve to: all but the hidden ones.
    pub fn listed_models(&self) -> impl Iterator<Item = &CatalogModel> {
        self.models.iter().filter(|m| !self.hidden_models.contains(&m.id))
    }
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
    aliases: AliasTable,
    combos: Vec<Arc<ResolvedCombo>>,
    combo_index: HashMap<String, usize>,
    routing: RoutingSettings,
    /// Keys, sessions, security settings and the IP filter.
    pub access: AccessIndex,
    /// Every settings document (read through [`ConfigSnapshot::setting`]).
    settings: BTreeMap<String, serde_json::Value>,
    /// Price overrides by `provider/model` (parsed once: cost is computed on every answer).
    price_overrides: HashMap<String, ModelPrice>,
    usage: UsageSettings,
    /// The global system prompt and thinking budget policy, ready for the request path.
    pub request_edits: RequestEdits,
    /// The response cache settings, typed once here for the request path.
    pub cache: CacheSettings,
}

impl ConfigSnapshot {
    pub fn build(stored: &StoredConfig) -> Self {
        let mut snapshot = ConfigSnapshot {
            version: stored.version,
            aliases: AliasTable::build(&stored.aliases),
            routing: stored.routing.clone().unwrap_or_default(),
            access: AccessIndex::build(stored),
            settings: stored.settings.clone(),
            price_overrides: setting_or_default::<PricingSettings>(stored, keys::PRICING)
                .overrides
                .into_iter()
                .collect(),
            usage: setting_or_default(stored, keys::USAGE),
            request_edits: RequestEdits::build(stored),
            cache: cache_settings(stored),
            ..Default::default()
        };
        for record in &stored.combos {
            if !snapshot.combo_index.contains_key(&record.name) {
                snapshot.combo_index.insert(record.name.clone(), snapshot.combos.len());
                snapshot.combos.push(Arc::new(resolve_combo(record)));
            }
        }
        let model_overrides: ProviderModelsSettings = setting_or_default(stored, settings::keys::PROVIDER_MODELS);
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
            let format = record.format.or(entry.map(|e| e.format)).unwrap_or(WireFormat::OpenaiChat);
            // Headers a format's API requires (Anthropic's version) for custom providers too.
            for (k, v) in format.required_headers() {
                if !headers.iter().any(|(existing, _)| existing.eq_ignore_ascii_case(k)) {
                    headers.push(((*k).to_owned(), (*v).to_owned()));
                }
            }
            let mut models: Vec<CatalogModel> = entry.map(|e| e.models.clone()).unwrap_or_default();
            let overrides = model_overrides.providers.get(&record.id);
            let custom = overrides.map(|o| o.custom.as_slice()).unwrap_or_default();
            let configured = record.models.iter().map(|id| (id, None, None));
            for (id, context, max_output) in
                configured.chain(custom.iter().map(|m| (&m.id, m.context_window, m.max_output_tokens)))
            {
                if !models.iter().any(|m| &m.id == id) {
                    models.push(CatalogModel { context, max_output, ..CatalogModel::named(id) });
                }
            }
            // A record's own path wins; a catalog entry of the same format gives its paths; else
            // the format's documented ones.
            let catalog_paths = entry.filter(|e| e.format == format);
            let models_path = match catalog_paths {
                Some(e) => e.models_path.clone(),
                None => Some(format.default_models_path().into()),
            };
            let discovers = record.models.is_empty() && models_path.is_some();
            let mut discovered_models = Vec::new();
            for found in
                stored.discovered.get(&record.id).filter(|_| discovers).map(|d| d.models.as_slice()).unwrap_or_default()
            {
                if !models.iter().any(|m| m.id == found.id) {
                    models.push(CatalogModel::named(&found.id));
                    discovered_models.push(found.id.clone());
                }
            }
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
                models_path,
                models,
                hidden_models: overrides.map(|o| o.hidden.clone()).unwrap_or_default(),
                discovers,
                discovered_models,
                connections,
                selection: record.selection,
                sticky_window: record.sticky_window.unwrap_or(1).max(1),
                timeouts: record.timeouts,
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

    /// Model aliases (exact, then globs in order): `aliases().alias_for(model)`.
    pub fn aliases(&self) -> &AliasTable {
        &self.aliases
    }

    /// A combo by name or `combo/<name>`.
    pub fn combo(&self, name: &str) -> Option<&Arc<ResolvedCombo>> {
        let name = name.strip_prefix(COMBO_PREFIX).unwrap_or(name);
        let index = match self.combo_index.get(name) {
            Some(index) => *index,
            None => *self.combo_index.get(&name.to_ascii_lowercase())?,
        };
        self.combos.get(index)
    }

    /// Every combo, in stored order.
    pub fn combos(&self) -> &[Arc<ResolvedCombo>] {
        &self.combos
    }

    /// Routing and resilience settings (the defaults when none are stored).
    pub fn routing(&self) -> &RoutingSettings {
        &self.routing
    }

    /// The price of `model` at `provider` (its id): the override when there is one, else the
    /// catalog's; `None` when neither knows it.
    pub fn price(&self, provider: &str, model: &str) -> Option<ModelPrice> {
        if !self.price_overrides.is_empty()
            && let Some(price) = self.price_overrides.get(&format!("{provider}/{model}"))
        {
            return Some(*price);
        }
        self.provider(provider)?.models.iter().find(|m| m.id == model).and_then(ModelPrice::of)
    }

    /// Usage accounting settings (retention, request logging).
    pub fn usage_settings(&self) -> UsageSettings {
        self.usage
    }

    /// A settings document in its typed form, its defaults when unset (not for the hot path:
    /// it deserializes on every call).
    pub fn setting<T: serde::de::DeserializeOwned + Default>(&self, key: &str) -> T {
        self.settings.get(key).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
    }
}

/// The stored cache document, or the defaults when there is none or it is out of range (a
/// hand-edited row; the API and the file sync refuse such documents).
fn cache_settings(stored: &StoredConfig) -> CacheSettings {
    let Some(value) = stored.settings.get(keys::CACHE) else { return CacheSettings::default() };
    match serde_json::from_value::<CacheSettings>(value.clone()) {
        Ok(settings) => match settings.check() {
            Ok(()) => settings,
            Err(e) => {
                tracing::error!(field = e.field, error = %e.message, "stored cache settings are out of range; using the defaults");
                CacheSettings::default()
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "stored cache settings cannot be read; using the defaults");
            CacheSettings::default()
        }
    }
}

fn resolve_combo(record: &ComboRecord) -> ResolvedCombo {
    let targets = record
        .targets
        .iter()
        .filter_map(|t| match TargetRef::parse(&t.target) {
            Ok(kind) => Some(ResolvedComboTarget { target: t.target.clone(), kind, weight: t.weight }),
            Err(e) => {
                // Validation refuses these before they are stored; a hand-edited row is skipped.
                tracing::warn!(combo = %record.name, error = %e, "skipping an invalid combo target");
                None
            }
        })
        .collect();
    ResolvedCombo { name: record.name.clone(), strategy: record.strategy, targets, settings: record.settings }
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
            selection: Default::default(),
            sticky_window: None,
            timeouts: Default::default(),
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
            ..Default::default()
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
    fn declared_routing_reaches_the_snapshot() {
        let file = crate::config::FileConfig::parse(
            r#"
            [routing]
            default_model = "combo/fast"
            max_wait_ms = 2000
            [resilience]
            open_ms = 1000
            [[providers]]
            id = "mycorp"
            base_url = "http://127.0.0.1:1/v1"
            models = ["llama-3"]
            selection = "round-robin"
            sticky_window = 4
            timeouts = { first_byte_ms = 900 }
            [[aliases]]
            pattern = "gpt-4*"
            target = "openai/gpt-4o"
            [[aliases]]
            pattern = "gpt-4o-mini"
            target = "fast"
            [[combos]]
            name = "fast"
            strategy = "weighted"
            targets = ["mycorp/llama-3", "groq/llama-3.1-8b-instant"]
            weights = [3, 1]
            retries = 2
            [[combos]]
            name = "best"
            targets = ["openai/gpt-4o", "combo/fast"]
            "#,
        )
        .unwrap();
        let declared = crate::config::declare(Some(&file), &|_| None).unwrap();
        let snap = ConfigSnapshot::build(&StoredConfig {
            version: 1,
            providers: declared.providers,
            connections: declared.connections,
            aliases: declared.aliases,
            combos: declared.combos,
            routing: declared.routing,
            ..Default::default()
        });
        assert_eq!(snap.aliases().alias_for("gpt-4o-mini"), Some("fast"), "exact beats glob");
        assert_eq!(snap.aliases().alias_for("gpt-4-turbo"), Some("openai/gpt-4o"));
        let fast = snap.combo("combo/fast").unwrap();
        assert_eq!(fast.strategy, ComboStrategy::Weighted);
        assert_eq!(fast.settings.retries, 2);
        assert_eq!(fast.targets.iter().map(|t| t.weight).collect::<Vec<_>>(), [3, 1]);
        assert_eq!(fast.targets[0].kind, TargetRef::Model { provider: "mycorp".into(), model: "llama-3".into() });
        let best = snap.combo("best").unwrap();
        assert_eq!(best.strategy, ComboStrategy::Priority);
        assert_eq!(best.targets[1].kind, TargetRef::Combo("fast".into()));
        assert_eq!(snap.combos().len(), 2);
        assert!(snap.combo("slow").is_none());
        assert_eq!(snap.routing().default_model.as_deref(), Some("combo/fast"));
        assert_eq!(snap.routing().max_wait_ms, 2000);
        assert_eq!(snap.routing().breaker.open_ms, 1000);
        assert_eq!(snap.routing().breaker.failure_threshold, 5, "unset keys keep their defaults");
        assert_eq!(snap.routing().retryable_statuses, [408, 429, 500, 502, 503, 504, 529]);
        let mycorp = snap.provider("mycorp").unwrap();
        assert_eq!((mycorp.selection, mycorp.sticky_window), (AccountSelection::RoundRobin, 4));
        assert_eq!(mycorp.timeouts.first_byte_ms, Some(900));
        assert_eq!(mycorp.timeouts.total_ms, None);
    }

    #[test]
    fn unset_routing_means_defaults() {
        let snap = ConfigSnapshot::build(&StoredConfig {
            providers: vec![provider("ollama", Some("ollama"))],
            ..Default::default()
        });
        assert_eq!(snap.routing(), &RoutingSettings::default());
        assert!(snap.aliases().is_empty() && snap.combos().is_empty());
        let ollama = snap.provider("ollama").unwrap();
        assert_eq!((ollama.selection, ollama.sticky_window), (AccountSelection::FillFirst, 1));
    }

    #[test]
    fn custom_providers_get_the_headers_their_format_requires_and_hidden_models_stay_unlisted() {
        let mut custom = provider("mycorp", None);
        custom.format = Some(WireFormat::Anthropic);
        let mut pinned = provider("pinned", None);
        pinned.format = Some(WireFormat::Anthropic);
        pinned.headers.insert("Anthropic-Version".into(), "2024-01-01".into());
        let settings = BTreeMap::from([(
            settings::keys::PROVIDER_MODELS.to_owned(),
            serde_json::json!({ "providers": { "mycorp": { "custom": [{ "id": "tuned", "contextWindow": 9 }], "hidden": ["extra-model"] } } }),
        )]);
        let snap =
            ConfigSnapshot::build(&StoredConfig { providers: vec![custom, pinned], settings, ..Default::default() });
        let mycorp = snap.provider("mycorp").unwrap();
        assert!(mycorp.headers.contains(&("anthropic-version".into(), "2023-06-01".into())));
        assert_eq!(mycorp.models_path.as_deref(), Some("/models"));
        let listed: Vec<&str> = mycorp.listed_models().map(|m| m.id.as_str()).collect();
        assert_eq!(listed, ["tuned"], "hidden models are not listed");
        assert_eq!(mycorp.models.iter().find(|m| m.id == "tuned").unwrap().context, Some(9));
        assert!(mycorp.models.iter().any(|m| m.id == "extra-model"), "hidden models still route");
        let versions: Vec<_> = snap
            .provider("pinned")
            .unwrap()
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("anthropic-version"))
            .collect();
        assert_eq!(versions.len(), 1, "a configured version wins");
    }

    #[test]
    fn debug_output_never_contains_keys() {
        let c = ResolvedConnection { id: "x".into(), name: "x".into(), api_key: Some("sk-secret".into()) };
        assert!(!format!("{c:?}").contains("sk-secret"));
    }

    #[test]
    fn discovered_models_add_to_providers_without_models_of_their_own() {
        use crate::config::{DiscoveredModel, DiscoveredModels};
        let found = |ids: &[&str]| DiscoveredModels {
            models: ids.iter().map(|id| DiscoveredModel { id: (*id).into(), name: None }).collect(),
            fetched_ms: 1,
        };
        let mut open = provider("open", None);
        open.models.clear();
        let mut catalog = provider("openai", Some("openai"));
        catalog.models.clear();
        let pinned = provider("pinned", None);
        let settings = BTreeMap::from([(
            settings::keys::PROVIDER_MODELS.to_owned(),
            serde_json::json!({ "providers": { "open": { "hidden": ["secret"] } } }),
        )]);
        let snap = ConfigSnapshot::build(&StoredConfig {
            providers: vec![open, catalog, pinned],
            settings,
            discovered: BTreeMap::from([
                ("open".to_owned(), found(&["a", "secret", "b"])),
                ("openai".to_owned(), found(&["gpt-4o-mini", "gpt-new"])),
                ("pinned".to_owned(), found(&["ignored"])),
            ]),
            ..Default::default()
        });
        let open = snap.provider("open").unwrap();
        assert!(open.discovers);
        assert_eq!(open.listed_models().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["a", "b"], "hidden stay hidden");
        assert_eq!(open.discovered_models, ["a", "secret", "b"]);
        let openai = snap.provider("openai").unwrap();
        assert_eq!(openai.discovered_models, ["gpt-new"], "catalog models keep their catalog data");
        assert!(openai.listed_models().any(|m| m.id == "gpt-new"));
        let pinned = snap.provider("pinned").unwrap();
        assert!(!pinned.discovers && pinned.discovered_models.is_empty(), "configured models turn discovery off");
        assert!(!pinned.models.iter().any(|m| m.id == "ignored"));
    }
}
