//! Read-only endpoints: the configured models in OpenAI's, Gemini's and Ollama's shapes, and
//! the health check.

use http::{Response, StatusCode};
use serde_json::json;

use crate::body::Body;
use crate::error::GatewayError;
use crate::formats::{gemini, ollama};
use crate::gateway::Gateway;
use crate::pipeline::respond;
use crate::providers::WireFormat;

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
pub fn provider_models(gateway: &Gateway, provider: &str) -> Response<Body> {
    let snapshot = gateway.snapshot();
    let Some(provider) = snapshot.provider(provider) else {
        return respond::error(
            WireFormat::OpenaiChat,
            &GatewayError::UnknownProvider(format!("provider '{provider}' is not configured")),
        );
    };
    let data: Vec<_> = provider
        .listed_models()
        .map(|m| json!({ "id": format!("{}/{}", provider.id, m.id), "object": "model", "created": 0, "owned_by": provider.id }))
        .collect();
    respond::json(StatusCode::OK, json!({ "object": "list", "data": data }).to_string().into())
}

/// `GET /v1beta/models`
pub fn gemini_models(gateway: &Gateway) -> Response<Body> {
    let models: Vec<_> = configured_models(gateway)
        .iter()
        .map(|(id, name)| gemini::model_list_entry(id, &format!("{id} ({name})")))
        .collect();
    respond::json(StatusCode::OK, json!({ "models": models }).to_string().into())
}

/// `GET /v1beta/models/{model}`
pub fn gemini_model(gateway: &Gateway, id: &str) -> Response<Body> {
    match configured_models(gateway).into_iter().find(|(model, _)| model == id) {
        Some((model, name)) => {
            let entry = gemini::model_list_entry(&model, &format!("{model} ({name})"));
            respond::json(StatusCode::OK, entry.to_string().into())
        }
        None => respond::error(WireFormat::Gemini, &GatewayError::NotFound(format!("model '{id}' is not configured"))),
    }
}

/// `GET /api/tags`
pub fn ollama_tags(gateway: &Gateway) -> Response<Body> {
    let models: Vec<_> = configured_models(gateway).iter().map(|(id, _)| ollama::tags_entry(id)).collect();
    respond::json(StatusCode::OK, json!({ "models": models }).to_string().into())
}

/// `GET /api/version`: Ollama clients check it before chatting.
pub fn ollama_version() -> Response<Body> {
    respond::json(StatusCode::OK, json!({ "version": env!("CARGO_PKG_VERSION") }).to_string().into())
}

/// `GET /v1/models`
pub fn list_models(gateway: &Gateway) -> Response<Body> {
    let body = json!({ "object": "list", "data": model_entries(gateway) });
    respond::json(StatusCode::OK, body.to_string().into())
}

/// `GET /v1/models/{id}`
pub fn get_model(gateway: &Gateway, id: &str) -> Response<Body> {
    match model_entries(gateway).into_iter().find(|m| m["id"] == id) {
        Some(model) => respond::json(StatusCode::OK, model.to_string().into()),
        None => respond::error(
            WireFormat::OpenaiChat,
            &GatewayError::UnknownModel(format!("model '{id}' is not configured")),
        ),
    }
}

/// `GET /api/monitoring/health`
pub fn health(gateway: &Gateway) -> Response<Body> {
    let snapshot = gateway.snapshot();
    let uptime_ms = gateway.uptime_us() / 1000;
    let body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeMs": uptime_ms,
        "configVersion": snapshot.version,
        "providers": snapshot.providers().len(),
    });
    respond::json(StatusCode::OK, body.to_string().into())
}
