//! Models a provider's upstream says it serves (its own model list), as last fetched: cached in
//! the store so lists and bare names keep them across restarts while the upstream is down.

use serde::{Deserialize, Serialize};

/// One provider's discovered models.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiscoveredModels {
    /// In the upstream's order, each id once.
    pub models: Vec<DiscoveredModel>,
    /// When the upstream last answered with a usable list (Unix ms).
    pub fetched_ms: u64,
}

/// One model of an upstream's list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscoveredModel {
    /// The upstream's model id (Gemini's without `models/`).
    pub id: String,
    /// Its display name, where the upstream gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl DiscoveredModels {
    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|m| m.id.as_str())
    }
}
