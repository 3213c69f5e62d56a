//! System endpoints: `GET /api/init` (public first-run check: is a password set, is login
//! required, the version; nothing secret) and `POST /api/shutdown` / `POST /api/restart`
//! (audited; only where the runtime offers them, the native server: 404 elsewhere).

use http::StatusCode;
use serde::Serialize;

use crate::admin::commit::{Change, commit};
use crate::admin::json::{ok, with_status};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::ports::LifecycleAction;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InitStatus {
    /// An admin password exists (first run sets one).
    pub password_set: bool,
    pub require_login: bool,
    /// Inference needs a gateway API key.
    pub require_api_key: bool,
    pub version: &'static str,
    /// `POST /api/shutdown` and `/api/restart` exist on this runtime.
    pub server_controls: bool,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LifecycleAccepted {
    pub ok: bool,
    /// `shutdown` or `restart`.
    pub action: &'static str,
}

/// `GET /api/init`.
pub async fn init(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let snapshot = gateway.snapshot();
    let access = &snapshot.access;
    Ok(ok(&InitStatus {
        password_set: access.password_hash.is_some(),
        require_login: access.security.require_login,
        require_api_key: gateway.options.require_api_key || access.security.require_api_key,
        version: env!("CARGO_PKG_VERSION"),
        server_controls: gateway.lifecycle().is_some(),
    }))
}

/// `POST /api/shutdown`.
pub async fn shutdown(call: Call<'_>) -> Answer {
    lifecycle(call.gateway, call.ctx, LifecycleAction::Shutdown).await
}

/// `POST /api/restart`.
pub async fn restart(call: Call<'_>) -> Answer {
    lifecycle(call.gateway, call.ctx, LifecycleAction::Restart).await
}

/// Shutdown and restart: audited, answered (202), then done once in-flight answers (this one
/// too) have finished. A runtime without the hook (Workers, Lambda) has no such endpoint.
async fn lifecycle(gateway: &Gateway, ctx: &RequestContext, action: LifecycleAction) -> Answer {
    let Some(hook) = gateway.lifecycle().filter(|hook| hook.supports(action)) else {
        return Err(GatewayError::NotFound(format!("/api/{}", action.as_str())));
    };
    let change = Change {
        action: match action {
            LifecycleAction::Shutdown => "system.shutdown",
            LifecycleAction::Restart => "system.restart",
        },
        target: "server".into(),
        before: None,
        after: None,
        changes: Vec::new(),
    };
    commit(gateway, ctx, change).await?;
    tracing::warn!(actor = %ctx.caller.actor(), action = action.as_str(), "asked over the management API");
    hook.request(action);
    Ok(with_status(StatusCode::ACCEPTED, &LifecycleAccepted { ok: true, action: action.as_str() }))
}
