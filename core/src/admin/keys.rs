//! `/api/keys`: gateway API keys. Create returns the key once; lists show its prefix, name,
//! role, dates and policy. Keys are revoked (kept for attribution) or deleted.

use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit};
use crate::admin::json::{created, double_option, invalid, ok, parse, parse_timestamp, timestamp};
use crate::auth::tokens::{SHOWN_PREFIX_LEN, new_api_key, new_id, sha256_hex};
use crate::config::{ApiKeyRecord, ConfigChange, KeyBudget, KeyRole};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};

/// A key as the API shows it: never the key itself.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// The key's first characters (`sk-omni-3f9a1c`).
    pub prefix: String,
    pub role: KeyRole,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// Last request served with this key (from usage), when known.
    pub last_used_at: Option<String>,
    pub is_active: bool,
    pub allowed_models: Vec<String>,
    pub allowed_providers: Vec<String>,
    pub requests_per_minute: Option<u32>,
    pub requests_per_day: Option<u32>,
    pub no_log: bool,
    /// The response cache is off for this key's requests.
    pub no_cache: bool,
    /// Requests are sent as they came, never fitted to the target model.
    pub strict_parameters: bool,
    pub budget: Option<KeyBudget>,
}

impl KeyView {
    pub fn of(key: &ApiKeyRecord, last_used_ms: Option<u64>) -> KeyView {
        KeyView {
            id: key.id.clone(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            role: key.role,
            created_at: timestamp(key.created_ms),
            expires_at: key.expires_ms.map(timestamp),
            last_used_at: last_used_ms.map(timestamp),
            is_active: key.active,
            allowed_models: key.allowed_models.clone(),
            allowed_providers: key.allowed_providers.clone(),
            requests_per_minute: key.requests_per_minute,
            requests_per_day: key.requests_per_day,
            no_log: key.no_log,
            no_cache: key.no_cache,
            strict_parameters: key.strict_parameters,
            budget: key.budget,
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyList {
    pub keys: Vec<KeyView>,
    pub total: usize,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// The key itself: shown this once, never again.
    pub key: String,
    pub api_key: KeyView,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub deleted: bool,
    pub id: String,
}

/// Fields of a create or an update; on update, absent fields keep their value.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyInput {
    /// Required on create.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub name: Option<String>,
    /// `user` (inference only, the default) or `admin` (also the management API).
    pub role: Option<KeyRole>,
    /// RFC 3339 (a past time expires the key at once); `null` removes the expiry.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Option<String>>,
    pub is_active: Option<bool>,
    /// Model globs (`gpt-4*`, `anthropic/*`, `?` one character); empty allows every model.
    #[cfg_attr(feature = "openapi", schema(max_items = 100, inline))]
    pub allowed_models: Option<Vec<ModelGlob>>,
    /// Provider ids; empty allows every provider.
    #[cfg_attr(feature = "openapi", schema(max_items = 100, inline))]
    pub allowed_providers: Option<Vec<ProviderId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1))]
    pub requests_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1))]
    pub requests_per_day: Option<Option<u32>>,
    pub no_log: Option<bool>,
    /// Turn the response cache off (`true`) or on for this key's requests.
    pub no_cache: Option<bool>,
    /// `true`: send requests as they came, without fitting `max_tokens`, reasoning or sampling
    /// to the target model (its refusal comes back instead).
    pub strict_parameters: Option<bool>,
}

/// A model glob: no blanks or control characters, at most 256 characters.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,256}$"))]
#[serde(transparent)]
pub struct ModelGlob(pub String);

/// A provider id: letters, digits, `-`, `_`, `.`; at most 64 characters.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
#[serde(transparent)]
pub struct ProviderId(pub String);

const MAX_NAME: usize = 100;
const MAX_LIST: usize = 100;

impl KeyInput {
    /// Applies the fields to `key`, checking each.
    fn apply(self, key: &mut ApiKeyRecord) -> Result<(), GatewayError> {
        if let Some(name) = self.name {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > MAX_NAME {
                return Err(invalid("name", format!("must be 1 to {MAX_NAME} characters")));
            }
            key.name = name;
        }
        if let Some(role) = self.role {
            key.role = role;
        }
        if let Some(expires) = self.expires_at {
            key.expires_ms = expires.map(|text| parse_timestamp("expiresAt", &text)).transpose()?;
        }
        if let Some(active) = self.is_active {
            key.active = active;
        }
        if let Some(models) = self.allowed_models {
            let models: Vec<String> = models.into_iter().map(|m| m.0).collect();
            check_list("allowedModels", &models, |m| {
                if m.is_empty() || m.chars().count() > 256 || m.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    Err("must be a model name or glob without blanks, at most 256 characters".into())
                } else {
                    Ok(())
                }
            })?;
            key.allowed_models = models;
        }
        if let Some(providers) = self.allowed_providers {
            let providers: Vec<String> = providers.into_iter().map(|p| p.0).collect();
            check_list("allowedProviders", &providers, |p| {
                if p.is_empty() || p.len() > 64 || !p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                    Err("must be a provider id (letters, digits, '-', '_', '.')".into())
                } else {
                    Ok(())
                }
            })?;
            key.allowed_providers = providers;
        }
        for (field, value, slot) in [
            ("requestsPerMinute", self.requests_per_minute, &mut key.requests_per_minute),
            ("requestsPerDay", self.requests_per_day, &mut key.requests_per_day),
        ] {
            if let Some(value) = value {
                if value == Some(0) {
                    return Err(invalid(field, "must be at least 1 (or null for no limit)"));
                }
                *slot = value;
            }
        }
        if let Some(no_log) = self.no_log {
            key.no_log = no_log;
        }
        if let Some(no_cache) = self.no_cache {
            key.no_cache = no_cache;
        }
        if let Some(strict) = self.strict_parameters {
            key.strict_parameters = strict;
        }
        Ok(())
    }
}

