//! `GET /api/models/catalog`: every model the gateway knows, by provider (each catalog provider,
//! configured or not, and every custom one), with its type, capabilities, context and prices;
//! plus the combos, which clients use as models too.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::admin::json::ok;
use crate::config::policy::ComboStrategy;
use crate::gateway::call::{Answer, Call};
use crate::providers::{CatalogModel, catalog, find_catalog_provider};
use crate::snapshot::ResolvedProvider;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelCatalog {
    /// By provider id.
    pub catalog: BTreeMap<String, ProviderModels>,
    pub combos: Vec<ComboModelEntry>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderModels {
    /// The provider's display name.
    pub provider: String,
    /// Its wire format (`openai-chat`, `anthropic`, ...).
    pub format: String,
    /// Set up on this gateway (enabled).
    pub configured: bool,
    /// Configured with an account that can serve.
    pub active: bool,
    pub models: Vec<ModelEntry>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelEntry {
    /// `provider/model`, as clients send it.
    pub id: String,
    pub name: String,
    /// `chat` (every model the gateway serves is a chat model).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Added by configuration rather than known to the catalog.
    pub custom: bool,
    /// Only the upstream's own model list names it (model discovery).
    pub discovered: bool,
    pub context_length: Option<u64>,
    pub max_output: Option<u64>,
    /// `tools`, `vision`, `streaming`, `json`, `reasoning`, ...
    pub capabilities: Vec<String>,
    /// USD per million tokens, where the catalog knows them.
    pub pricing: Option<Pricing>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Pricing {
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cached_input: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComboModelEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub strategy: ComboStrategy,
    /// Its targets in order.
    pub models: Vec<String>,
}

/// `origin`: where a model not in the catalog comes from (`None`: the catalog).
fn entry(provider: &str, model: &CatalogModel, origin: Option<Origin>) -> ModelEntry {
    let priced = model.input_price.is_some() || model.output_price.is_some();
    ModelEntry {
        id: format!("{provider}/{}", model.id),
        name: model.id.clone(),
        kind: "chat",
        custom: origin == Some(Origin::Custom),
        discovered: origin == Some(Origin::Discovered),
        context_length: model.context,
        max_output: model.max_output,
        capabilities: model.capabilities.clone(),
        pricing: priced.then_some(Pricing {
            input: model.input_price,
            output: model.output_price,
            cached_input: model.cached_input_price,
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Custom,
    Discovered,
}

fn configured(provider: &ResolvedProvider, catalog_models: &[CatalogModel]) -> ProviderModels {
    let origin = |m: &CatalogModel| {
        if catalog_models.iter().any(|c| c.id == m.id) {
            None
        } else if provider.discovered_models.contains(&m.id) {
            Some(Origin::Discovered)
        } else {
            Some(Origin::Custom)
        }
    };
    ProviderModels {
        provider: provider.name.clone(),
        format: provider.format.as_str().to_owned(),
        configured: true,
        active: !provider.connections.is_empty(),
        models: provider.models.iter().map(|m| entry(&provider.id, m, origin(m))).collect(),
    }
}

/// `GET /api/models/catalog`.
pub async fn list(call: Call<'_>) -> Answer {
    let snapshot = call.gateway.snapshot();
    let mut by_provider = BTreeMap::new();
    for known in catalog() {
        let view = match snapshot.providers().iter().find(|p| p.id == known.id) {
            Some(provider) => configured(provider, &known.models),
            None => ProviderModels {
                provider: known.name.clone(),
                format: known.format.as_str().to_owned(),
                configured: false,
                active: false,
                models: known.models.iter().map(|m| entry(&known.id, m, None)).collect(),
            },
        };
        by_provider.insert(known.id.clone(), view);
    }
    for provider in snapshot.providers() {
        if !by_provider.get(&provider.id).is_some_and(|p| p.configured) {
            let known = find_catalog_provider(&provider.id).map(|e| e.models.as_slice()).unwrap_or_default();
            by_provider.insert(provider.id.clone(), configured(provider, known));
        }
    }
    let combos = snapshot
        .combos()
        .iter()
        .map(|c| ComboModelEntry {
            id: c.name.clone(),
            kind: "combo",
            strategy: c.strategy,
            models: c.targets.iter().map(|t| t.target.clone()).collect(),
        })
        .collect();
    Ok(ok(&ModelCatalog { catalog: by_provider, combos }))
}
