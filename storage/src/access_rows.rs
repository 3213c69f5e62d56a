//! Reading the access rows of the config store: API keys, admin sessions, settings documents,
//! discovered models and the audit log. A hand-edited row that cannot be read is skipped with an error logged.

use std::collections::BTreeMap;

use crate::sql::{Connection, Value};
use omniroute_core::config::{AdminSession, ApiKeyRecord, AuditEntry, DiscoveredModels};
use omniroute_core::ports::StoreError;

use crate::config_store::store_err;
use crate::config_writes::ROUTING_KEY;
use crate::sealed_fields;
use crate::secrets::SecretBox;

pub(crate) async fn load_api_keys(conn: &Connection) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let read = store_err("reading API keys");
    let mut rows = conn.query("SELECT id, body FROM api_keys ORDER BY created_at, id", ()).await.map_err(&read)?;
    let mut keys = Vec::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        let id = row.get::<String>(0).map_err(&read)?;
        match serde_json::from_str::<ApiKeyRecord>(&row.get::<String>(1).map_err(&read)?) {
            Ok(key) => keys.push(key),
            Err(e) => tracing::error!(key = %id, error = %e, "cannot read a stored API key; it is skipped"),
        }
    }
    Ok(keys)
}

pub(crate) async fn load_sessions(conn: &Connection) -> Result<Vec<AdminSession>, StoreError> {
    let read = store_err("reading sessions");
    let mut rows =
        conn.query("SELECT token_hash, created_ms, expires_ms FROM admin_sessions", ()).await.map_err(&read)?;
    let mut sessions = Vec::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        sessions.push(AdminSession {
            token_hash: row.get(0).map_err(&read)?,
            created_ms: row.get(1).map_err(&read)?,
            expires_ms: row.get(2).map_err(&read)?,
        });
    }
    Ok(sessions)
}

/// Every settings document but `routing` (read on its own, typed).
pub(crate) async fn load_settings(
    conn: &Connection,
    secrets: &SecretBox,
) -> Result<BTreeMap<String, serde_json::Value>, StoreError> {
    let read = store_err("reading settings");
    let mut rows = conn
        .query("SELECT key, value FROM settings WHERE key != ?1", vec![Value::Text(ROUTING_KEY.into())])
        .await
        .map_err(&read)?;
    let mut settings = BTreeMap::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        let key = row.get::<String>(0).map_err(&read)?;
        let Some(json) = sealed_fields::setting_json(secrets, &key, row.get::<String>(1).map_err(&read)?) else {
            continue;
        };
        match serde_json::from_str(&json) {
            Ok(value) => {
                settings.insert(key, value);
            }
            Err(e) => tracing::error!(setting = %key, error = %e, "cannot read a stored setting; using its default"),
        }
    }
    Ok(settings)
}

/// What each provider's upstream listed when last asked (a row that cannot be read is logged
/// and skipped: the next discovery rewrites it).
pub(crate) async fn load_discovered(conn: &Connection) -> Result<BTreeMap<String, DiscoveredModels>, StoreError> {
    let read = store_err("reading discovered models");
    let mut rows =
        conn.query("SELECT provider_id, models, fetched_ms FROM discovered_models", ()).await.map_err(&read)?;
    let mut discovered = BTreeMap::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        let provider = row.get::<String>(0).map_err(&read)?;
        match serde_json::from_str(&row.get::<String>(1).map_err(&read)?) {
            Ok(models) => {
                let fetched_ms = u64::try_from(row.get::<i64>(2).map_err(&read)?).unwrap_or(0);
                discovered.insert(provider, DiscoveredModels { models, fetched_ms });
            }
            Err(e) => {
                tracing::error!(provider = %provider, error = %e, "cannot read the discovered models; skipping them")
            }
        }
    }
    Ok(discovered)
}

pub(crate) async fn load_audit(conn: &Connection, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
    let read = store_err("reading the audit log");
    let mut rows = conn
        .query(
            "SELECT id, ts_ms, actor, ip, action, target, before_json, after_json FROM audit_log ORDER BY id DESC LIMIT ?1",
            vec![Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX))],
        )
        .await
        .map_err(&read)?;
    let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    let mut entries = Vec::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        entries.push(AuditEntry {
            id: row.get(0).map_err(&read)?,
            timestamp_ms: row.get(1).map_err(&read)?,
            actor: row.get(2).map_err(&read)?,
            ip: row.get(3).map_err(&read)?,
            action: row.get(4).map_err(&read)?,
            target: row.get(5).map_err(&read)?,
            before: json(row.get(6).map_err(&read)?),
            after: json(row.get(7).map_err(&read)?),
        });
    }
    Ok(entries)
}
