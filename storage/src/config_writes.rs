//! Row writes shared by the declarative sync and the management API's `apply`: upserts and
//! deletes of providers, accounts (keys sealed), aliases, combos, settings, API keys and
//! sessions, each inside the caller's transaction.

use crate::sql::{Connection, Value};
use omniroute_core::config::{
    AliasRecord, AuditEntry, ComboRecord, ConfigChange, ConnectionRecord, ProviderRecord, RoutingSettings,
};
use omniroute_core::ports::StoreError;

use crate::config_store::{enum_text, json_text, store_err};
use crate::sealed_fields;
use crate::secrets::SecretBox;

/// The `settings` key holding [`RoutingSettings`].
pub(crate) const ROUTING_KEY: &str = "routing";

/// A nullable text column.
pub(crate) fn opt(value: Option<String>) -> Value {
    value.map(Value::Text).unwrap_or(Value::Null)
}

pub(crate) async fn upsert_provider(
    tx: &Connection,
    secrets: &SecretBox,
    p: &ProviderRecord,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO providers (id, source, catalog_id, name, format, base_url, auth, headers, chat_path, api_version, models, enabled,
           selection, sticky_window, timeouts, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, strftime('%s','now'), strftime('%s','now'))
         ON CONFLICT(id) DO UPDATE SET source = excluded.source, catalog_id = excluded.catalog_id, name = excluded.name,
           format = excluded.format, base_url = excluded.base_url, auth = excluded.auth, headers = excluded.headers,
           chat_path = excluded.chat_path, api_version = excluded.api_version, models = excluded.models,
           enabled = excluded.enabled, selection = excluded.selection, sticky_window = excluded.sticky_window,
           timeouts = excluded.timeouts, updated_at = excluded.updated_at",
        vec![
            Value::Text(p.id.clone()),
            Value::Text(p.source.clone()),
            opt(p.catalog_id.clone()),
            opt(p.name.clone()),
            enum_text(&p.format)?,
            opt(p.base_url.clone()),
            enum_text(&p.auth)?,
            Value::Text(json_text(&sealed_fields::seal_headers(secrets, &p.headers)?)?),
            opt(p.chat_path.clone()),
            opt(p.api_version.clone()),
            Value::Text(json_text(&p.models)?),
            Value::Integer(i64::from(p.enabled)),
            enum_text(&Some(p.selection))?,
            p.sticky_window.map(|w| Value::Integer(i64::from(w))).unwrap_or(Value::Null),
            Value::Text(json_text(&p.timeouts)?),
        ],
    )
    .await
    .map_err(store_err("writing a provider"))?;
    Ok(())
}

pub(crate) async fn upsert_connection(
    tx: &Connection,
    secrets: &SecretBox,
    c: &ConnectionRecord,
) -> Result<(), StoreError> {
    let sealed = c.api_key.as_deref().map(|k| secrets.seal(k)).transpose().map_err(|e| StoreError(e.to_string()))?;
    tx.execute(
        "INSERT INTO connections (id, provider_id, source, name, api_key_enc, priority, enabled, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%s','now'), strftime('%s','now'))
         ON CONFLICT(id) DO UPDATE SET provider_id = excluded.provider_id, source = excluded.source, name = excluded.name,
           api_key_enc = excluded.api_key_enc, priority = excluded.priority, enabled = excluded.enabled,
           updated_at = excluded.updated_at",
        vec![
            Value::Text(c.id.clone()),
            Value::Text(c.provider_id.clone()),
            Value::Text(c.source.clone()),
            Value::Text(c.name.clone()),
            opt(sealed),
            Value::Integer(c.priority),
            Value::Integer(i64::from(c.enabled)),
        ],
    )
    .await
    .map_err(store_err("writing an account"))?;
    Ok(())
}

/// `position`: declaration order; `None` keeps an existing alias's place or appends a new one.
pub(crate) async fn upsert_alias(tx: &Connection, a: &AliasRecord, position: Option<i64>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO aliases (pattern, target, source, position, created_at, updated_at)
         VALUES (?1, ?2, ?3, COALESCE(?4, (SELECT COALESCE(MAX(position), -1) + 1 FROM aliases)), strftime('%s','now'), strftime('%s','now'))
         ON CONFLICT(pattern) DO UPDATE SET target = excluded.target, source = excluded.source,
           position = COALESCE(?4, aliases.position), updated_at = excluded.updated_at",
        vec![
            Value::Text(a.pattern.clone()),
            Value::Text(a.target.clone()),
            Value::Text(a.source.clone()),
            position.map(Value::Integer).unwrap_or(Value::Null),
        ],
    )
    .await
    .map_err(store_err("writing an alias"))?;
    Ok(())
}

/// `position` as for [`upsert_alias`].
pub(crate) async fn upsert_combo(tx: &Connection, c: &ComboRecord, position: Option<i64>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO combos (name, source, strategy, targets, settings, position, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, (SELECT COALESCE(MAX(position), -1) + 1 FROM combos)), strftime('%s','now'), strftime('%s','now'))
         ON CONFLICT(name) DO UPDATE SET source = excluded.source, strategy = excluded.strategy,
           targets = excluded.targets, settings = excluded.settings, position = COALESCE(?6, combos.position),
           updated_at = excluded.updated_at",
        vec![
            Value::Text(c.name.clone()),
            Value::Text(c.source.clone()),
            enum_text(&Some(c.strategy))?,
            Value::Text(json_text(&c.targets)?),
            Value::Text(json_text(&c.settings)?),
            position.map(Value::Integer).unwrap_or(Value::Null),
        ],
    )
    .await
    .map_err(store_err("writing a combo"))?;
    Ok(())
}

