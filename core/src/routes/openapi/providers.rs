//! Documentation of providers, their accounts and models, the provider probes and the outbound
//! proxy setting.
#![allow(dead_code)]

use utoipa::OpenApi;

use super::common::ManagementErrors;
use crate::admin::connections::{ConnectionList, ConnectionOne, ConnectionView, CreateConnection, UpdateConnection};
use crate::admin::json::ErrorBody;
use crate::admin::keys::Deleted;
use crate::admin::model_discovery::{ModelChanges, SyncReport};
use crate::admin::provider_models::{
    AddModel, HiddenUpdate, HideModels, KnownModel, ModelDeleted, ModelList, ModelOne, ModelView,
};
use crate::admin::provider_nodes::{Effective, NodeDeleted, NodeInput, NodeList, NodeOne, NodeTimeouts, NodeView};
use crate::admin::provider_probe::{ListedModel, ModelsReport, ProbeError, ProbeOutcome, TestInput, TestReport};
use crate::admin::provider_validate::{ValidateInput, ValidateReport};
use crate::admin::proxy_api::{ProxyInput, ProxyTestInput, ProxyTestReport, ProxyView};
use crate::config::DiscoveredModel;
use crate::config::policy::AccountSelection;
use crate::providers::{AuthScheme, WireFormat};

#[derive(OpenApi)]
#[openapi(
    paths(
        list_connections,
        create_connection,
        get_connection,
        update_connection,
        patch_connection,
        delete_connection,
        test_connection,
        connection_models,
        sync_models,
        validate_provider,
        list_nodes,
        create_node,
        get_node,
        update_node,
        patch_node,
        delete_node,
        list_models,
        add_model,
        hide_models,
        delete_model,
        get_proxy,
        put_proxy,
        patch_proxy,
        test_proxy
    ),
    components(schemas(
        ConnectionView,
        ConnectionList,
        ConnectionOne,
        CreateConnection,
        UpdateConnection,
        Deleted,
        ProbeError,
        ProbeOutcome,
        TestInput,
        TestReport,
        ListedModel,
        ModelsReport,
        DiscoveredModel,
        ModelChanges,
        SyncReport,
        ValidateInput,
        ValidateReport,
        NodeTimeouts,
        Effective,
        NodeView,
        NodeList,
        NodeOne,
        NodeInput,
        NodeDeleted,
        ModelView,
        KnownModel,
        ModelList,
        ModelOne,
        AddModel,
        HideModels,
        HiddenUpdate,
        ModelDeleted,
        ProxyView,
        ProxyInput,
        ProxyTestInput,
        ProxyTestReport,
        WireFormat,
        AuthScheme,
        AccountSelection,
        ErrorBody
    ))
)]
pub struct Doc;

/// Every account (the seed's "connections"); keys masked to their last four characters.
#[utoipa::path(get, path = "/api/providers", tag = "providers", params(("provider" = Option<String>, Query, description = "Only this provider's accounts")),
    responses((status = 200, body = ConnectionList), ManagementErrors))]
fn list_connections() {}

/// Add an account; a catalog provider not configured yet is configured with its defaults.
#[utoipa::path(post, path = "/api/providers", tag = "providers", request_body = CreateConnection, responses((status = 201, body = ConnectionOne), ManagementErrors))]
fn create_connection() {}

/// One account.
#[utoipa::path(get, path = "/api/providers/{id}", tag = "providers", params(("id" = String, Path, description = "The account's id (`conn_…`, or `<provider>:<name>` for config-file accounts)")),
    responses((status = 200, body = ConnectionOne), ManagementErrors))]
fn get_connection() {}

/// Change an account; fields left out keep their value. Config-file accounts are read-only (409).
#[utoipa::path(put, path = "/api/providers/{id}", tag = "providers", params(("id" = String, Path)), request_body = UpdateConnection,
    responses((status = 200, body = ConnectionOne), (status = 409, body = ErrorBody), ManagementErrors))]
fn update_connection() {}

/// Change an account; fields left out keep their value.
#[utoipa::path(patch, path = "/api/providers/{id}", tag = "providers", params(("id" = String, Path)), request_body = UpdateConnection,
    responses((status = 200, body = ConnectionOne), (status = 409, body = ErrorBody), ManagementErrors))]
fn patch_connection() {}

/// Delete an account. Config-file accounts are read-only (409).
#[utoipa::path(delete, path = "/api/providers/{id}", tag = "providers", params(("id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 409, body = ErrorBody), ManagementErrors))]
fn delete_connection() {}

/// A real minimal chat with the account (or a provider's first account); the upstream's answer
/// is reported as it came.
#[utoipa::path(post, path = "/api/providers/{id}/test", tag = "providers", params(("id" = String, Path, description = "An account id, or a provider id")),
    request_body(content = Option<TestInput>, description = "Optional"),
    responses((status = 200, body = TestReport), (status = 409, body = ErrorBody), ManagementErrors))]
fn test_connection() {}

/// The provider's models: the upstream's own list where it has one, else the catalog's.
#[utoipa::path(get, path = "/api/providers/{id}/models", tag = "providers", params(("id" = String, Path, description = "An account id, or a provider id")),
    responses((status = 200, body = ModelsReport), (status = 409, body = ErrorBody), ManagementErrors))]
fn connection_models() {}

/// Model discovery now: asks the upstream for its model list and stores it (served in every
/// model list and by bare name beside the catalog's). For providers with no `models` of their
/// own; an upstream error or an unusable answer is a 502 and keeps the stored list.
#[utoipa::path(post, path = "/api/providers/{id}/sync-models", tag = "providers", params(("id" = String, Path, description = "A provider id, or one of its account ids")),
    responses((status = 200, body = SyncReport), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody), ManagementErrors))]
