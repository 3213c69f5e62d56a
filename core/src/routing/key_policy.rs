//! A key's policy on the request path: the models it may ask for (globs) and the providers it
//! may be routed to. Checked after the model is known and before anything is sent upstream.

use crate::auth::Caller;
use crate::config::aliases::glob_matches;
use crate::error::GatewayError;
use crate::routing::plan::PlannedTarget;

/// The requested model must match one of the key's globs (none: every model).
pub fn check_model(caller: &Caller, model: &str) -> Result<(), GatewayError> {
    let Some(key) = caller.key() else { return Ok(()) };
    if key.allowed_models.is_empty() || key.allowed_models.iter().any(|glob| glob_matches(glob, model)) {
        return Ok(());
    }
    Err(GatewayError::Forbidden(format!("this API key may not use model '{model}'")))
}

/// Drops targets on providers the key may not use; none left is a 403 naming them.
pub fn allowed_targets(caller: &Caller, targets: Vec<PlannedTarget>) -> Result<Vec<PlannedTarget>, GatewayError> {
    let Some(key) = caller.key() else { return Ok(targets) };
    if key.allowed_providers.is_empty() {
        return Ok(targets);
    }
    let allowed = |t: &PlannedTarget| key.allowed_providers.iter().any(|p| p.eq_ignore_ascii_case(&t.provider.id));
    if targets.iter().any(allowed) {
        return Ok(targets.into_iter().filter(allowed).collect());
    }
    let mut refused: Vec<&str> = targets.iter().map(|t| t.provider.id.as_str()).collect();
    refused.dedup();
    Err(GatewayError::Forbidden(format!("this API key may not use provider '{}'", refused.join("', '"))))
}
