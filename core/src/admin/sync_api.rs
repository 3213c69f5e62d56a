//! `GET /api/sync/cloud` (the reference's sync status): which store this instance keeps its
//! state in, whether other instances share it, how often it reads their changes (the bound on
//! how long one takes to apply here) and how that has gone: the last read, the last change taken
//! in, the last error. Admin only; the database is named by scheme, host and port, never its
//! token.

use serde::Serialize;

use crate::admin::json::ok;
use crate::gateway::call::{Answer, Call};
use crate::gateway::catch_up::CATCH_UP_EVERY_MS;
use crate::gateway::sync_status::SyncState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CloudSync {
    /// `libsql-remote`, `libsql-file` or `memory`.
    storage: &'static str,
    /// The store and where it is (`libsql-remote at https://db.turso.io`).
    location: String,
    /// Other instances on the same database see this one's changes and it sees theirs.
    shared: bool,
    /// The config version this instance serves from.
    config_version: u64,
    /// How often this instance reads the config version: a change made on another instance
    /// applies here within this (plus a reload). `None` when nobody else writes the store.
    poll_every_ms: Option<u64>,
    #[serde(flatten)]
    state: SyncState,
}

/// `GET /api/sync/cloud`.
pub async fn cloud(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let config = &gateway.ports.config;
    let shared = gateway.store_is_shared();
    Ok(ok(&CloudSync {
        storage: config.kind(),
        location: config.location(),
        shared,
        config_version: gateway.snapshot().version,
        poll_every_ms: shared.then_some(CATCH_UP_EVERY_MS),
        state: gateway.sync.state(),
    }))
}
