//! `POST /api/providers/validate`: checks a provider config and key without saving anything:
//! the fields as `/api/provider-nodes` would take them (base URL through the SSRF guard), then,
//! unless `live` is false, one real call: the model list where the provider has one (no tokens
//! spent), else a minimal chat.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::admin::commit::stored;
use crate::admin::json::{invalid, ok, parse};
use crate::admin::provider_nodes::NodeInput;
use crate::admin::provider_probe::{ProbeOutcome, explain, models_request, send_probe, test_request};
use crate::admin::provider_rows::{ProviderRef, catalog_record, find_provider, new_record, resolve_for_probe};
use crate::config::{API_SOURCE, ConnectionRecord, ProviderRecord};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::providers::{AuthScheme, WireFormat};

/// What to check. Fields left out take the configured provider's (or the catalog's) values.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValidateInput {
    /// A configured provider, a catalog id/alias, or a new id (then `baseUrl` is required).
    pub provider: Option<String>,
    /// The key to try; default: the configured provider's first account's, unless `baseUrl`,
    /// `headers` or `auth` change where or how it would be sent.
    pub api_key: Option<String>,
    pub format: Option<WireFormat>,
    pub base_url: Option<String>,
    pub auth: Option<AuthScheme>,
    pub headers: Option<BTreeMap<String, String>>,
    pub chat_path: Option<String>,
    pub api_version: Option<String>,
    /// For the chat call of providers without a model list (default: the first listed).
    pub model: Option<String>,
    /// Make the real call (default true).
    pub live: Option<bool>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidateReport {
    /// The config is well formed and, when live, the upstream accepted the call.
    pub valid: bool,
    pub provider: String,
    pub format: String,
    pub base_url: String,
    pub chat_path: String,
    /// `models` (listed the upstream's models), `chat` (a minimal chat) or `none` (not live).
    pub method: &'static str,
    #[serde(flatten)]
    pub outcome: Option<ProbeOutcome>,
    pub warning: Option<String>,
}

fn base_record(
    stored: &crate::config::StoredConfig,
    name: Option<&str>,
    custom: bool,
) -> Result<ProviderRecord, GatewayError> {
    match name.map(|n| (n, find_provider(stored, n.trim()))) {
        Some((_, Some(ProviderRef::Configured(record)))) => Ok(record.clone()),
        Some((_, Some(ProviderRef::Catalog(entry)))) => Ok(catalog_record(entry)),
        Some((name, None)) if custom => {
            Ok(ProviderRecord { format: Some(WireFormat::OpenaiChat), ..new_record(name.trim(), None) })
        }
        None if custom => Ok(ProviderRecord { format: Some(WireFormat::OpenaiChat), ..new_record("custom", None) }),
        Some((name, None)) => Err(invalid(
            "provider",
            format!("'{name}' is neither configured nor in the catalog; give its baseUrl to check a custom provider"),
        )),
        None => Err(invalid("provider", "name a provider, or give a baseUrl")),
    }
}

pub async fn validate(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let input: ValidateInput = parse(&call.body_bytes().await?)?;
    let stored = stored(gateway).await?;
    let mut record = base_record(&stored, input.provider.as_deref(), input.base_url.is_some())?;
    // A stored key is only ever sent where it is already sent: never to a base URL (or with
    // headers) given here, which could carry it anywhere.
    let configured_key = stored
        .connections
        .iter()
        .filter(|c| c.provider_id == record.id && c.api_key.is_some())
        .min_by_key(|c| (!c.enabled, c.priority))
        .and_then(|c| c.api_key.clone())
        .filter(|_| input.base_url.is_none() && input.headers.is_none() && input.auth.is_none());
    NodeInput {
        format: input.format.map(Some),
        base_url: input.base_url.map(Some),
        auth: input.auth.map(Some),
        headers: input.headers,
        chat_path: input.chat_path.map(Some),
        api_version: input.api_version.map(Some),
        ..Default::default()
    }
    .apply(gateway, &mut record)?;
    let api_key = match input.api_key {
        Some(key) => {
            let key = key.trim();
            if key.is_empty() || key.len() > 4096 || !key.chars().all(|c| c.is_ascii_graphic()) {
                return Err(invalid("apiKey", "must be 1-4096 visible ASCII characters"));
            }
            Some(key.to_owned())
        }
        None => configured_key,
    };
    let connection = api_key.map(|key| ConnectionRecord {
        id: format!("{}:validate", record.id),
        provider_id: record.id.clone(),
        source: API_SOURCE.into(),
        name: "validate".into(),
        api_key: Some(key),
        priority: 0,
        enabled: true,
    });
    let provider = resolve_for_probe(&stored, &record, connection.as_ref()).ok_or_else(|| {
        GatewayError::Internal(format!("provider '{}' could not be resolved for validation", record.id))
    })?;
    let mut report = ValidateReport {
        valid: true,
        provider: provider.id.clone(),
        format: provider.format.as_str().to_owned(),
        base_url: provider.base_url.clone(),
        chat_path: provider.chat_path.clone(),
        method: "none",
        outcome: None,
        warning: None,
    };
    if !input.live.unwrap_or(true) {
        return Ok(ok(&report));
    }
    let Some(account) = provider.connections.first() else {
        return Err(invalid("apiKey", format!("provider '{}' needs a key to be called", provider.id)));
    };
    let (method, request) = match (&provider.models_path, &input.model) {
        (Some(path), None) => ("models", models_request(&provider, account, path)),
        (_, model) => match model.clone().or_else(|| provider.listed_models().next().map(|m| m.id.clone())) {
            Some(model) => ("chat", test_request(&provider, account, &model)),
            None => {
                report.warning =
                    Some("the provider has no model list and no model was named: nothing was called".into());
                return Ok(ok(&report));
            }
        },
    };
    let (outcome, body) = match request {
        Ok(request) => send_probe(gateway, gateway.ports.http.as_ref(), request).await,
        Err(err) => return Err(invalid("baseUrl", err.to_string())),
    };
    let outcome = explain(outcome, provider.format, &body as &Bytes, account.api_key.as_deref());
    report.valid = outcome.valid;
    report.method = method;
    report.outcome = Some(outcome);
    Ok(ok(&report))
}
