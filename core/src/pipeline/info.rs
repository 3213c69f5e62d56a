//! Read-only endpoints: the configured models in OpenAI's, Gemini's and Ollama's shapes, and
//! the health check. `GET /v1/models[/{id}]` is OpenAI's and Gemini's `v1` path at once: a
//! Gemini client (its key in `x-goog-api-key` or `?key=`, or Google's client header) gets
//! Gemini's shape there, everyone else OpenAI's.

use http::header::{HeaderValue, VARY};
use http::{Response, StatusCode};
use serde_json::json;

use crate::body::Body;
use crate::error::GatewayError;
use crate::formats::{gemini, ollama};
use crate::gateway::Gateway;
use crate::gateway::call::{Answer, Call};
use crate::providers::WireFormat;
use crate::render;

/// Every servable model as `(provider/model, provider name)`, in config order (hidden ones
/// left out).
pub fn configured_models(gateway: &Gateway) -> Vec<(String, String)> {
    let snapshot = gateway.snapshot();
    snapshot
        .providers()
        .iter()
        .filter(|p| !p.connections.is_empty())
        .flat_map(|p| p.listed_models().map(move |m| (format!("{}/{}", p.id, m.id), p.name.clone())))
        .collect()
}

/// Configured models, then combos (a combo is a model name too), in OpenAI's shape.
fn model_entries(gateway: &Gateway) -> Vec<serde_json::Value> {
    let mut entries: Vec<_> = configured_models(gateway)
        .into_iter()
        .map(|(id, _)| {
            let owner = id.split('/').next().unwrap_or_default().to_owned();
            json!({ "id": id, "object": "model", "created": 0, "owned_by": owner })
        })
        .collect();
    let snapshot = gateway.snapshot();
    entries.extend(snapshot.combos().iter().map(|combo| {
        json!({ "id": combo.name, "object": "model", "created": 0, "owned_by": "combo", "strategy": combo.strategy })
    }));
    entries
}

/// `GET /v1/providers/{provider}/models`: one provider's models.
pub async fn provider_models(call: Call<'_>) -> Answer {
    let snapshot = call.gateway.snapshot();
    let id = call.param("provider");
    let provider = snapshot
        .provider(id)
        .ok_or_else(|| GatewayError::UnknownProvider(format!("provider '{id}' is not configured")))?;
    let data: Vec<_> = provider
        .listed_models()
        .map(|m| json!({ "id": format!("{}/{}", provider.id, m.id), "object": "model", "created": 0, "owned_by": provider.id }))
        .collect();
    Ok(ok(json!({ "object": "list", "data": data })))
}

/// `GET /v1beta/models`
pub async fn gemini_models(call: Call<'_>) -> Answer {
    Ok(ok(gemini_model_list(call.gateway)))
}

fn gemini_model_list(gateway: &Gateway) -> serde_json::Value {
    let models: Vec<_> = configured_models(gateway)
        .iter()
        .map(|(id, name)| gemini::model_list_entry(id, &format!("{id} ({name})")))
        .collect();
    json!({ "models": models })
}

/// `GET /v1beta/models/{model}` (`models/` in front of the name is Gemini's resource prefix).
pub async fn gemini_model(call: Call<'_>) -> Answer {
    gemini_model_entry(call.gateway, &gemini_model_name(&call, "model"))
}

fn gemini_model_entry(gateway: &Gateway, id: &str) -> Answer {
    match configured_models(gateway).into_iter().find(|(model, _)| model == id) {
        Some((model, name)) => Ok(ok(gemini::model_list_entry(&model, &format!("{model} ({name})")))),
        None => Err(GatewayError::NotFound(format!("model '{id}'"))),
    }
}

/// The model the Gemini path parameter `param` names: `%`-decoded (a gateway id such as
/// `openai/gpt-4o` may come encoded), without the `models/` resource prefix.
pub fn gemini_model_name(call: &Call<'_>, param: &str) -> String {
    let model = call.decoded_param(param);
    model.strip_prefix("models/").unwrap_or(&model).to_owned()
}

/// Whether a request on a path OpenAI and Gemini share comes from a Gemini client: Google's
/// SDKs send their key in `x-goog-api-key` (REST callers in `?key=`) and always name
/// themselves in `x-goog-api-client`; OpenAI's clients send none of these.
fn from_gemini_client(call: &Call<'_>) -> bool {
    let headers = call.headers();
    headers.contains_key("x-goog-api-key")
        || headers.contains_key("x-goog-api-client")
        || call.query().is_some_and(|q| q.split('&').any(|pair| pair.starts_with("key=")))
}

/// `GET /api/tags`
pub async fn ollama_tags(call: Call<'_>) -> Answer {
    let models: Vec<_> = configured_models(call.gateway).iter().map(|(id, _)| ollama::tags_entry(id)).collect();
    Ok(ok(json!({ "models": models })))
}

/// `GET /api/version`: Ollama clients check it before chatting.
pub async fn ollama_version(_call: Call<'_>) -> Answer {
    Ok(ok(json!({ "version": env!("CARGO_PKG_VERSION") })))
}

/// `GET /v1/models`; Gemini's `models.list` on `v1` for a Gemini client.
pub async fn list_models(call: Call<'_>) -> Answer {
    let body = if from_gemini_client(&call) {
        gemini_model_list(call.gateway)
    } else {
        json!({ "object": "list", "data": model_entries(call.gateway) })
    };
    Ok(varies(ok(body)))
}

/// `GET /v1/models/{id}` (ids hold a `/`: `openai/gpt-4o`); Gemini's `models.get` on `v1` for a
/// Gemini client, its errors in Gemini's shape too.
pub async fn get_model(call: Call<'_>) -> Answer {
    if from_gemini_client(&call) {
        let answer = gemini_model_entry(call.gateway, &gemini_model_name(&call, "id"));
        return Ok(varies(answer.unwrap_or_else(|err| render::error(WireFormat::Gemini, &err))));
    }
    let id = call.decoded_param("id");
    match model_entries(call.gateway).into_iter().find(|m| m["id"] == *id) {
        Some(model) => Ok(varies(ok(model))),
        None => Err(GatewayError::UnknownModel(format!("model '{id}' is not configured"))),
    }
}

/// Marks an answer of a path OpenAI and Gemini share as depending on the headers
/// [`from_gemini_client`] reads, for caches in front of the gateway.
fn varies(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(VARY, HeaderValue::from_static("x-goog-api-key, x-goog-api-client"));
    response
}

/// `GET /api/monitoring/health`
pub async fn health(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let snapshot = gateway.snapshot();
    Ok(ok(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeMs": gateway.uptime_us() / 1000,
        "configVersion": snapshot.version,
        "providers": snapshot.providers().len(),
        // Where config, keys, usage and cooldowns are kept: "memory", "libsql-file",
        // "libsql-remote" (shared with every instance on the same database).
        "storage": gateway.ports.config.kind(),
    })))
}

fn ok(body: serde_json::Value) -> Response<Body> {
    render::json(StatusCode::OK, body.to_string().into())
}
