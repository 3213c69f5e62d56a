//! `/api/provider-nodes`: providers themselves. A custom provider (any of our wire formats at
//! its own base URL) or an override of a catalog provider (base URL, headers, paths, ...). The
//! id is the model prefix. Base URLs pass the SSRF guard; secret-looking header values are
//! masked. Nodes declared by the config file are listed read-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit, stored};
use crate::admin::json::{created, double_option, invalid, ok, parse};
use crate::admin::provider_models::setting_change;
use crate::admin::provider_rows::{
    ProviderRef, catalog_record, check_base_url, check_headers, check_model_id, check_name, check_path, find_provider,
    new_record, provider_models, resolve_for_probe, shown_headers,
};
use crate::admin::targets::refuse_declared;
use crate::config::policy::AccountSelection;
use crate::config::validate::COMBO_PREFIX;
use crate::config::{API_SOURCE, ConfigChange, ProviderRecord, StoredConfig, TimeoutOverrides};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::gateway::call::{Answer, Call};
use crate::providers::{AuthScheme, WireFormat, find_catalog_provider};

/// Per-provider timeouts in milliseconds (unset: the global ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeTimeouts {
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub connect_ms: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub first_byte_ms: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub idle_ms: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub total_ms: Option<u64>,
}

impl From<TimeoutOverrides> for NodeTimeouts {
    fn from(t: TimeoutOverrides) -> Self {
        NodeTimeouts {
            connect_ms: t.connect_ms,
            first_byte_ms: t.first_byte_ms,
            idle_ms: t.idle_ms,
            total_ms: t.total_ms,
        }
    }
}

/// What the gateway will really call, catalog defaults filled in.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    pub name: String,
    pub format: String,
    pub base_url: String,
    pub auth: String,
    pub chat_path: String,
}

/// A provider as the API shows it: its own settings (`null`: the catalog's) and the result.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    /// The model prefix (`<id>/<model>`).
    pub id: String,
    /// The catalog entry it overrides; `null` for a custom provider.
    pub catalog_id: Option<String>,
    pub name: Option<String>,
    pub format: Option<String>,
    pub base_url: Option<String>,
    pub auth: Option<String>,
    /// Secret-looking values (authorization, *key*, *token*) masked to their last four.
    pub headers: BTreeMap<String, String>,
    pub chat_path: Option<String>,
    pub api_version: Option<String>,
    /// Models served besides the catalog's.
    pub models: Vec<String>,
    pub is_active: bool,
    pub selection: String,
    pub sticky_window: Option<u32>,
    pub timeouts: NodeTimeouts,
    /// Its accounts (`/api/providers?provider=<id>`).
    pub accounts: usize,
    pub source: String,
    pub read_only: bool,
    pub effective: Option<Effective>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeList {
    pub nodes: Vec<NodeView>,
    pub total: usize,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeOne {
    pub node: NodeView,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeDeleted {
    pub deleted: bool,
    pub id: String,
    /// Accounts removed with it.
    pub accounts: usize,
}

/// Create (`id` required) or update (absent fields keep their value; `null` clears an
/// override, so the catalog's value applies again).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeInput {
    /// A catalog id/alias (an override) or a new id (a custom provider); the seed's `prefix`.
    #[serde(alias = "prefix")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9._-]{1,64}$"))]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    /// `openai-chat` (default for custom providers), `openai-responses`, `anthropic`, `gemini`, `ollama`.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<WireFormat>))]
    pub format: Option<Option<WireFormat>>,
    /// Required for a custom provider.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub base_url: Option<Option<String>>,
    /// `bearer`, `x-api-key`, `x-goog-api-key`, `api-key`, `query`, `none`.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AuthScheme>))]
    pub auth: Option<Option<AuthScheme>>,
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = r"^/[!-~]{0,511}$"))]
    pub chat_path: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub api_version: Option<Option<String>>,
    pub models: Option<Vec<String>>,
    pub is_active: Option<bool>,
    pub selection: Option<AccountSelection>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1))]
    pub sticky_window: Option<Option<u32>>,
    pub timeouts: Option<NodeTimeouts>,
}

