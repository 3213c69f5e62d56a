//! Real upstream calls for the management API: `POST /api/providers/{id}/test` (a minimal chat
//! through the gateway's own request builder and HttpClient, reporting latency and the
//! upstream's error as it came) and `GET /api/providers/{id}/models` (the upstream's model list
//! where it has one, else the catalog's). Probes leave breakers, cooldowns and usage alone.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::commit::stored;
use crate::admin::json::{invalid, mask_secret, ok, parse, timestamp};
use crate::admin::provider_rows::{ProviderRef, find_provider, resolve_for_probe};
use crate::body::Body;
use crate::config::{ConnectionRecord, StoredConfig};
use crate::error::GatewayError;
use crate::formats;
use crate::gateway::Gateway;
use crate::gateway::call::{Answer, Call};
use crate::pipeline::dispatch::Call as UpstreamCall;
use crate::pipeline::timeouts::within;
use crate::pipeline::upstream::{build_get, build_request};
use crate::ports::HttpClient;
use crate::providers::WireFormat;
use crate::snapshot::{ResolvedConnection, ResolvedProvider};

/// How long one probe may take, connection to last byte.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Output tokens a test chat asks for: enough for every API's minimum (Responses: 16).
const TEST_MAX_TOKENS: u64 = 16;

/// Why a probe failed, in the seed's terms.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProbeError {
    /// `upstream_auth_error`, `upstream_rate_limited`, `upstream_unavailable`, `upstream_not_found`,
    /// `upstream_error`, `network_error`, `timeout`, `invalid_config`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The upstream's own message where it sent one.
    pub message: String,
}

/// What one upstream call gave.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProbeOutcome {
    pub valid: bool,
    pub latency_ms: u64,
    /// The upstream's HTTP status, when it answered.
    pub status: Option<u16>,
    pub error: Option<ProbeError>,
}

/// `POST /api/providers/{id}/test`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestReport {
    pub provider: String,
    pub connection_id: String,
    pub model: String,
    #[serde(flatten)]
    pub outcome: ProbeOutcome,
    pub tested_at: String,
}

/// `POST /api/providers/{id}/test` body (optional).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestInput {
    /// The model to ask (default: the provider's first listed model).
    pub model: Option<String>,
}

/// One model of a list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListedModel {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `GET /api/providers/{id}/models`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelsReport {
    pub provider: String,
    pub connection_id: String,
    /// `upstream` (its own list) or `catalog` (it has none, or it failed: see `upstreamError`).
    pub source: &'static str,
    pub models: Vec<ListedModel>,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_error: Option<ProbeOutcome>,
}