fn check_list(field: &str, items: &[String], check: impl Fn(&str) -> Result<(), String>) -> Result<(), GatewayError> {
    if items.len() > MAX_LIST {
        return Err(invalid(field, format!("at most {MAX_LIST} entries")));
    }
    for (i, item) in items.iter().enumerate() {
        check(item).map_err(|e| invalid(&format!("{field}[{i}]"), e))?;
    }
    Ok(())
}

/// A key by id, or a 404 naming it.
pub(crate) fn find(gateway: &Gateway, id: &str) -> Result<ApiKeyRecord, GatewayError> {
    gateway
        .snapshot()
        .access
        .key_by_id(id)
        .map(|k| (**k).clone())
        .ok_or_else(|| GatewayError::NotFound(format!("API key '{id}'")))
}

fn view(gateway: &Gateway, key: &ApiKeyRecord) -> KeyView {
    KeyView::of(key, gateway.key_last_used(&key.id))
}

/// `GET /api/keys`.
pub async fn list(call: Call<'_>) -> Answer {
    let snapshot = call.gateway.snapshot();
    let keys: Vec<KeyView> = snapshot.access.keys().map(|k| view(call.gateway, k)).collect();
    Ok(ok(&KeyList { total: keys.len(), keys }))
}

/// `GET /api/keys/{id}`.
pub async fn get(call: Call<'_>) -> Answer {
    Ok(ok(&view(call.gateway, &find(call.gateway, call.param("id"))?)))
}

/// `PUT`/`PATCH /api/keys/{id}`: the fields sent change, the rest stay.
pub async fn update(mut call: Call<'_>) -> Answer {
    let input = parse(&call.body_bytes().await?)?;
    change(call.gateway, call.ctx, call.param("id"), input, "key.update").await
}

/// `POST /api/keys/{id}/revoke`: kept (for attribution), never accepted again.
pub async fn revoke(call: Call<'_>) -> Answer {
    let input = KeyInput { is_active: Some(false), ..Default::default() };
    change(call.gateway, call.ctx, call.param("id"), input, "key.revoke").await
}

/// `DELETE /api/keys/{id}`.
pub async fn delete(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let key = find(gateway, call.param("id"))?;
    let before = serde_json::to_value(view(gateway, &key)).ok();
    let changes = vec![ConfigChange::DeleteApiKey(key.id.clone())];
    commit(gateway, call.ctx, Change { action: "key.delete", target: key.id.clone(), before, after: None, changes })
        .await?;
    Ok(ok(&Deleted { deleted: true, id: key.id }))
}

/// `POST /api/keys`: the key itself is in this answer only.
pub async fn create(mut call: Call<'_>) -> Answer {
    let (gateway, ctx) = (call.gateway, call.ctx);
    let input: KeyInput = parse(&call.body_bytes().await?)?;
    if input.name.is_none() {
        return Err(invalid("name", "is required"));
    }
    let entropy = gateway.ports.entropy.as_ref();
    let internal = |e: crate::ports::EntropyError| GatewayError::internal("cannot create an API key", e);
    let secret = new_api_key(entropy).map_err(internal)?;
    let now_ms = gateway.ports.clock.now_unix_ms();
    let mut key = ApiKeyRecord {
        id: new_id(entropy, "key").map_err(internal)?,
        name: String::new(),
        prefix: secret.chars().take(SHOWN_PREFIX_LEN).collect(),
        hash: sha256_hex(&secret),
        role: KeyRole::User,
        created_ms: now_ms,
        expires_ms: None,
        active: true,
        allowed_models: Vec::new(),
        allowed_providers: Vec::new(),
        requests_per_minute: None,
        requests_per_day: None,
        no_log: false,
        no_cache: false,
        strict_parameters: false,
        budget: None,
    };
    input.apply(&mut key)?;
    let shown = view(gateway, &key);
    let changes = vec![ConfigChange::PutApiKey(key.clone())];
    let after = serde_json::to_value(&shown).ok();
    commit(gateway, ctx, Change { action: "key.create", target: key.id.clone(), before: None, after, changes }).await?;
    Ok(created(&CreatedKey { key: secret, api_key: shown }))
}

async fn change(gateway: &Gateway, ctx: &RequestContext, id: &str, input: KeyInput, action: &'static str) -> Answer {
    let mut key = find(gateway, id)?;
    let before = serde_json::to_value(view(gateway, &key)).ok();
    input.apply(&mut key)?;
    let shown = view(gateway, &key);
    let changes = vec![ConfigChange::PutApiKey(key.clone())];
    let after = serde_json::to_value(&shown).ok();
    commit(gateway, ctx, Change { action, target: key.id, before, after, changes }).await?;
    Ok(ok(&shown))
}
