//! Read-only endpoints: the model list in OpenAI's shape and the health check.

use http::{Response, StatusCode};
use serde_json::json;

use crate::body::Body;
use crate::error::GatewayError;
use crate::pipeline::Gateway;
use crate::pipeline::respond;
use crate::providers::WireFormat;

fn model_entries(gateway: &Gateway) -> Vec<serde_json::Value> {
    let snapshot = gateway.snapshot();
    snapshot
        .providers()
        .iter()
        .filter(|p| !p.connections.is_empty())
        .flat_map(|p| {
            p.models.iter().map(move |m| {
                json!({ "id": format!("{}/{}", p.id, m.id), "object": "model", "created": 0, "owned_by": p.id })
            })
        })
        .collect()
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
    let uptime_ms = gateway.ports.clock.monotonic_us().saturating_sub(gateway.started_us) / 1000;
    let body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeMs": uptime_ms,
        "configVersion": snapshot.version,
        "providers": snapshot.providers().len(),
    });
    respond::json(StatusCode::OK, body.to_string().into())
}
