//! The management API (`/api/*` besides the Ollama paths and the routing/telemetry/cache
//! endpoints of `pipeline`): keys, login, providers and their accounts, models and probes, the
//! outbound proxy, aliases, combos, the model catalog, settings, system controls, audit log,
//! usage, budgets, pricing. Every write goes through [`commit::commit`] (validated, audited,
//! snapshot reloaded).

pub mod aliases_api;
pub mod audit_api;
pub mod auth_api;
pub mod budget_api;
pub mod cache_api;
pub mod cache_settings_api;
pub mod catalog_api;
pub mod combo_test;
pub mod combos_api;
pub mod commit;
pub mod connections;
pub mod keys;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod pricing_api;
pub mod provider_models;
pub mod provider_nodes;
pub mod provider_probe;
pub mod provider_rows;
pub mod provider_validate;
pub mod proxy_api;
pub mod query;
pub mod resilience_api;
pub mod respond;
pub mod settings_api;
pub mod settings_docs_api;
pub mod system_api;
pub mod targets;
pub mod telemetry_api;
pub mod usage_api;
pub mod usage_settings_api;
pub mod usage_views;

use http::request::Parts;
use http::{Method, Response};

use crate::body::Body;
use crate::error::GatewayError;
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::chat::read_body;
use crate::ports::LifecycleAction;

/// The segments after `/api/` (`["keys", "key_1", "revoke"]`).
pub fn segments(path: &str) -> Vec<&str> {
    path.trim_end_matches('/').strip_prefix("/api/").map(|rest| rest.split('/').collect()).unwrap_or_default()
}

/// Paths anyone may call.
pub fn is_public(method: &Method, path: &str) -> bool {
    let rest = segments(path);
    auth_api::is_public(method, &rest) || matches!((method, rest.as_slice()), (&Method::GET, ["init"]))
}

pub(crate) fn not_found(rest: &[&str]) -> GatewayError {
    GatewayError::NotFound(format!("/api/{}", rest.join("/")))
}

/// Serves one management request (access already checked).
pub async fn handle(gateway: &Gateway, ctx: &RequestContext, parts: &Parts, body: Body) -> Response<Body> {
    respond::render(dispatch(gateway, ctx, parts, body).await)
}

async fn dispatch(
    gateway: &Gateway,
    ctx: &RequestContext,
    parts: &Parts,
    body: Body,
) -> Result<Response<Body>, GatewayError> {
    let body = read_body(gateway, body).await?;
    let rest = segments(parts.uri.path());
    let method = &parts.method;
    match rest.as_slice() {
        ["auth", tail @ ..] => auth_api::handle(gateway, ctx, parts, tail, &body).await,
        ["keys", tail @ ..] => keys::handle(gateway, ctx, method, tail, &body).await,
        ["providers", "validate"] => provider_validate::handle(gateway, method, &body).await,
        ["providers", id, action @ ("test" | "models")] => {
            provider_probe::handle(gateway, method, id, action, &body).await
        }
        ["providers", tail @ ..] => connections::handle(gateway, ctx, method, tail, parts.uri.query(), &body).await,
        ["provider-nodes", tail @ ..] => provider_nodes::handle(gateway, ctx, method, tail, &body).await,
        ["provider-models"] => provider_models::handle(gateway, ctx, method, parts.uri.query(), &body).await,
        ["settings", "proxy"] => proxy_api::handle(gateway, ctx, method, false, &body).await,
        ["settings", "proxy", "test"] => proxy_api::handle(gateway, ctx, method, true, &body).await,
        ["settings", "require-login"] => auth_api::require_login(gateway, ctx, method, &body).await,
        ["settings", "usage"] => usage_settings_api::handle(gateway, ctx, method, &body).await,
        ["usage", "budget", tail @ ..] => budget_api::handle(gateway, ctx, method, tail, &body).await,
        ["usage", tail @ ..] => usage_api::handle(gateway, method, tail, parts.uri.query()).await,
        ["pricing", tail @ ..] => pricing_api::handle(gateway, ctx, method, tail, parts.uri.query(), &body).await,
        ["settings"] => settings_api::handle(gateway, ctx, parts, &body).await,
        ["settings", name @ ("ip-filter" | "system-prompt" | "thinking-budget")] => {
            settings_docs_api::handle(gateway, ctx, method, name, &body).await
        }
        ["models", "alias", tail @ ..] => {
            aliases_api::handle(gateway, ctx, method, tail, parts.uri.query(), &body).await
        }
        ["models", "catalog"] => match *method {
            Method::GET => Ok(catalog_api::list(gateway)),
            _ => Err(GatewayError::method_not_allowed(method, "GET")),
        },
        ["combos", tail @ ..] => combos_api::handle(gateway, ctx, method, tail, &body).await,
        ["init"] => match *method {
            Method::GET => Ok(system_api::init(gateway)),
            _ => Err(GatewayError::method_not_allowed(method, "GET")),
        },
        ["shutdown"] => system_api::lifecycle(gateway, ctx, method, LifecycleAction::Shutdown).await,
        ["restart"] => system_api::lifecycle(gateway, ctx, method, LifecycleAction::Restart).await,
        ["settings", "cache"] => cache_settings_api::handle(gateway, ctx, method, &body).await,
        ["compliance", "audit-log"] => match *method {
            Method::GET => audit_api::list(gateway, parts.uri.query()).await,
            _ => Err(GatewayError::method_not_allowed(method, "GET")),
        },
        #[cfg(feature = "openapi")]
        ["openapi", "spec"] => match *method {
            Method::GET => Ok(openapi::spec()),
            _ => Err(GatewayError::method_not_allowed(method, "GET")),
        },
        _ => Err(not_found(&rest)),
    }
}
