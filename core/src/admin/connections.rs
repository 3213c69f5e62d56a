//! `/api/providers`: provider connections (accounts), as in the seed's API. A connection is one
//! API key of one provider; creating one for a catalog provider that is not configured yet
//! configures it with the catalog's defaults. Keys are shown masked (last four), never in full.
//! Accounts declared by the config file or env vars are listed but read-only (`readOnly`).

use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit, stored};
use crate::admin::json::{created, double_option, invalid, mask_secret, ok, parse};
use crate::admin::keys::Deleted;
use crate::admin::provider_rows::{ProviderRef, catalog_record, check_name, find_provider, is_masked};
use crate::admin::query::query_value;
use crate::admin::targets::refuse_declared;
use crate::auth::tokens::new_id;
use crate::config::{API_SOURCE, ConfigChange, ConnectionRecord, ProviderRecord, StoredConfig};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::providers::{AuthScheme, find_catalog_provider};

/// An account as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: String,
    /// The provider id (model prefix) it belongs to.
    pub provider: String,
    pub provider_name: Option<String>,
    pub name: String,
    /// The key's last four characters (`****abcd`); `null` for keyless accounts.
    pub api_key: Option<String>,
    /// Lower is tried first.
    pub priority: i64,
    pub is_active: bool,
    /// `api` (managed here) or `config` (file/env, re-synced at start).
    pub source: String,
    /// Declared by the config file or env vars: change it there.
    pub read_only: bool,
}

impl ConnectionView {
    pub fn of(connection: &ConnectionRecord, provider_name: Option<String>) -> ConnectionView {
        ConnectionView {
            id: connection.id.clone(),
            provider: connection.provider_id.clone(),
            provider_name,
            name: connection.name.clone(),
            api_key: connection.api_key.as_deref().map(mask_secret),
            priority: connection.priority,
            is_active: connection.enabled,
            source: connection.source.clone(),
            read_only: connection.source != API_SOURCE,
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
    pub total: usize,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionOne {
    pub connection: ConnectionView,
}

/// `POST /api/providers`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateConnection {
    /// A configured provider id, or a catalog id or alias (`openai`, `claude`).
    pub provider: String,
    /// Required unless the provider needs no key (local servers).
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[!-~]{1,4096}$"))]
    pub api_key: Option<String>,
    /// Unique within the provider (default `account-N`).
    pub name: Option<String>,
    /// Default: after the provider's other accounts.
    #[cfg_attr(feature = "openapi", schema(minimum = -1_000_000, maximum = 1_000_000))]
    pub priority: Option<i64>,
    pub is_active: Option<bool>,
}

/// `PUT /api/providers/{id}`: absent fields keep their value.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateConnection {
    /// A new key; the masked value as shown (`****abcd`) keeps the stored one; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub api_key: Option<Option<String>>,
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(minimum = -1_000_000, maximum = 1_000_000))]
    pub priority: Option<i64>,
    pub is_active: Option<bool>,
}

const MAX_PRIORITY: i64 = 1_000_000;

fn check_key(key: &str) -> Result<String, GatewayError> {
    let key = key.trim();
    if key.is_empty() || key.len() > 4096 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid("apiKey", "must be 1-4096 visible ASCII characters"));
    }
    if is_masked(key) {
        return Err(invalid("apiKey", "is a masked key as lists show it; send the key itself"));
    }
    Ok(key.to_owned())
}

fn check_priority(priority: i64) -> Result<i64, GatewayError> {
    if priority.abs() > MAX_PRIORITY {
        return Err(invalid("priority", format!("must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")));
    }
    Ok(priority)
}

fn provider_name(stored: &StoredConfig, provider_id: &str) -> Option<String> {
    let record = stored.providers.iter().find(|p| p.id == provider_id);
    record.and_then(|p| p.name.clone()).or_else(|| {
        record.and_then(|p| p.catalog_id.as_deref()).and_then(find_catalog_provider).map(|e| e.name.clone())
    })
}

fn view(stored: &StoredConfig, connection: &ConnectionRecord) -> ConnectionView {
    ConnectionView::of(connection, provider_name(stored, &connection.provider_id))
}

fn find<'a>(stored: &'a StoredConfig, id: &str) -> Result<&'a ConnectionRecord, GatewayError> {
    stored.connections.iter().find(|c| c.id == id).ok_or_else(|| GatewayError::NotFound(format!("connection '{id}'")))
}

/// Whether the provider calls upstream without a key (local servers).
fn keyless(provider: &ProviderRecord) -> bool {
    let entry = provider.catalog_id.as_deref().and_then(find_catalog_provider);
    match (provider.auth, entry) {
        (Some(auth), _) => auth == AuthScheme::None,
        (None, Some(entry)) => !entry.key_required,
        (None, None) => false,
    }
}

fn check_unique_name(
    stored: &StoredConfig,
    provider: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), GatewayError> {
    let taken = stored
        .connections
        .iter()
        .any(|c| c.provider_id == provider && c.name.eq_ignore_ascii_case(name) && Some(c.id.as_str()) != except);
    if taken {
        Err(invalid("name", format!("provider '{provider}' already has an account named '{name}'")))
    } else {
        Ok(())
    }
}

