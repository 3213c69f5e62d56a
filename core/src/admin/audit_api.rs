//! `GET /api/compliance/audit-log?limit=N`: the newest management changes, newest first.

use serde::Serialize;

use crate::admin::json::ok;
use crate::admin::query::Query;
use crate::config::AuditEntry;
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditLog {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub entries: Vec<AuditEntry>,
    pub total: usize,
}

pub async fn list(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let query = call.query();
    let limit = Query::lenient(query).number("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)? as usize;
    let entries = gateway
        .ports
        .config
        .audit_log(limit)
        .await
        .map_err(|e| GatewayError::internal("cannot read the audit log", e))?;
    Ok(ok(&AuditLog { total: entries.len(), entries }))
}
