//! `/api/provider-models`: models added to a provider over the API, and hiding/showing any of a
//! provider's models. Both live in the `provider_models` settings document (so they survive
//! the start-up sync of config-file providers). A hidden model leaves `/v1/models`, the Gemini
//! and Ollama lists and bare-name routing, but `provider/model` still reaches the upstream.

use serde::{Deserialize, Serialize};

use crate::admin::commit::stored;
use crate::admin::commit::{Change, commit};
use crate::admin::json::{created, invalid, ok, parse};
use crate::admin::provider_rows::{ProviderRef, check_model_id, check_name, find_provider, provider_models};
use crate::admin::query::query_value;
use crate::config::settings::keys::PROVIDER_MODELS;
use crate::config::settings::{CustomModel, ProviderModelsSettings};
use crate::config::{ConfigChange, StoredConfig};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::providers::find_catalog_provider;

/// A custom model as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelView {
    pub provider: String,
    pub id: String,
    pub name: Option<String>,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub is_hidden: bool,
}

/// One of a provider's models, wherever it comes from.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KnownModel {
    pub id: String,
    /// `catalog`, `config` (the provider row's `models`), `custom` (added here) or `discovered`
    /// (only the upstream's own model list names it).
    pub source: &'static str,
    pub is_hidden: bool,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelList {
    /// Custom models (of `?provider=` only, when given).
    pub models: Vec<ModelView>,
    /// Hidden model ids by provider.
    pub hidden_models_by_provider: std::collections::BTreeMap<String, Vec<String>>,
    /// With `?provider=`: every model of that provider, hidden ones marked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_models: Option<Vec<KnownModel>>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelOne {
    pub model: ModelView,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HiddenUpdate {
    pub ok: bool,
    pub provider: String,
    pub updated: usize,
    /// The provider's hidden model ids after the change.
    pub hidden: Vec<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelDeleted {
    pub deleted: bool,
    pub provider: String,
    pub id: String,
}

/// `POST`: a model to add.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AddModel {
    /// A configured provider id, or a catalog id or alias.
    pub provider: String,
    /// The upstream's model id.
    pub model_id: String,
    /// A display name (the seed's `modelName`).
    #[serde(alias = "modelName")]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub context_window: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_output_tokens: Option<u64>,
}

/// `PATCH`: hide or show models (`provider`/`modelId` may come as query parameters instead).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HideModels {
    pub provider: Option<String>,
    pub model_id: Option<String>,
    pub model_ids: Option<Vec<String>>,
    pub is_hidden: Option<bool>,
}

const MAX_IDS: usize = 1000;

/// Every model id the provider has, with where it comes from (`discovered`: only its
/// upstream's own list names it, see [`crate::admin::model_discovery`]).
fn known_models(
    stored: &StoredConfig,
    doc: &ProviderModelsSettings,
    provider: &ProviderRef<'_>,
) -> Vec<(String, &'static str)> {
    let (catalog, configured) = match provider {
        ProviderRef::Configured(record) => {
            (record.catalog_id.as_deref().and_then(find_catalog_provider), record.models.clone())
        }
        ProviderRef::Catalog(entry) => (Some(*entry), Vec::new()),
    };
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let mut push = |id: &str, source| {
        if !out.iter().any(|(known, _)| known == id) {
            out.push((id.to_owned(), source));
        }
    };
    for m in catalog.map(|e| e.models.as_slice()).unwrap_or_default() {
        push(&m.id, "catalog");
    }
    for id in &configured {
        push(id, "config");
    }
    for m in doc.providers.get(provider.id()).map(|o| o.custom.as_slice()).unwrap_or_default() {
        push(&m.id, "custom");
    }
    // As the snapshot merges them: only for a provider that names no models of its own.
    if configured.is_empty() && matches!(provider, ProviderRef::Configured(_)) {
        for id in stored.discovered.get(provider.id()).into_iter().flat_map(|d| d.ids()) {
            push(id, "discovered");
        }
    }
    out
}