const MAX_MODELS: usize = 1000;

fn enum_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub fn view(stored: &StoredConfig, record: &ProviderRecord) -> NodeView {
    let effective = resolve_for_probe(stored, record, None).map(|p| Effective {
        name: p.name.clone(),
        format: p.format.as_str().to_owned(),
        base_url: p.base_url.clone(),
        auth: enum_name(&p.auth),
        chat_path: p.chat_path.clone(),
    });
    NodeView {
        id: record.id.clone(),
        catalog_id: record.catalog_id.clone(),
        name: record.name.clone(),
        format: record.format.map(|f| f.as_str().to_owned()),
        base_url: record.base_url.clone(),
        auth: record.auth.map(|a| enum_name(&a)),
        headers: shown_headers(&record.headers),
        chat_path: record.chat_path.clone(),
        api_version: record.api_version.clone(),
        models: record.models.clone(),
        is_active: record.enabled,
        selection: enum_name(&record.selection),
        sticky_window: record.sticky_window,
        timeouts: record.timeouts.into(),
        accounts: stored.connections.iter().filter(|c| c.provider_id == record.id).count(),
        source: record.source.clone(),
        read_only: record.source != API_SOURCE,
        effective,
    }
}

fn find<'a>(stored: &'a StoredConfig, id: &str) -> Result<&'a ProviderRecord, GatewayError> {
    match find_provider(stored, id) {
        Some(ProviderRef::Configured(record)) => Ok(record),
        _ => Err(GatewayError::NotFound(format!("provider node '{id}'"))),
    }
}

/// A custom provider's id: the model prefix clients will type.
fn check_new_id(id: &str) -> Result<String, GatewayError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(invalid("id", "must be 1-64 characters of a-z, 0-9, '-', '_' or '.'"));
    }
    if id == COMBO_PREFIX.trim_end_matches('/') {
        return Err(invalid("id", "'combo' is reserved for `combo/<name>` model names"));
    }
    Ok(id.to_owned())
}

impl NodeInput {
    /// Applies the fields to `record`, checking each.
    pub(crate) fn apply(self, gateway: &Gateway, record: &mut ProviderRecord) -> Result<(), GatewayError> {
        if let Some(name) = self.name {
            record.name = name.map(|n| check_name("name", &n)).transpose()?;
        }
        if let Some(format) = self.format {
            record.format = format;
        }
        if let Some(url) = self.base_url {
            record.base_url = url.map(|u| check_base_url(gateway, "baseUrl", &u)).transpose()?;
        }
        if let Some(auth) = self.auth {
            record.auth = auth;
        }
        if let Some(headers) = self.headers {
            record.headers = check_headers("headers", headers, &record.headers)?;
        }
        if let Some(path) = self.chat_path {
            record.chat_path = path.map(|p| check_path("chatPath", &p)).transpose()?;
        }
        if let Some(version) = self.api_version {
            let ok = |v: &str| {
                !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            };
            record.api_version = match version {
                Some(v) if !ok(&v) => {
                    return Err(invalid("apiVersion", "must be 1-64 of letters, digits, '-', '_', '.'"));
                }
                v => v,
            };
        }
        if let Some(models) = self.models {
            if models.len() > MAX_MODELS {
                return Err(invalid("models", format!("at most {MAX_MODELS} entries")));
            }
            for (i, id) in models.iter().enumerate() {
                check_model_id(&format!("models[{i}]"), id)?;
            }
            record.models = models;
        }
        if let Some(active) = self.is_active {
            record.enabled = active;
        }
        if let Some(selection) = self.selection {
            record.selection = selection;
        }
        if let Some(window) = self.sticky_window {
            if window == Some(0) {
                return Err(invalid("stickyWindow", "must be at least 1 (or null)"));
            }
            record.sticky_window = window;
        }
        if let Some(t) = self.timeouts {
            for (field, value) in [
                ("connectMs", t.connect_ms),
                ("firstByteMs", t.first_byte_ms),
                ("idleMs", t.idle_ms),
                ("totalMs", t.total_ms),
            ] {
                if value == Some(0) {
                    return Err(invalid(&format!("timeouts.{field}"), "must be greater than 0 (or null)"));
                }
            }
            record.timeouts = TimeoutOverrides {
                connect_ms: t.connect_ms,
                first_byte_ms: t.first_byte_ms,
                idle_ms: t.idle_ms,
                total_ms: t.total_ms,
            };
        }
        if record.catalog_id.is_none() && record.base_url.is_none() {
            return Err(invalid("baseUrl", "is required for a provider that is not in the catalog"));
        }
        Ok(())
    }
}