fn sync_models() {}

/// Check a provider config and key without saving; optionally one live call.
#[utoipa::path(post, path = "/api/providers/validate", tag = "providers", request_body = ValidateInput, responses((status = 200, body = ValidateReport), ManagementErrors))]
fn validate_provider() {}

/// Every configured provider (custom ones and catalog overrides).
#[utoipa::path(get, path = "/api/provider-nodes", tag = "providers", responses((status = 200, body = NodeList), ManagementErrors))]
fn list_nodes() {}

/// Add a custom provider, or override a catalog one (`id` required).
#[utoipa::path(post, path = "/api/provider-nodes", tag = "providers", request_body = NodeInput,
    responses((status = 201, body = NodeOne), (status = 409, body = ErrorBody), ManagementErrors))]
fn create_node() {}

/// One provider.
#[utoipa::path(get, path = "/api/provider-nodes/{id}", tag = "providers", params(("id" = String, Path, description = "The provider id (model prefix) or a catalog alias")),
    responses((status = 200, body = NodeOne), ManagementErrors))]
fn get_node() {}

/// Change a provider; fields left out keep their value, `null` goes back to the catalog's.
#[utoipa::path(put, path = "/api/provider-nodes/{id}", tag = "providers", params(("id" = String, Path)), request_body = NodeInput,
    responses((status = 200, body = NodeOne), (status = 409, body = ErrorBody), ManagementErrors))]
fn update_node() {}

/// Change a provider; fields left out keep their value, `null` goes back to the catalog's.
#[utoipa::path(patch, path = "/api/provider-nodes/{id}", tag = "providers", params(("id" = String, Path)), request_body = NodeInput,
    responses((status = 200, body = NodeOne), (status = 409, body = ErrorBody), ManagementErrors))]
fn patch_node() {}

/// Delete a provider with its accounts and custom/hidden models.
#[utoipa::path(delete, path = "/api/provider-nodes/{id}", tag = "providers", params(("id" = String, Path)),
    responses((status = 200, body = NodeDeleted), (status = 409, body = ErrorBody), ManagementErrors))]
fn delete_node() {}

/// Custom models and hidden ones, by provider.
#[utoipa::path(get, path = "/api/provider-models", tag = "providers", params(("provider" = Option<String>, Query, description = "Only this provider (adds `allModels`)")),
    responses((status = 200, body = ModelList), ManagementErrors))]
fn list_models() {}

/// Add a model to a provider.
#[utoipa::path(post, path = "/api/provider-models", tag = "providers", request_body = AddModel,
    responses((status = 201, body = ModelOne), (status = 409, body = ErrorBody), ManagementErrors))]
fn add_model() {}

/// Hide or show models of a provider.
#[utoipa::path(patch, path = "/api/provider-models", tag = "providers", params(
        ("provider" = Option<String>, Query, description = "Instead of the body's `provider`"),
        ("modelId" = Option<String>, Query, description = "Instead of the body's `modelId`")
    ),
    request_body = HideModels, responses((status = 200, body = HiddenUpdate), ManagementErrors))]
fn hide_models() {}

/// Remove a custom model.
#[utoipa::path(delete, path = "/api/provider-models", tag = "providers", params(
        ("provider" = String, Query),
        ("model" = Option<String>, Query, description = "The model id (or `modelId`)"),
        ("modelId" = Option<String>, Query)
    ),
    responses((status = 200, body = ModelDeleted), ManagementErrors))]
fn delete_model() {}

/// The outbound proxy for upstream calls (credentials masked).
#[utoipa::path(get, path = "/api/settings/proxy", tag = "settings", responses((status = 200, body = ProxyView), ManagementErrors))]
fn get_proxy() {}

/// Set the outbound proxy; it applies to the next upstream call.
#[utoipa::path(put, path = "/api/settings/proxy", tag = "settings", request_body = ProxyInput, responses((status = 200, body = ProxyView), ManagementErrors))]
fn put_proxy() {}

/// Set the outbound proxy; fields left out keep their value.
#[utoipa::path(patch, path = "/api/settings/proxy", tag = "settings", request_body = ProxyInput, responses((status = 200, body = ProxyView), ManagementErrors))]
fn patch_proxy() {}

/// One GET through a proxy (the saved one by default) to a URL (the first provider's base URL
/// by default).
#[utoipa::path(post, path = "/api/settings/proxy/test", tag = "settings", request_body(content = Option<ProxyTestInput>, description = "Optional"),
    responses((status = 200, body = ProxyTestReport), ManagementErrors))]
fn test_proxy() {}

#[cfg(test)]
mod tests {
    #[test]
    fn every_provider_endpoint_is_documented_with_its_enums() {
        let doc = super::super::document_json().unwrap();
        for (path, method) in [
            ("/api/providers", "post"),
            ("/api/providers/{id}", "put"),
            ("/api/providers/{id}/test", "post"),
            ("/api/providers/{id}/models", "get"),
            ("/api/providers/{id}/sync-models", "post"),
            ("/api/providers/validate", "post"),
            ("/api/provider-nodes", "post"),
            ("/api/provider-nodes/{id}", "delete"),
            ("/api/provider-models", "patch"),
            ("/api/settings/proxy", "put"),
            ("/api/settings/proxy/test", "post"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
        }
        let formats = &doc["components"]["schemas"]["WireFormat"]["enum"];
        assert!(formats.as_array().unwrap().contains(&serde_json::json!("openai-responses")), "{formats}");
        assert!(doc["paths"]["/api/providers/{id}"]["delete"]["responses"]["409"].is_object());
    }
}