fn model_view(provider: &str, model: &CustomModel, hidden: &[String]) -> ModelView {
    ModelView {
        provider: provider.to_owned(),
        id: model.id.clone(),
        name: model.name.clone(),
        context_window: model.context_window,
        max_output_tokens: model.max_output_tokens,
        is_hidden: hidden.contains(&model.id),
    }
}

fn provider_of<'a>(stored: &'a StoredConfig, field: &str, name: &str) -> Result<ProviderRef<'a>, GatewayError> {
    find_provider(stored, name.trim())
        .ok_or_else(|| invalid(field, format!("'{name}' is neither a configured provider nor in the catalog")))
}

/// The provider models document as a change to store.
pub(crate) fn setting_change(doc: &ProviderModelsSettings) -> Result<ConfigChange, GatewayError> {
    let value = serde_json::to_value(doc)
        .map_err(|e| GatewayError::internal("cannot encode the provider models document", e))?;
    Ok(ConfigChange::PutSetting { key: PROVIDER_MODELS.into(), value })
}

pub async fn list(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let query = call.query();
    let stored = stored(gateway).await?;
    let doc = provider_models(&stored);
    let only = query_value(query, "provider").map(|p| provider_of(&stored, "provider", &p)).transpose()?;
    let only_id = only.as_ref().map(|p| p.id().to_owned());
    let mut models = Vec::new();
    let mut hidden_models_by_provider = std::collections::BTreeMap::new();
    for (provider, overrides) in &doc.providers {
        if only_id.as_ref().is_some_and(|id| id != provider) {
            continue;
        }
        models.extend(overrides.custom.iter().map(|m| model_view(provider, m, &overrides.hidden)));
        if !overrides.hidden.is_empty() {
            hidden_models_by_provider.insert(provider.clone(), overrides.hidden.clone());
        }
    }
    let all_models = only.as_ref().map(|provider| {
        let hidden = doc.providers.get(provider.id()).map(|o| o.hidden.clone()).unwrap_or_default();
        known_models(&stored, &doc, provider)
            .into_iter()
            .map(|(id, source)| KnownModel { is_hidden: hidden.contains(&id), id, source })
            .collect()
    });
    Ok(ok(&ModelList { models, hidden_models_by_provider, all_models }))
}

pub async fn add(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let input: AddModel = parse(&call.body_bytes().await?)?;
    let stored = stored(gateway).await?;
    let provider = provider_of(&stored, "provider", &input.provider)?;
    let model_id = input.model_id.trim().to_owned();
    check_model_id("modelId", &model_id)?;
    let name = input.name.as_deref().map(|n| check_name("name", n)).transpose()?;
    for (field, value) in [("contextWindow", input.context_window), ("maxOutputTokens", input.max_output_tokens)] {
        if value == Some(0) {
            return Err(invalid(field, "must be greater than 0"));
        }
    }
    let mut doc = provider_models(&stored);
    // A discovered model may be added: the custom entry pins it (and its limits) should the
    // upstream stop listing it.
    if let Some((_, source)) = known_models(&stored, &doc, &provider)
        .into_iter()
        .find(|(id, source)| *id == model_id && *source != "discovered")
    {
        return Err(GatewayError::Conflict(format!(
            "provider '{}' has model '{model_id}' already ({source})",
            provider.id()
        )));
    }
    let provider_id = provider.id().to_owned();
    let model = CustomModel {
        id: model_id,
        name,
        context_window: input.context_window,
        max_output_tokens: input.max_output_tokens,
    };
    let overrides = doc.providers.entry(provider_id.clone()).or_default();
    overrides.custom.push(model.clone());
    let shown = model_view(&provider_id, &model, &overrides.hidden);
    let after = serde_json::to_value(&shown).ok();
    let target = format!("{provider_id}/{}", model.id);
    commit(
        gateway,
        ctx,
        Change { action: "model.create", target, before: None, after, changes: vec![setting_change(&doc)?] },
    )
    .await?;
    Ok(created(&ModelOne { model: shown }))
}

