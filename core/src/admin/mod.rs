//! The management API (`/api/*` besides the Ollama paths and the routing/telemetry/cache
//! endpoints of `pipeline`): keys, login, settings, audit log. Every write goes through
//! [`commit::commit`] (validated, audited, snapshot reloaded).

pub mod audit_api;
pub mod auth_api;
pub mod cache_settings_api;
pub mod commit;
pub mod keys;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod respond;

use http::request::Parts;
use http::{Method, Response};

use crate::body::Body;
use crate::error::GatewayError;
use crate::pipeline::chat::read_body;
use crate::pipeline::{Gateway, RequestContext};

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
        ["settings", "require-login"] => auth_api::require_login(gateway, ctx, method, &body).await,
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