pub(crate) async fn put_setting(tx: &Connection, key: &str, value: String, source: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO settings (key, value, source, updated_at) VALUES (?1, ?2, ?3, strftime('%s','now'))
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, source = excluded.source, updated_at = excluded.updated_at",
        vec![Value::Text(key.into()), Value::Text(value), Value::Text(source.into())],
    )
    .await
    .map_err(store_err("writing a setting"))?;
    Ok(())
}

async fn delete(tx: &Connection, sql: &str, id: String, what: &str) -> Result<(), StoreError> {
    tx.execute(sql, vec![Value::Text(id)]).await.map_err(|e| StoreError(format!("deleting {what}: {e}")))?;
    Ok(())
}

/// One management change, inside the caller's transaction.
pub(crate) async fn apply_change(tx: &Connection, secrets: &SecretBox, change: ConfigChange) -> Result<(), StoreError> {
    use omniroute_core::config::API_SOURCE;
    match change {
        ConfigChange::PutProvider(p) => upsert_provider(tx, secrets, &p).await,
        ConfigChange::DeleteProvider(id) => {
            delete(tx, "DELETE FROM connections WHERE provider_id = ?1", id.clone(), "accounts").await?;
            delete(tx, "DELETE FROM discovered_models WHERE provider_id = ?1", id.clone(), "discovered models").await?;
            delete(tx, "DELETE FROM providers WHERE id = ?1", id, "a provider").await
        }
        ConfigChange::PutConnection(c) => upsert_connection(tx, secrets, &c).await,
        ConfigChange::DeleteConnection(id) => {
            delete(tx, "DELETE FROM connections WHERE id = ?1", id, "an account").await
        }
        ConfigChange::PutAlias(a) => upsert_alias(tx, &a, None).await,
        ConfigChange::DeleteAlias(pattern) => {
            delete(tx, "DELETE FROM aliases WHERE pattern = ?1", pattern, "an alias").await
        }
        ConfigChange::PutCombo(c) => upsert_combo(tx, &c, None).await,
        ConfigChange::DeleteCombo(name) => delete(tx, "DELETE FROM combos WHERE name = ?1", name, "a combo").await,
        ConfigChange::PutRouting(r) => {
            put_setting(tx, ROUTING_KEY, json_text::<RoutingSettings>(&r)?, API_SOURCE).await
        }
        ConfigChange::PutSetting { key, value } => {
            let text = sealed_fields::setting_text(secrets, &key, json_text(&value)?)?;
            put_setting(tx, &key, text, API_SOURCE).await
        }
        ConfigChange::DeleteSetting(key) => delete(tx, "DELETE FROM settings WHERE key = ?1", key, "a setting").await,
        ConfigChange::PutApiKey(k) => {
            tx.execute(
                "INSERT INTO api_keys (id, hash, body, created_at, updated_at) VALUES (?1, ?2, ?3, strftime('%s','now'), strftime('%s','now'))
                 ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, body = excluded.body, updated_at = excluded.updated_at",
                vec![Value::Text(k.id.clone()), Value::Text(k.hash.clone()), Value::Text(json_text(&k)?)],
            )
            .await
            .map_err(store_err("writing an API key"))?;
            Ok(())
        }
        ConfigChange::DeleteApiKey(id) => delete(tx, "DELETE FROM api_keys WHERE id = ?1", id, "an API key").await,
        ConfigChange::PutSession(s) => {
            tx.execute(
                "INSERT OR REPLACE INTO admin_sessions (token_hash, created_ms, expires_ms) VALUES (?1, ?2, ?3)",
                vec![
                    Value::Text(s.token_hash),
                    Value::Integer(s.created_ms as i64),
                    Value::Integer(s.expires_ms as i64),
                ],
            )
            .await
            .map_err(store_err("writing a session"))?;
            Ok(())
        }
        ConfigChange::DeleteSession(hash) => {
            delete(tx, "DELETE FROM admin_sessions WHERE token_hash = ?1", hash, "a session").await
        }
        ConfigChange::PruneSessions { before_ms } => {
            tx.execute("DELETE FROM admin_sessions WHERE expires_ms < ?1", vec![Value::Integer(before_ms as i64)])
                .await
                .map_err(store_err("pruning sessions"))?;
            Ok(())
        }
        ConfigChange::PutDiscoveredModels { provider, models } => {
            tx.execute(
                "INSERT INTO discovered_models (provider_id, models, fetched_ms, updated_at)
                 VALUES (?1, ?2, ?3, strftime('%s','now'))
                 ON CONFLICT(provider_id) DO UPDATE SET models = excluded.models, fetched_ms = excluded.fetched_ms,
                   updated_at = excluded.updated_at",
                vec![
                    Value::Text(provider),
                    Value::Text(json_text(&models.models)?),
                    Value::Integer(i64::try_from(models.fetched_ms).unwrap_or(i64::MAX)),
                ],
            )
            .await
            .map_err(store_err("writing discovered models"))?;
            Ok(())
        }
    }
}

pub(crate) async fn append_audit(tx: &Connection, entry: &AuditEntry) -> Result<(), StoreError> {
    let json = |v: &Option<serde_json::Value>| -> Result<Value, StoreError> {
        Ok(match v {
            Some(v) => Value::Text(json_text(v)?),
            None => Value::Null,
        })
    };
    tx.execute(
        "INSERT INTO audit_log (ts_ms, actor, ip, action, target, before_json, after_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vec![
            Value::Integer(entry.timestamp_ms as i64),
            Value::Text(entry.actor.clone()),
            opt(entry.ip.clone()),
            Value::Text(entry.action.clone()),
            Value::Text(entry.target.clone()),
            json(&entry.before)?,
            json(&entry.after)?,
        ],
    )
    .await
    .map_err(store_err("writing the audit log"))?;
    Ok(())
}