pub async fn hide(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let query = call.query();
    let input: HideModels = parse(&call.body_bytes().await?)?;
    let stored = stored(gateway).await?;
    let Some(name) = input.provider.clone().or_else(|| query_value(query, "provider")) else {
        return Err(invalid("provider", "is required (in the body or as ?provider=)"));
    };
    let provider = provider_of(&stored, "provider", &name)?;
    let Some(is_hidden) = input.is_hidden else { return Err(invalid("isHidden", "is required (true or false)")) };
    let mut ids: Vec<(String, String)> = Vec::new();
    for (i, id) in input.model_ids.unwrap_or_default().into_iter().enumerate() {
        ids.push((format!("modelIds[{i}]"), id));
    }
    if let Some(id) = input.model_id.or_else(|| query_value(query, "modelId")) {
        ids.push(("modelId".into(), id));
    }
    if ids.is_empty() {
        return Err(invalid("modelIds", "name at least one model (modelIds, modelId or ?modelId=)"));
    }
    if ids.len() > MAX_IDS {
        return Err(invalid("modelIds", format!("at most {MAX_IDS} at once")));
    }
    let mut doc = provider_models(&stored);
    let known = known_models(&stored, &doc, &provider);
    for (field, id) in &ids {
        if !known.iter().any(|(k, _)| k == id) {
            return Err(invalid(field, format!("'{id}' is not a model of provider '{}'", provider.id())));
        }
    }
    let provider_id = provider.id().to_owned();
    let before = doc.providers.get(&provider_id).map(|o| o.hidden.clone()).unwrap_or_default();
    let overrides = doc.providers.entry(provider_id.clone()).or_default();
    for (_, id) in &ids {
        overrides.hidden.retain(|h| h != id);
        if is_hidden {
            overrides.hidden.push(id.clone());
        }
    }
    let hidden = overrides.hidden.clone();
    if overrides.custom.is_empty() && overrides.hidden.is_empty() {
        doc.providers.remove(&provider_id);
    }
    let change = Change {
        action: if is_hidden { "model.hide" } else { "model.show" },
        target: provider_id.clone(),
        before: Some(serde_json::json!({ "hidden": before })),
        after: Some(serde_json::json!({ "hidden": hidden })),
        changes: vec![setting_change(&doc)?],
    };
    commit(gateway, ctx, change).await?;
    Ok(ok(&HiddenUpdate { ok: true, provider: provider_id, updated: ids.len(), hidden }))
}

/// `DELETE ?provider=<id>&model=<id>` (or `modelId=`): removes a custom model.
pub async fn remove(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let query = call.query();
    let stored = stored(gateway).await?;
    let Some(name) = query_value(query, "provider") else {
        return Err(invalid("provider", "is required (?provider=)"));
    };
    let Some(model_id) = query_value(query, "model").or_else(|| query_value(query, "modelId")) else {
        return Err(invalid("model", "is required (?model=)"));
    };
    let provider = provider_of(&stored, "provider", &name)?;
    let provider_id = provider.id().to_owned();
    let mut doc = provider_models(&stored);
    let overrides = doc.providers.entry(provider_id.clone()).or_default();
    let Some(position) = overrides.custom.iter().position(|m| m.id == model_id) else {
        return Err(GatewayError::NotFound(format!("custom model '{model_id}' of provider '{provider_id}'")));
    };
    let removed = overrides.custom.remove(position);
    let before = serde_json::to_value(model_view(&provider_id, &removed, &overrides.hidden)).ok();
    overrides.hidden.retain(|h| *h != model_id);
    if overrides.custom.is_empty() && overrides.hidden.is_empty() {
        doc.providers.remove(&provider_id);
    }
    let target = format!("{provider_id}/{model_id}");
    commit(
        gateway,
        ctx,
        Change { action: "model.delete", target, before, after: None, changes: vec![setting_change(&doc)?] },
    )
    .await?;
    Ok(ok(&ModelDeleted { deleted: true, provider: provider_id, id: model_id }))
}
