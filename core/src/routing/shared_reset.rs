//! A reset that reaches every instance on one database: what `POST /api/resilience/reset`
//! covered, as a row of the shared store that each instance applies once (forgetting what it
//! learned itself of those keys, which it would otherwise write back) and then ignores.

use crate::routing::health::share::covers;
use crate::routing::health_key::{HealthKey, KeyScope};

/// Before what a reset covered. No other row starts with it (see `health_share`'s prefixes).
const RESET_PREFIX: &str = "reset=";
/// Before a scope in a reset row; a key's text never starts with it.
const SCOPE_PREFIX: &str = "scope=";

/// How long a reset's row stays in the store: an instance that reads within this time applies
/// it (a server reads every 2 s; a Lambda or Worker before its first request after 1 s idle).
pub const RESET_ROW_MS: u64 = 600_000;

/// What one reset covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetTarget {
    All,
    Scope(KeyScope),
    /// One key (an account covers its models).
    Key(HealthKey),
}

impl ResetTarget {
    pub fn covers(&self, key: &HealthKey) -> bool {
        match self {
            ResetTarget::All => true,
            ResetTarget::Scope(scope) => key.scope() == *scope,
            ResetTarget::Key(reset) => covers(Some(reset), key),
        }
    }

    /// The row's text: the key's full text (never a bare account id, so no key is mistaken for
    /// a scope), a scope, or `*`.
    pub fn row(&self) -> String {
        match self {
            ResetTarget::All => format!("{RESET_PREFIX}*"),
            ResetTarget::Scope(scope) => format!("{RESET_PREFIX}{SCOPE_PREFIX}{}", scope_name(*scope)),
            ResetTarget::Key(key) => format!("{RESET_PREFIX}{key}"),
        }
    }

    /// The reset a row stands for; `None` for every other row.
    pub fn from_row(row: &str) -> Option<ResetTarget> {
        let rest = row.strip_prefix(RESET_PREFIX)?;
        if rest == "*" {
            return Some(ResetTarget::All);
        }
        if let Some(name) = rest.strip_prefix(SCOPE_PREFIX) {
            let scope = serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()?;
            return Some(ResetTarget::Scope(scope));
        }
        rest.parse().ok().map(ResetTarget::Key)
    }
}

/// The scope's name as the API spells it (`account`, `model`, `endpoint`, `estimate`).
fn scope_name(scope: KeyScope) -> &'static str {
    match scope {
        KeyScope::Account => "account",
        KeyScope::Model => "model",
        KeyScope::Endpoint => "endpoint",
        KeyScope::Estimate => "estimate",
    }
}
