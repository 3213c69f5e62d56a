//! Phase 3, resolve: the client's model string → the provider to call and the upstream model.
//! Today `provider/model` (id or alias), or a bare model that exactly one provider lists.

use std::sync::Arc;

use crate::error::GatewayError;
use crate::snapshot::{ConfigSnapshot, ResolvedProvider};

/// Where a request goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub provider: Arc<ResolvedProvider>,
    /// The model name the upstream expects (prefix removed).
    pub model: String,
}

pub fn resolve(snapshot: &ConfigSnapshot, model: &str) -> Result<Target, GatewayError> {
    if let Some((prefix, rest)) = model.split_once('/')
        && let Some(provider) = snapshot.provider(prefix)
    {
        if rest.is_empty() {
            return Err(GatewayError::InvalidRequest(format!(
                "model '{model}' names no model after the provider prefix"
            )));
        }
        return Ok(Target { provider: provider.clone(), model: rest.to_owned() });
    }
    // A bare name (or one whose slash belongs to the model, like `meta-llama/...`) is served
    // by the first configured provider that lists it (hidden models are not listed).
    if let Some(provider) = snapshot.providers().iter().find(|p| p.listed_models().any(|m| m.id == model)) {
        return Ok(Target { provider: provider.clone(), model: model.to_owned() });
    }
    if snapshot.is_empty() {
        return Err(GatewayError::UnknownProvider(format!(
            "no provider is configured, so model '{model}' cannot be served; set e.g. OPENAI_API_KEY or add a [[providers]] entry to omniroute.toml"
        )));
    }
    match model.split_once('/') {
        Some((prefix, _)) => Err(GatewayError::UnknownProvider(format!(
            "unknown provider '{prefix}' in model '{model}'; configured providers: {}",
            configured(snapshot)
        ))),
        None => Err(GatewayError::UnknownModel(format!(
            "model '{model}' is not known; use '<provider>/<model>' with one of: {}",
            configured(snapshot)
        ))),
    }
}

fn configured(snapshot: &ConfigSnapshot) -> String {
    snapshot.providers().iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConnectionRecord, ProviderRecord, StoredConfig};

    fn snapshot() -> ConfigSnapshot {
        let provider = |id: &str, catalog: Option<&str>, models: Vec<String>| ProviderRecord {
            id: id.into(),
            source: "config".into(),
            catalog_id: catalog.map(Into::into),
            name: None,
            format: None,
            base_url: Some("http://127.0.0.1:1".into()),
            auth: None,
            headers: Default::default(),
            chat_path: None,
            api_version: None,
            models,
            enabled: true,
            selection: Default::default(),
            sticky_window: None,
            timeouts: Default::default(),
        };
        ConfigSnapshot::build(&StoredConfig {
            version: 1,
            providers: vec![
                provider("openai", Some("openai"), vec![]),
                provider("mycorp", None, vec!["meta-llama/Llama-3".into()]),
            ],
            connections: vec![ConnectionRecord {
                id: "openai:a".into(),
                provider_id: "openai".into(),
                source: "config".into(),
                name: "a".into(),
                api_key: Some("k".into()),
                priority: 0,
                enabled: true,
            }],
            ..Default::default()
        })
    }

    #[test]
    fn prefixed_aliased_and_bare_models_resolve() {
        let snap = snapshot();
        let t = resolve(&snap, "openai/gpt-4o").unwrap();
        assert_eq!((t.provider.id.as_str(), t.model.as_str()), ("openai", "gpt-4o"));
        assert_eq!(resolve(&snap, "oai/gpt-4o").unwrap().provider.id, "openai");
        assert_eq!(resolve(&snap, "gpt-5-mini").unwrap().provider.id, "openai", "catalog models resolve bare");
        let t = resolve(&snap, "meta-llama/Llama-3").unwrap();
        assert_eq!((t.provider.id.as_str(), t.model.as_str()), ("mycorp", "meta-llama/Llama-3"));
    }

    #[test]
    fn a_name_only_discovery_knows_resolves_bare() {
        use crate::config::{DiscoveredModel, DiscoveredModels};
        let mut stored = StoredConfig::default();
        let mut local = ProviderRecord::bare("local", "config", None);
        local.base_url = Some("http://127.0.0.1:1/v1".into());
        local.auth = Some(crate::providers::AuthScheme::None);
        stored.providers.push(local);
        let models =
            DiscoveredModels { models: vec![DiscoveredModel { id: "found".into(), name: None }], fetched_ms: 1 };
        stored.discovered.insert("local".into(), models);
        let t = resolve(&ConfigSnapshot::build(&stored), "found").unwrap();
        assert_eq!((t.provider.id.as_str(), t.model.as_str()), ("local", "found"));
        assert!(matches!(resolve(&ConfigSnapshot::default(), "found"), Err(GatewayError::UnknownProvider(_))));
    }

    #[test]
    fn unknown_names_are_clear_400s() {
        let snap = snapshot();
        let err = resolve(&snap, "nope/gpt-4o").unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("unknown provider 'nope'"));
        assert!(matches!(resolve(&snap, "mystery"), Err(GatewayError::UnknownModel(_))));
        assert!(matches!(resolve(&snap, "openai/"), Err(GatewayError::InvalidRequest(_))));
    }
}
