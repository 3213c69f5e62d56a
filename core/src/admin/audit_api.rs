//! `GET /api/compliance/audit-log?limit=N`: the newest management changes, newest first.

use http::Response;
use serde::Serialize;

use crate::admin::respond::{invalid, ok};
use crate::body::Body;
use crate::config::AuditEntry;
use crate::error::GatewayError;
use crate::pipeline::Gateway;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditLog {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub entries: Vec<AuditEntry>,
    pub total: usize,
}

pub async fn list(gateway: &Gateway, query: Option<&str>) -> Result<Response<Body>, GatewayError> {
    let limit = match query_param(query, "limit") {
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| invalid("limit", format!("must be a number from 1 to {MAX_LIMIT}")))?,
        None => DEFAULT_LIMIT,
    };
    let entries = gateway.ports.config.audit_log(limit).await.map_err(|e| {
        tracing::error!(error = %e, "cannot read the audit log");
        GatewayError::Internal
    })?;
    Ok(ok(&AuditLog { total: entries.len(), entries }))
}

/// One query parameter's raw value.
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}