/// `?provider=<id>` filters by provider.
pub async fn list(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let query = call.query();
    let stored = stored(gateway).await?;
    let filter = query_value(query, "provider");
    let connections: Vec<ConnectionView> = stored
        .connections
        .iter()
        .filter(|c| filter.as_deref().is_none_or(|p| c.provider_id.eq_ignore_ascii_case(p)))
        .map(|c| view(&stored, c))
        .collect();
    Ok(ok(&ConnectionList { total: connections.len(), connections }))
}

/// `GET /api/providers/{id}`.
pub async fn get(call: Call<'_>) -> Answer {
    let stored = stored(call.gateway).await?;
    Ok(ok(&ConnectionOne { connection: view(&stored, find(&stored, &call.decoded_param("id"))?) }))
}

pub async fn create(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let input: CreateConnection = parse(&call.body_bytes().await?)?;
    let stored = stored(gateway).await?;
    let (provider, new_provider) = match find_provider(&stored, input.provider.trim()) {
        Some(ProviderRef::Configured(record)) => (record.clone(), false),
        Some(ProviderRef::Catalog(entry)) => (catalog_record(entry), true),
        None => {
            return Err(invalid(
                "provider",
                format!(
                    "'{}' is neither a configured provider nor in the catalog; add a custom one with POST /api/provider-nodes first",
                    input.provider
                ),
            ));
        }
    };
    let api_key = input.api_key.as_deref().map(check_key).transpose()?;
    if api_key.is_none() && !keyless(&provider) {
        return Err(invalid("apiKey", format!("is required: provider '{}' needs a key", provider.id)));
    }
    let siblings = stored.connections.iter().filter(|c| c.provider_id == provider.id).count();
    let name = match &input.name {
        Some(name) => check_name("name", name)?,
        None => format!("account-{}", siblings + 1),
    };
    check_unique_name(&stored, &provider.id, &name, None)?;
    let entropy = gateway.ports.entropy.as_ref();
    let id = new_id(entropy, "conn").map_err(|e| GatewayError::internal("cannot create a connection id", e))?;
    let connection = ConnectionRecord {
        id,
        provider_id: provider.id.clone(),
        source: API_SOURCE.into(),
        name,
        api_key,
        priority: input.priority.map(check_priority).transpose()?.unwrap_or(siblings as i64),
        enabled: input.is_active.unwrap_or(true),
    };
    let mut changes = Vec::new();
    if new_provider {
        changes.push(ConfigChange::PutProvider(provider.clone()));
    }
    changes.push(ConfigChange::PutConnection(connection.clone()));
    let mut after_stored = stored;
    if new_provider {
        after_stored.providers.push(provider);
    }
    let shown = view(&after_stored, &connection);
    let after = serde_json::to_value(&shown).ok();
    commit(
        gateway,
        ctx,
        Change { action: "connection.create", target: connection.id.clone(), before: None, after, changes },
    )
    .await?;
    Ok(created(&ConnectionOne { connection: shown }))
}

pub async fn update(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let id = &call.decoded_param("id");
    let input: UpdateConnection = parse(&call.body_bytes().await?)?;
    let stored = stored(gateway).await?;
    let current = find(&stored, id)?;
    refuse_declared(&current.source, &format!("account '{id}'"))?;
    let mut next = current.clone();
    if let Some(key) = input.api_key {
        next.api_key = match key {
            // The masked key as it was shown: unchanged.
            Some(key)
                if is_masked(key.trim()) && current.api_key.as_deref().map(mask_secret) == Some(key.trim().into()) =>
            {
                current.api_key.clone()
            }
            Some(key) => Some(check_key(&key)?),
            None => None,
        };
    }
    if let Some(name) = &input.name {
        next.name = check_name("name", name)?;
        check_unique_name(&stored, &next.provider_id, &next.name, Some(id))?;
    }
    if let Some(priority) = input.priority {
        next.priority = check_priority(priority)?;
    }
    if let Some(active) = input.is_active {
        next.enabled = active;
    }
    let before = serde_json::to_value(view(&stored, current)).ok();
    let shown = view(&stored, &next);
    let after = serde_json::to_value(&shown).ok();
    let changes = vec![ConfigChange::PutConnection(next.clone())];
    commit(gateway, ctx, Change { action: "connection.update", target: next.id, before, after, changes }).await?;
    Ok(ok(&ConnectionOne { connection: shown }))
}

pub async fn delete(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let id = &call.decoded_param("id");
    let stored = stored(gateway).await?;
    let current = find(&stored, id)?;
    refuse_declared(&current.source, &format!("account '{id}'"))?;
    let before = serde_json::to_value(view(&stored, current)).ok();
    let changes = vec![ConfigChange::DeleteConnection(current.id.clone())];
    commit(
        gateway,
        ctx,
        Change { action: "connection.delete", target: current.id.clone(), before, after: None, changes },
    )
    .await?;
    Ok(ok(&Deleted { deleted: true, id: current.id.clone() }))
}
