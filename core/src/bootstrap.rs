//! What every runtime calls once after `Gateway::new`, whatever its ports: the one entry point
//! for start-up work the core owns, so runtimes never reach into the management API's modules
//! (which may move) for it. The logic itself stays where it belongs.

use crate::error::GatewayError;
use crate::gateway::Gateway;

/// First run: with no admin password stored, sets `initial` (`INITIAL_PASSWORD`) or a
/// generated one, and returns the generated one so the runtime can show it once (never
/// through its logs). Refuses an `initial` that is too short. Later starts change nothing.
pub async fn ensure_admin_password(gateway: &Gateway, initial: Option<&str>) -> Result<Option<String>, GatewayError> {
    crate::admin::auth_api::ensure_admin_password(gateway, initial).await
}
