//! The routing policies users choose in config: how a combo orders its targets and how a
//! provider picks among its accounts.

use serde::{Deserialize, Serialize};

/// How a combo orders its targets for one request (the rest follow as fallbacks).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComboStrategy {
    /// In the listed order: the first healthy target serves, the others are fallbacks.
    #[default]
    Priority,
    RoundRobin,
    /// Random, proportional to each target's weight.
    Weighted,
    Random,
    /// The target with the fewest requests so far.
    LeastUsed,
    /// Cheapest first, from the catalog's prices.
    CostOptimized,
    /// Power of two choices over a moving latency/error estimate.
    LatencyAware,
}

/// How a provider picks among its accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AccountSelection {
    /// Lowest priority number first; the next only when it fails or cools down.
    #[default]
    FillFirst,
    /// Rotate, staying on one account for `sticky_window` consecutive requests.
    RoundRobin,
    LeastRecentlyUsed,
    Random,
}

impl std::str::FromStr for ComboStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!(
                "unknown combo strategy '{s}' (expected priority, round-robin, weighted, random, least-used, cost-optimized or latency-aware)"
            )
        })
    }
}

impl std::str::FromStr for AccountSelection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!("unknown account selection '{s}' (expected fill-first, round-robin, least-recently-used or random)")
        })
    }
}
