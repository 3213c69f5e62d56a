//! Breaker and cooldown settings per failure scope, as the router applies them: from the
//! `[resilience]` config (through `RoutingSettings`), merge-patched by `PATCH /api/resilience`.

use serde::{Deserialize, Serialize};

use crate::providers::AuthScheme;
use crate::routing::health_key::HealthKey;

/// When a breaker opens and how it recovers (the config's own type: one definition).
pub use crate::config::BreakerSettings as BreakerConfig;

/// Breaker and cooldown settings per scope (`[resilience]` in the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerProfiles {
    /// The breaker of one model of one account (and of an account, for its own failures).
    pub default: BreakerConfig,
    /// For providers without credentials (`AuthScheme::None`: local servers), every scope.
    pub local: BreakerConfig,
    /// The breaker of an upstream origin that cannot be reached.
    pub endpoint: BreakerConfig,
    /// How long a model of an account cools down after a 429 that names no time.
    pub rate_limit_cooldown_ms: u64,
    /// How long an account-scoped failure (bad key, no credit) takes the account out: long,
    /// because no retry helps until someone fixes the key or the billing.
    pub account_cooldown_ms: u64,
}

pub use crate::config::{DEFAULT_ACCOUNT_COOLDOWN_MS, DEFAULT_RATE_LIMIT_COOLDOWN_MS};

impl Default for BreakerProfiles {
    fn default() -> Self {
        BreakerProfiles {
            default: BreakerConfig::REMOTE,
            local: BreakerConfig::LOCAL,
            endpoint: BreakerConfig::ENDPOINT,
            rate_limit_cooldown_ms: DEFAULT_RATE_LIMIT_COOLDOWN_MS,
            account_cooldown_ms: DEFAULT_ACCOUNT_COOLDOWN_MS,
        }
    }
}

impl BreakerProfiles {
    pub fn for_auth(&self, auth: AuthScheme) -> &BreakerConfig {
        match auth {
            AuthScheme::None => &self.local,
            _ => &self.default,
        }
    }

    /// The breaker settings of one key: its scope's, or the local ones for a keyless provider.
    pub fn for_key(&self, key: &HealthKey, auth: AuthScheme) -> &BreakerConfig {
        match (key, auth) {
            (_, AuthScheme::None) => &self.local,
            (HealthKey::Endpoint(_), _) => &self.endpoint,
            _ => &self.default,
        }
    }

    /// These profiles with a JSON merge patch (RFC 7396) applied, as `PATCH /api/resilience` does.
    pub fn patched(&self, patch: &serde_json::Value) -> Result<BreakerProfiles, String> {
        fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
            match (target, patch) {
                (serde_json::Value::Object(target), serde_json::Value::Object(patch)) => {
                    for (name, value) in patch {
                        match value {
                            serde_json::Value::Null => drop(target.remove(name)),
                            _ => merge(target.entry(name.clone()).or_insert(serde_json::Value::Null), value),
                        }
                    }
                }
                (target, patch) => *target = patch.clone(),
            }
        }
        let mut current = serde_json::to_value(self).map_err(|e| e.to_string())?;
        merge(&mut current, patch);
        serde_json::from_value(current).map_err(|e| format!("invalid resilience settings: {e}"))
    }
}
