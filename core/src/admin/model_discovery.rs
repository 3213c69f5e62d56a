//! Model discovery: a provider with no `models` of its own also lists what its upstream says it
//! serves (asked with the probe's one fetcher), kept in the store so model lists and bare names
//! keep those models across restarts while the upstream is down. Runs at start and periodically
//! (runtimes with timers) and on `POST /api/providers/{id}/sync-models`; an answer that cannot
//! be used (an error status, a network failure, a body in no known shape) keeps the cached list.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::admin::commit::{stored, write};
use crate::admin::json::{ok, timestamp};
use crate::admin::provider_probe::{ProbeOutcome, account, fetch_model_list, target};
use crate::config::{AuditEntry, ConfigChange, DiscoveredModel, DiscoveredModels};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};

/// How the stored list moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelChanges {
    /// Ids the upstream lists now that the stored list did not have.
    pub added: usize,
    /// Ids of the stored list the upstream no longer lists.
    pub removed: usize,
    pub total: usize,
}

/// `POST /api/providers/{id}/sync-models`: what the upstream listed, now stored.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub ok: bool,
    pub provider: String,
    /// The account that asked.
    pub connection_id: String,
    /// How many models the upstream lists.
    pub synced_models: usize,
    pub model_changes: ModelChanges,
    /// The upstream's models in its order (also those another source already names: lists
    /// show each id once).
    pub models: Vec<DiscoveredModel>,
    /// When this list was fetched.
    pub fetched_at: String,
}

/// `POST /api/providers/{id}/sync-models`: `{id}` is a provider or one of its accounts (asked
/// as that account).
pub async fn sync(call: Call<'_>) -> Answer {
    let report = discover(call.gateway, &call.decoded_param("id"), Some(call.ctx)).await?;
    Ok(ok(&report))
}

/// Discovers the models of every enabled provider that has an account and no `models` of its
/// own, all at once. A provider whose upstream fails is logged and keeps its cached list.
/// Returns how many providers answered with a usable list.
pub async fn discover_all(gateway: &Gateway) -> usize {
    discover_each(gateway, &discoverable(gateway)).await
}

/// Discovers the providers that became discoverable since `seen` was filled (added over the
/// API, or given their first account), so a new provider's models show within one check rather
/// than one full round; each is tried once here (the full rounds retry). Returns how many
/// answered.
pub async fn discover_new(gateway: &Gateway, seen: &mut BTreeSet<String>) -> usize {
    let new: Vec<String> = discoverable(gateway).into_iter().filter(|id| !seen.contains(id)).collect();
    if new.is_empty() {
        return 0;
    }
    seen.extend(new.iter().cloned());
    discover_each(gateway, &new).await
}

/// Every enabled provider that has an account and no `models` of its own.
pub fn discoverable(gateway: &Gateway) -> Vec<String> {
    let snapshot = gateway.snapshot();
    snapshot.providers().iter().filter(|p| p.discovers && !p.connections.is_empty()).map(|p| p.id.clone()).collect()
}

async fn discover_each(gateway: &Gateway, ids: &[String]) -> usize {
    let results = futures_util::future::join_all(ids.iter().map(|id| discover(gateway, id, None))).await;
    let mut answered = 0;
    for (id, result) in ids.iter().zip(results) {
        match result {
            Ok(_) => answered += 1,
            // Logged with the upstream's reason where it failed.
            Err(GatewayError::UpstreamUnavailable(_)) => {}
            Err(e) => tracing::warn!(provider = %id, error = %e, "model discovery failed"),
        }
    }
    answered
}