/// Sends `request` through `client` with the probe time limit and reads the whole answer.
pub async fn send_probe(
    gateway: &Gateway,
    client: &dyn HttpClient,
    request: http::Request<Bytes>,
) -> (ProbeOutcome, Bytes) {
    let clock = gateway.ports.clock.as_ref();
    let started = clock.monotonic_us();
    let limit = gateway.options.max_response_bytes;
    let exchange = async {
        let response = client.send(request).await.map_err(|e| ("network_error", e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body =
            body.collect(limit).await.map_err(|e| ("network_error", format!("reading the answer failed: {e:?}")))?;
        Ok::<_, (&'static str, String)>((parts.status, body))
    };
    let result = within(clock, PROBE_TIMEOUT, exchange).await;
    let latency_ms = clock.monotonic_us().saturating_sub(started) / 1000;
    let failed = |kind, message| ProbeOutcome {
        valid: false,
        latency_ms,
        status: None,
        error: Some(ProbeError { kind, message }),
    };
    match result {
        None => (failed("timeout", format!("no complete answer within {} s", PROBE_TIMEOUT.as_secs())), Bytes::new()),
        Some(Err((kind, message))) => (failed(kind, message), Bytes::new()),
        Some(Ok((status, body))) => {
            (ProbeOutcome { valid: status.is_success(), latency_ms, status: Some(status.as_u16()), error: None }, body)
        }
    }
}

/// Fills in the error of a non-2xx answer: its kind by status, the upstream's own message, with
/// `secret` (the key that was sent) masked should the upstream echo it.
pub fn explain(mut outcome: ProbeOutcome, format: WireFormat, body: &[u8], secret: Option<&str>) -> ProbeOutcome {
    if let Some(status) = outcome.status.filter(|_| !outcome.valid) {
        let kind = match status {
            401 | 403 => "upstream_auth_error",
            404 => "upstream_not_found",
            429 => "upstream_rate_limited",
            500..=599 => "upstream_unavailable",
            _ => "upstream_error",
        };
        let message = formats::upstream_error_message(format, body)
            .or_else(|| {
                let text = String::from_utf8_lossy(body);
                (!text.trim().is_empty()).then(|| text.chars().take(500).collect())
            })
            .unwrap_or_else(|| format!("the upstream answered HTTP {status}"));
        outcome.error = Some(ProbeError { kind, message });
    }
    if let (Some(error), Some(secret)) = (outcome.error.as_mut(), secret.filter(|s| !s.is_empty())) {
        error.message = error.message.replace(secret, &mask_secret(secret));
    }
    outcome
}

/// A minimal chat with `model` in the provider's own format.
pub fn test_request(
    provider: &ResolvedProvider,
    connection: &ResolvedConnection,
    model: &str,
) -> Result<http::Request<Bytes>, GatewayError> {
    let probe = serde_json::json!({
        "model": model,
        "messages": [{ "role": "user", "content": "ping" }],
        "max_tokens": TEST_MAX_TOKENS,
    });
    let hub = formats::decode_request(WireFormat::OpenaiChat, probe.to_string().as_bytes())?;
    let body = formats::encode_request(provider.format, &hub)?;
    let call = UpstreamCall {
        provider,
        path: &provider.chat_path,
        model,
        body,
        headers: &[],
        stream: false,
        first_byte_timeout: PROBE_TIMEOUT,
        max_response_bytes: 0,
    };
    build_request(&call, connection)
}

/// The model list request, asking for the largest page where the API pages.
pub fn models_request(
    provider: &ResolvedProvider,
    connection: &ResolvedConnection,
    path: &str,
) -> Result<http::Request<Bytes>, GatewayError> {
    let query = match provider.format {
        WireFormat::Anthropic => "?limit=1000",
        WireFormat::Gemini => "?pageSize=1000",
        _ => "",
    };
    build_get(provider, connection, &format!("{path}{query}"))
}

/// Model ids of a list in any of the documented shapes: OpenAI/Anthropic `data[].id`, Gemini
/// `models[].name` (`models/` removed), Ollama `models[].name`.
pub fn parse_model_list(body: &[u8]) -> Option<Vec<ListedModel>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |v: &Value, keys: &[&str]| keys.iter().find_map(|k| v[*k].as_str().map(str::to_owned));
    if let Some(data) = value["data"].as_array() {
        return Some(
            data.iter()
                .filter_map(|m| Some(ListedModel { id: text(m, &["id"])?, name: text(m, &["display_name", "name"]) }))
                .collect(),
        );
    }
    let models = value["models"].as_array()?;
    Some(
        models
            .iter()
            .filter_map(|m| {
                let id = text(m, &["name", "model"])?;
                let id = id.strip_prefix("models/").map(str::to_owned).unwrap_or(id);
                Some(ListedModel { id, name: text(m, &["displayName"]) })
            })
            .collect(),
    )
}

/// `{id}` of `/api/providers/{id}/...`: an account id, or a provider id (its first account by
/// priority, or its keyless implicit one). Disabled ones can be probed too.
pub fn target(stored: &StoredConfig, id: &str) -> Result<Arc<ResolvedProvider>, GatewayError> {
    let (provider, connection): (_, Option<&ConnectionRecord>) = match stored.connections.iter().find(|c| c.id == id) {
        Some(connection) => {
            let provider = stored.providers.iter().find(|p| p.id == connection.provider_id).ok_or_else(|| {
                GatewayError::Conflict(format!(
                    "account '{id}' belongs to provider '{}', which is not configured any more",
                    connection.provider_id
                ))
            })?;
            (provider, Some(connection))
        }
        None => match find_provider(stored, id) {
            Some(ProviderRef::Configured(provider)) => {
                let mut accounts: Vec<&ConnectionRecord> =
                    stored.connections.iter().filter(|c| c.provider_id == provider.id).collect();
                accounts.sort_by_key(|c| (!c.enabled, c.priority, c.id.clone()));
                (provider, accounts.first().copied())
            }
            _ => return Err(GatewayError::NotFound(format!("connection or provider '{id}'"))),
        },
    };
    resolve_for_probe(stored, provider, connection)
        .ok_or_else(|| GatewayError::Internal(format!("provider '{}' could not be resolved for a probe", provider.id)))
}

pub fn account(provider: &ResolvedProvider) -> Result<&ResolvedConnection, GatewayError> {
    provider.connections.first().ok_or_else(|| {
        GatewayError::InvalidRequest(format!(
            "provider '{}' has no account to test with; add one with POST /api/providers",
            provider.id
        ))
    })
}

/// `/api/providers/{id}/test` and `/api/providers/{id}/models`.
/// `POST /api/providers/{id}/test`: an empty body tests with the defaults.
pub async fn test(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    let input: TestInput = if body.iter().all(u8::is_ascii_whitespace) { TestInput::default() } else { parse(&body)? };
    test_provider(call.gateway, &call.decoded_param("id"), input).await
}

/// `GET /api/providers/{id}/models`.
pub async fn models(call: Call<'_>) -> Answer {
    list_models(call.gateway, &call.decoded_param("id")).await
}

async fn test_provider(gateway: &Gateway, id: &str, input: TestInput) -> Result<Response<Body>, GatewayError> {
    let stored = stored(gateway).await?;
    let provider = target(&stored, id)?;
    let connection = account(&provider)?;
    let model = match input.model {
        // `provider/model` or the bare upstream name.
        Some(model) => {
            let model = model.trim();
            let bare = model.strip_prefix(&format!("{}/", provider.id)).unwrap_or(model);
            if bare.is_empty() {
                return Err(invalid("model", "must name a model"));
            }
            bare.to_owned()
        }
        None => provider.listed_models().next().map(|m| m.id.clone()).ok_or_else(|| {
            invalid("model", format!("provider '{}' lists no model; name the one to test", provider.id))
        })?,
    };
    let outcome = match test_request(&provider, connection, &model) {
        Ok(request) => {
            let (outcome, body) = send_probe(gateway, gateway.ports.http.as_ref(), request).await;
            explain(outcome, provider.format, &body, connection.api_key.as_deref())
        }
        Err(err) => ProbeOutcome {
            valid: false,
            latency_ms: 0,
            status: None,
            error: Some(ProbeError { kind: "invalid_config", message: err.to_string() }),
        },
    };
    Ok(ok(&TestReport {
        provider: provider.id.clone(),
        connection_id: connection.id.clone(),
        model,
        outcome,
        tested_at: timestamp(gateway.ports.clock.now_unix_ms()),
    }))
}

async fn list_models(gateway: &Gateway, id: &str) -> Result<Response<Body>, GatewayError> {
    let stored = stored(gateway).await?;
    let provider = target(&stored, id)?;
    let connection = account(&provider)?;
    let upstream_error = match fetch_model_list(gateway, &provider, connection).await {
        Some(Ok(models)) => {
            return Ok(ok(&ModelsReport {
                provider: provider.id.clone(),
                connection_id: connection.id.clone(),
                source: "upstream",
                total: models.len(),
                models,
                upstream_error: None,
            }));
        }
        Some(Err(outcome)) => Some(outcome),
        None => None,
    };
    // The catalog's and configured models, and those the last discovery kept.
    let models: Vec<ListedModel> =
        provider.listed_models().map(|m| ListedModel { id: m.id.clone(), name: None }).collect();
    Ok(ok(&ModelsReport {
        provider: provider.id.clone(),
        connection_id: connection.id.clone(),
        source: "catalog",
        total: models.len(),
        models,
        upstream_error,
    }))
}

/// Asks `provider`'s upstream, as `connection`, for its model list: the models (each id once,
/// in the upstream's order), or why the answer cannot be used (a failed call, an error status,
/// a body in no known shape; the key masked should the upstream echo it). `None` when the
/// provider has no model list endpoint. The one fetcher of model lists: the probe above and
/// model discovery both call it.
pub async fn fetch_model_list(
    gateway: &Gateway,
    provider: &ResolvedProvider,
    connection: &ResolvedConnection,
) -> Option<Result<Vec<ListedModel>, ProbeOutcome>> {
    let path = provider.models_path.as_deref()?;
    let (outcome, body) = match models_request(provider, connection, path) {
        Ok(request) => send_probe(gateway, gateway.ports.http.as_ref(), request).await,
        Err(err) => (
            ProbeOutcome {
                valid: false,
                latency_ms: 0,
                status: None,
                error: Some(ProbeError { kind: "invalid_config", message: err.to_string() }),
            },
            Bytes::new(),
        ),
    };
    Some(match (outcome.valid, parse_model_list(&body)) {
        (true, Some(mut models)) => {
            let mut seen = std::collections::HashSet::new();
            models.retain(|m| !m.id.is_empty() && seen.insert(m.id.clone()));
            Ok(models)
        }
        (true, None) => Err(ProbeOutcome {
            valid: false,
            error: Some(ProbeError { kind: "upstream_error", message: "the model list is in no known shape".into() }),
            ..outcome
        }),
        (false, _) => Err(explain(outcome, provider.format, &body, connection.api_key.as_deref())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lists_of_every_documented_shape_parse() {
        let ids = |body: &str| parse_model_list(body.as_bytes()).unwrap().into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(r#"{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}"#), ["gpt-4o"]);
        assert_eq!(
            ids(r#"{"data":[{"type":"model","id":"claude-x","display_name":"Claude X"}],"has_more":false}"#),
            ["claude-x"]
        );
        assert_eq!(
            ids(r#"{"models":[{"name":"models/gemini-2.5-flash","displayName":"Gemini"}]}"#),
            ["gemini-2.5-flash"]
        );
        assert_eq!(ids(r#"{"models":[{"name":"llama3:latest","model":"llama3:latest"}]}"#), ["llama3:latest"]);
        assert!(parse_model_list(b"<html>").is_none());
        assert!(parse_model_list(br#"{"error":"x"}"#).is_none());
    }

    #[test]
    fn a_key_the_upstream_echoes_is_masked() {
        let outcome = ProbeOutcome { valid: false, latency_ms: 1, status: Some(401), error: None };
        let body = br#"{"error":{"message":"Invalid key sk-live-0123456789abcd for this project"}}"#;
        let message =
            explain(outcome, WireFormat::OpenaiChat, body, Some("sk-live-0123456789abcd")).error.unwrap().message;
        assert_eq!(message, "Invalid key ****abcd for this project");
    }

    #[test]
    fn errors_take_the_upstreams_message_and_a_kind_by_status() {
        let outcome = ProbeOutcome { valid: false, latency_ms: 3, status: Some(401), error: None };
        let body = br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#;
        let explained = explain(outcome, WireFormat::OpenaiChat, body, None);
        let error = explained.error.unwrap();
        assert_eq!(error.kind, "upstream_auth_error");
        assert_eq!(error.message, "Incorrect API key provided");
        let outcome = ProbeOutcome { valid: false, latency_ms: 3, status: Some(503), error: None };
        assert_eq!(
            explain(outcome, WireFormat::Anthropic, b"", None).error.unwrap().message,
            "the upstream answered HTTP 503"
        );
    }
}
