//! The one write path of the management API: changes and their audit entry go to the store in
//! one transaction, then the gateway reloads its snapshot so the next request sees them.

use serde::Serialize;
use serde_json::Value;

use crate::config::{AuditEntry, ConfigChange, StoredConfig, validate_stored};
use crate::error::GatewayError;
use crate::gateway::{Gateway, RequestContext};

/// A management change as the audit log records it. `before`/`after` are the API's own views,
/// which never hold a secret in clear.
pub struct Change {
    /// `<resource>.<verb>`: `key.create`, `provider.update`, `settings.update`.
    pub action: &'static str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub changes: Vec<ConfigChange>,
}

/// Checks the config `change` would leave (combos, aliases, provider routing fields), writes
/// it with its audit entry and reloads the snapshot.
pub async fn commit(gateway: &Gateway, ctx: &RequestContext, change: Change) -> Result<(), GatewayError> {
    refuse_when_read_only(gateway)?;
    let mut result = stored(gateway).await?;
    for c in &change.changes {
        c.clone().apply_to(&mut result);
    }
    validate_stored(&result).map_err(|e| GatewayError::InvalidRequest(e.0.join("; ")))?;
    let entry = AuditEntry {
        id: 0,
        timestamp_ms: gateway.ports.clock.now_unix_ms(),
        actor: ctx.caller.actor(),
        ip: ctx.client_addr.map(|a| a.to_string()),
        action: change.action.to_owned(),
        target: change.target,
        before: change.before,
        after: change.after,
    };
    write(gateway, change.changes, Some(entry)).await
}

/// Stores `wanted` as the settings document `key`, audited as `action` with `current` as its
/// before; nothing is written (or audited) when they are equal.
pub async fn put_setting<T: Serialize + PartialEq>(
    gateway: &Gateway,
    ctx: &RequestContext,
    action: &'static str,
    key: &str,
    current: &T,
    wanted: &T,
) -> Result<(), GatewayError> {
    if wanted == current {
        return Ok(());
    }
    let value = serde_json::to_value(wanted)
        .map_err(|e| GatewayError::internal(&format!("cannot encode the setting `{key}`"), e))?;
    let change = Change {
        action,
        target: key.into(),
        before: serde_json::to_value(current).ok(),
        after: Some(value.clone()),
        changes: vec![ConfigChange::PutSetting { key: key.into(), value }],
    };
    commit(gateway, ctx, change).await
}

/// The stored config as it is now (rows with their sources), for management reads and checks.
pub async fn stored(gateway: &Gateway) -> Result<StoredConfig, GatewayError> {
    gateway.ports.config.load().await.map_err(|e| store_unavailable(gateway, "read", e))
}

/// A 503 before anything is written when the store cannot keep management changes (a Worker
/// without a database), instead of a success that would be forgotten.
pub fn refuse_when_read_only(gateway: &Gateway) -> Result<(), GatewayError> {
    match gateway.ports.config.read_only() {
        Some(reason) => {
            Err(GatewayError::StoreUnavailable { message: format!("{reason}; nothing was changed"), cause: reason })
        }
        None => Ok(()),
    }
}

/// A 503 naming the database (kind and location, no secret): the store could not be read or
/// did not take the write, so nothing changed; the store's own error goes to the log only.
pub fn store_unavailable(gateway: &Gateway, what: &str, cause: impl std::fmt::Display) -> GatewayError {
    GatewayError::StoreUnavailable {
        message: format!(
            "the database ({}) could not be {what}; nothing was changed. Try again when it is reachable.",
            gateway.ports.config.location()
        ),
        cause: cause.to_string(),
    }
}

/// Writes changes that are not management actions (sessions) and reloads the snapshot.
pub async fn write(
    gateway: &Gateway,
    changes: Vec<ConfigChange>,
    audit: Option<AuditEntry>,
) -> Result<(), GatewayError> {
    gateway.ports.config.apply(changes, audit).await.map_err(|e| store_unavailable(gateway, "written", e))?;
    if let Err(e) = gateway.refresh().await {
        // Stored; the periodic refresh picks it up.
        tracing::warn!(error = %e, "config stored but the snapshot could not be reloaded yet");
    }
    Ok(())
}
