//! What a breaker or cooldown is keyed by, and its text form (`/api/resilience` keys, the reset
//! endpoint's argument, shared cooldown rows).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a breaker or cooldown guards: one account (connection id), one model of one account
/// (where model-scoped failures land), one upstream origin (`scheme://host:port`, where
/// failures to reach it land), or one (provider, model) (latency and error estimates only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HealthKey {
    Account(String),
    Deployment { account: String, model: String },
    Endpoint(String),
    Model { provider: String, model: String },
}

/// Which scope a key stands for, as `/api/resilience` shows it and its reset takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    Account,
    Model,
    Endpoint,
    /// A (provider, model)'s estimates across accounts (no breaker of its own).
    Estimate,
}

/// Between the account and the model in a deployment key's text.
const DEPLOYMENT_SEP: &str = "/model:";

impl HealthKey {
    pub fn account(id: impl Into<String>) -> Self {
        HealthKey::Account(id.into())
    }
    pub fn model(provider: impl Into<String>, model: impl Into<String>) -> Self {
        HealthKey::Model { provider: provider.into(), model: model.into() }
    }
    pub fn deployment(account: impl Into<String>, model: impl Into<String>) -> Self {
        HealthKey::Deployment { account: account.into(), model: model.into() }
    }

    /// The endpoint key of a provider's base URL: its origin, so every provider and path
    /// behind one host and port shares it (a refused connection refuses them all).
    pub fn endpoint_of(base_url: &str) -> Self {
        let after_scheme = base_url.find("://").map_or(0, |at| at + 3);
        let end = base_url[after_scheme..].find(['/', '?', '#']).map_or(base_url.len(), |at| after_scheme + at);
        HealthKey::Endpoint(base_url[..end].to_ascii_lowercase())
    }

    pub fn scope(&self) -> KeyScope {
        match self {
            HealthKey::Account(_) => KeyScope::Account,
            HealthKey::Deployment { .. } => KeyScope::Model,
            HealthKey::Endpoint(_) => KeyScope::Endpoint,
            HealthKey::Model { .. } => KeyScope::Estimate,
        }
    }

    /// The account this key belongs to, if any.
    pub fn account_id(&self) -> Option<&str> {
        match self {
            HealthKey::Account(id) | HealthKey::Deployment { account: id, .. } => Some(id),
            HealthKey::Model { .. } | HealthKey::Endpoint(_) => None,
        }
    }

    /// The model this key belongs to, if any.
    pub fn model_name(&self) -> Option<&str> {
        match self {
            HealthKey::Deployment { model, .. } | HealthKey::Model { model, .. } => Some(model),
            HealthKey::Account(_) | HealthKey::Endpoint(_) => None,
        }
    }

    /// The key's text in the shared store's rows: an account keeps its bare id (the rows older
    /// instances write and read), the others their full text.
    pub fn store_key(&self) -> String {
        match self {
            HealthKey::Account(id) => id.clone(),
            other => other.to_string(),
        }
    }

    /// The key a shared row stands for (see [`HealthKey::store_key`]): an endpoint's (open
    /// breakers) or a deployment's text, else a bare account id.
    pub fn from_store_key(row: &str) -> HealthKey {
        match row.parse::<HealthKey>() {
            Ok(key @ (HealthKey::Deployment { .. } | HealthKey::Endpoint(_))) => key,
            _ => HealthKey::account(row),
        }
    }
}

impl fmt::Display for HealthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthKey::Account(id) => write!(f, "account:{id}"),
            HealthKey::Deployment { account, model } => write!(f, "account:{account}{DEPLOYMENT_SEP}{model}"),
            HealthKey::Endpoint(origin) => write!(f, "endpoint:{origin}"),
            HealthKey::Model { provider, model } => write!(f, "model:{provider}/{model}"),
        }
    }
}

impl std::str::FromStr for HealthKey {
    type Err = String;
    /// `account:<id>`, `account:<id>/model:<model>`, `endpoint:<origin>` or
    /// `model:<provider>/<model>` (the model may contain `/`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(origin) = s.strip_prefix("endpoint:").filter(|o| !o.is_empty()) {
            return Ok(HealthKey::endpoint_of(origin));
        }
        let rest = s.strip_prefix("account:").unwrap_or_default();
        if let Some((account, model)) = rest.split_once(DEPLOYMENT_SEP)
            && !account.is_empty()
            && !model.is_empty()
        {
            return Ok(HealthKey::deployment(account, model));
        }
        if let Some(id) = s.strip_prefix("account:").filter(|id| !id.is_empty()) {
            return Ok(HealthKey::account(id));
        }
        match s.strip_prefix("model:").and_then(|rest| rest.split_once('/')) {
            Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {
                Ok(HealthKey::model(provider, model))
            }
            _ => Err(format!(
                "unknown health key '{s}' (expected account:<id>, account:<id>/model:<model>, endpoint:<origin> or model:<provider>/<model>)"
            )),
        }
    }
}

impl Serialize for HealthKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HealthKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}
