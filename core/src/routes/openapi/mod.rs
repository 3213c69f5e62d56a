//! The OpenAPI 3.1 document of every endpoint (`GET /api/openapi/spec`), generated with utoipa
//! from the handlers' own request and response types. One file per endpoint group, each its own
//! `OpenApi` merged here; doc-only stubs carry the path annotations. Each operation's security
//! comes from its row of the route table, and a test holds the document's operations and the
//! table's rows equal.

mod access;
mod backups;
mod cache;
mod common;
mod inference;
mod operations;
mod providers;
mod routing;
mod settings;
mod usage;

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

pub use common::ManagementErrors;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "omniroute",
        description = "One endpoint for the OpenAI, Anthropic, Gemini and Ollama APIs in front of many LLM providers, and its management API."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "inference", description = "The client APIs (OpenAI, Anthropic, Gemini, Ollama)"),
        (name = "auth", description = "Admin login"),
        (name = "keys", description = "Gateway API keys"),
        (name = "providers", description = "Providers, their accounts and models; probes of real upstreams"),
        (name = "settings", description = "Gateway settings"),
        (name = "routing", description = "Model aliases, combos and the model catalog"),
        (name = "system", description = "First-run check, shutdown and restart"),
        (name = "audit", description = "The audit log of management changes"),
        (name = "usage", description = "Usage history, logs, per-account usage and key budgets"),
        (name = "pricing", description = "The price table costs are computed from"),
        (name = "operations", description = "Routing state, telemetry, cache, health"),
        (name = "backups", description = "Database backups (a local folder or an S3 bucket), export and import")
    )
)]
struct Base;

/// The security schemes operations refer to: the admin session cookie and Bearer keys.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::guard::SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components
            .add_security_scheme("x-api-key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))));
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.merge(access::Doc::openapi());
    doc.merge(backups::Doc::openapi());
    doc.merge(cache::Doc::openapi());
    doc.merge(operations::Doc::openapi());
    doc.merge(providers::Doc::openapi());
    doc.merge(inference::Doc::openapi());
    doc.merge(usage::Doc::openapi());
    doc.merge(routing::Doc::openapi());
    doc.merge(settings::Doc::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as served: utoipa's, plus what its attributes cannot say.
pub fn document_json() -> Result<serde_json::Value, serde_json::Error> {
    let mut doc = serde_json::to_value(document())?;
    security_from_table(&mut doc);
    unsigned_bounds(&mut doc);
    access::name_required_on_create(&mut doc);
    usage::instant_params(&mut doc);
    Ok(doc)
}

/// utoipa writes `u32`/`u64` as `int32`/`int64` with a minimum of 0, which caps them at the
/// signed maximum; serde reads the whole unsigned range, so the schema says that instead.
fn unsigned_bounds(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let unsigned = map.get("minimum").and_then(serde_json::Value::as_f64).is_some_and(|m| m >= 0.0);
            let max = match map.get("format").and_then(serde_json::Value::as_str) {
                Some("int32") if unsigned => Some(serde_json::Value::from(u32::MAX)),
                Some("int64") if unsigned => Some(serde_json::Value::from(u64::MAX)),
                _ => None,
            };
            if let Some(max) = max {
                map.remove("format");
                map.entry("maximum").or_insert(max);
            }
            map.values_mut().for_each(unsigned_bounds);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unsigned_bounds),
        _ => {}
    }
}

/// The document, answered.
pub fn spec() -> crate::gateway::call::Answer {
    let json = document_json()
        .and_then(|doc| serde_json::to_vec(&doc))
        .map_err(|e| crate::error::GatewayError::internal("cannot encode the OpenAPI document", e))?;
    Ok(crate::render::json(http::StatusCode::OK, json.into()))
}

/// Sets each operation's `security` from its route's access rule: none for public routes, a
/// session or an admin key for management, optional keys for the client APIs (Anthropic's
/// SDKs send `x-api-key`).
fn security_from_table(doc: &mut serde_json::Value) {
    use super::table::{Access, ErrorFormat, documented_row};
    use serde_json::json;
    let Some(paths) = doc.get_mut("paths").and_then(serde_json::Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            let (Some(row), Some(operation)) = (documented_row(method, path), operation.as_object_mut()) else {
                continue;
            };
            let security = match (row.access, row.errors) {
                (Access::Public, _) => None,
                (Access::Management | Access::Metrics, _) => Some(json!([{ "session": [] }, { "bearer": [] }])),
                (Access::Inference, ErrorFormat::Client(crate::providers::WireFormat::Anthropic)) => {
                    Some(json!([{}, { "x-api-key": [] }, { "bearer": [] }]))
                }
                (Access::Inference, _) => Some(json!([{}, { "bearer": [] }])),
            };
            match security {
                Some(security) => operation.insert("security".into(), security),
                None => operation.remove("security"),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::table::{ROUTES, documented_path};

    #[test]
    fn the_document_lists_exactly_the_route_table() {
        let doc = super::document_json().unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let routed: BTreeSet<_> =
            ROUTES.iter().map(|row| (row.verb.as_str().to_owned(), documented_path(row.path))).collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "rows without docs: {undocumented:?}; docs without rows: {unrouted:?}"
        );
        // Security follows the access rule.
        assert!(doc["paths"]["/api/auth/login"]["post"].get("security").is_none());
        assert_eq!(
            doc["paths"]["/api/keys"]["get"]["security"],
            serde_json::json!([{ "session": [] }, { "bearer": [] }])
        );
        assert_eq!(doc["paths"]["/v1/chat/completions"]["post"]["security"], serde_json::json!([{}, { "bearer": [] }]));
    }
    #[test]
    fn the_document_is_openapi_3_1_and_names_every_group() {
        let doc = super::document_json().unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/api/keys",
            "/api/keys/{id}",
            "/api/auth/login",
            "/v1/chat/completions",
            "/api/resilience",
            "/api/models/alias",
            "/api/combos/{id}/test",
            "/api/settings",
            "/api/settings/thinking-budget",
            "/api/init",
            "/api/restart",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert!(doc["components"]["securitySchemes"]["session"].is_object());
        let rpm = &doc["components"]["schemas"]["KeyInput"]["properties"]["requestsPerMinute"];
        assert_eq!(
            (rpm["minimum"].as_u64(), rpm["maximum"].as_u64(), rpm.get("format")),
            (Some(1), Some(u32::MAX.into()), None)
        );
        let create = &doc["paths"]["/api/keys"]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(create["$ref"], "#/components/schemas/CreateKeyInput");
        assert_eq!(doc["components"]["schemas"]["CreateKeyInput"]["required"], serde_json::json!(["name"]));
    }
}