/// `GET /api/provider-nodes`.
pub async fn list(call: Call<'_>) -> Answer {
    let stored = stored(call.gateway).await?;
    let nodes: Vec<NodeView> = stored.providers.iter().map(|p| view(&stored, p)).collect();
    Ok(ok(&NodeList { total: nodes.len(), nodes }))
}

/// `GET /api/provider-nodes/{id}`.
pub async fn get(call: Call<'_>) -> Answer {
    let stored = stored(call.gateway).await?;
    Ok(ok(&NodeOne { node: view(&stored, find(&stored, &call.decoded_param("id"))?) }))
}

pub async fn create(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let mut input: NodeInput = parse(&call.body_bytes().await?)?;
    let stored = stored(gateway).await?;
    let Some(requested) = input.id.take() else { return Err(invalid("id", "is required")) };
    let requested = requested.trim().to_owned();
    let mut record = match find_provider(&stored, &requested) {
        Some(ProviderRef::Configured(existing)) => {
            return Err(GatewayError::Conflict(format!(
                "provider '{}' exists already; change it with PUT /api/provider-nodes/{}",
                existing.id, existing.id
            )));
        }
        Some(ProviderRef::Catalog(entry)) => catalog_record(entry),
        None => ProviderRecord { format: Some(WireFormat::OpenaiChat), ..new_record(&check_new_id(&requested)?, None) },
    };
    input.apply(gateway, &mut record)?;
    let shown = view(&stored, &record);
    let after = serde_json::to_value(&shown).ok();
    let changes = vec![ConfigChange::PutProvider(record.clone())];
    commit(gateway, ctx, Change { action: "provider.create", target: record.id, before: None, after, changes }).await?;
    Ok(created(&NodeOne { node: shown }))
}

pub async fn update(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let id = &call.decoded_param("id");
    let input: NodeInput = parse(&call.body_bytes().await?)?;
    let stored = stored(gateway).await?;
    let current = find(&stored, id)?;
    refuse_declared(&current.source, &format!("provider '{}'", current.id))?;
    if let Some(new_id) = &input.id
        && !new_id.eq_ignore_ascii_case(&current.id)
        && find_catalog_provider(new_id).is_none_or(|e| e.id != current.id)
    {
        return Err(invalid("id", "cannot be changed; create a new provider instead"));
    }
    let mut next = current.clone();
    input.apply(gateway, &mut next)?;
    let before = serde_json::to_value(view(&stored, current)).ok();
    let shown = view(&stored, &next);
    let after = serde_json::to_value(&shown).ok();
    let changes = vec![ConfigChange::PutProvider(next.clone())];
    commit(gateway, ctx, Change { action: "provider.update", target: next.id, before, after, changes }).await?;
    Ok(ok(&NodeOne { node: shown }))
}

pub async fn delete(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let id = &call.decoded_param("id");
    let stored = stored(gateway).await?;
    let current = find(&stored, id)?;
    refuse_declared(&current.source, &format!("provider '{}'", current.id))?;
    let accounts = stored.connections.iter().filter(|c| c.provider_id == current.id).count();
    let before = serde_json::to_value(view(&stored, current)).ok();
    let mut changes = vec![ConfigChange::DeleteProvider(current.id.clone())];
    // Its custom/hidden models go with it.
    let mut models = provider_models(&stored);
    if models.providers.remove(&current.id).is_some() {
        changes.push(setting_change(&models)?);
    }
    commit(
        gateway,
        ctx,
        Change { action: "provider.delete", target: current.id.clone(), before, after: None, changes },
    )
    .await?;
    Ok(ok(&NodeDeleted { deleted: true, id: current.id.clone(), accounts }))
}