/// Asks the upstream of provider (or account) `id` for its models and stores them when they
/// differ from the cached list; `ctx` (a management call) audits the change.
async fn discover(gateway: &Gateway, id: &str, ctx: Option<&RequestContext>) -> Result<SyncReport, GatewayError> {
    let stored = stored(gateway).await?;
    let provider = target(&stored, id)?;
    if !provider.discovers {
        return Err(GatewayError::Conflict(if provider.models_path.is_none() {
            format!("provider '{}' has no model list endpoint to discover models from", provider.id)
        } else {
            format!(
                "provider '{}' names its own models (`models` in its config), so its upstream's list is not used",
                provider.id
            )
        }));
    }
    let connection = account(&provider)?;
    let listed = match fetch_model_list(gateway, &provider, connection).await {
        Some(Ok(listed)) => listed,
        Some(Err(outcome)) => {
            let reason = reason(&outcome);
            tracing::warn!(
                provider = %provider.id,
                account = %connection.id,
                status = ?outcome.status,
                reason = %reason,
                "model discovery: the upstream's model list cannot be used; keeping the cached list"
            );
            return Err(GatewayError::UpstreamUnavailable(format!(
                "the model list of provider '{}' could not be used ({reason}); the cached list is kept",
                provider.id
            )));
        }
        None => return Err(GatewayError::Conflict(format!("provider '{}' has no model list endpoint", provider.id))),
    };
    let models: Vec<DiscoveredModel> = listed.into_iter().map(|m| DiscoveredModel { id: m.id, name: m.name }).collect();
    let previous = stored.discovered.get(&provider.id);
    let changes = diff(previous, &models);
    let now_ms = gateway.ports.clock.now_unix_ms();
    let mut fetched_ms = previous.map_or(now_ms, |p| p.fetched_ms);
    // Rewritten only when the list moved: an unchanged list leaves the config version alone.
    if previous.map(|p| &p.models) != Some(&models) {
        fetched_ms = now_ms;
        let ids = |list: &[DiscoveredModel]| serde_json::json!(list.iter().map(|m| &m.id).collect::<Vec<_>>());
        let audit = ctx.map(|ctx| AuditEntry {
            id: 0,
            timestamp_ms: now_ms,
            actor: ctx.caller.actor(),
            ip: ctx.client_addr.map(|a| a.to_string()),
            action: "provider.models.sync".into(),
            target: provider.id.clone(),
            before: previous.map(|p| ids(&p.models)),
            after: Some(ids(&models)),
        });
        let change = ConfigChange::PutDiscoveredModels {
            provider: provider.id.clone(),
            models: DiscoveredModels { models: models.clone(), fetched_ms },
        };
        write(gateway, vec![change], audit).await?;
        tracing::info!(
            provider = %provider.id,
            models = models.len(),
            added = changes.added,
            removed = changes.removed,
            "model discovery: the upstream's model list changed"
        );
    }
    Ok(SyncReport {
        ok: true,
        provider: provider.id.clone(),
        connection_id: connection.id.clone(),
        synced_models: models.len(),
        model_changes: changes,
        models,
        fetched_at: timestamp(fetched_ms),
    })
}

/// Why an answer cannot be used, for the log and the client: its kind, status and message
/// (the key already masked by the fetcher).
fn reason(outcome: &ProbeOutcome) -> String {
    let status = outcome.status.map(|s| format!(", HTTP {s}")).unwrap_or_default();
    match &outcome.error {
        Some(error) => format!("{}{status}: {}", error.kind, error.message),
        None => format!("upstream_error{status}"),
    }
}

fn diff(previous: Option<&DiscoveredModels>, now: &[DiscoveredModel]) -> ModelChanges {
    let before: Vec<&str> = previous.map(|p| p.ids().collect()).unwrap_or_default();
    let added = now.iter().filter(|m| !before.contains(&m.id.as_str())).count();
    let removed = before.iter().filter(|id| !now.iter().any(|m| m.id == **id)).count();
    ModelChanges { added, removed, total: added + removed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str) -> DiscoveredModel {
        DiscoveredModel { id: id.into(), name: None }
    }

    #[test]
    fn changes_count_ids_added_and_removed() {
        let before = DiscoveredModels { models: vec![model("a"), model("b")], fetched_ms: 1 };
        assert_eq!(
            diff(Some(&before), &[model("b"), model("c"), model("d")]),
            ModelChanges { added: 2, removed: 1, total: 3 }
        );
        assert_eq!(diff(None, &[model("a")]), ModelChanges { added: 1, removed: 0, total: 1 });
        assert_eq!(diff(Some(&before), &[model("a"), model("b")]), ModelChanges::default());
    }

    #[test]
    fn a_reason_names_the_kind_status_and_message() {
        let outcome = ProbeOutcome {
            valid: false,
            latency_ms: 1,
            status: Some(401),
            error: Some(crate::admin::provider_probe::ProbeError {
                kind: "upstream_auth_error",
                message: "Incorrect API key provided".into(),
            }),
        };
        assert_eq!(reason(&outcome), "upstream_auth_error, HTTP 401: Incorrect API key provided");
    }
}
