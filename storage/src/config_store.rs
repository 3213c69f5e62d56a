//! `LibsqlConfigStore`: providers and accounts in libSQL, API keys sealed by [`SecretBox`];
//! aliases, combos and routing settings through [`crate::routing_rows`]. Every write bumps
//! `config_version` in the same transaction, so readers can poll cheaply.

use std::collections::BTreeMap;

use libsql::Value;
use omniroute_core::config::{ConnectionRecord, DeclaredConfig, ProviderRecord, StoredConfig};
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{ConfigStore, StoreError};

use crate::database::Database;
use crate::routing_rows;
use crate::secrets::SecretBox;

/// Config kept in a libSQL database.
pub struct LibsqlConfigStore {
    db: Database,
    secrets: SecretBox,
}

pub(crate) fn store_err(context: &str) -> impl Fn(libsql::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

fn opt(value: Option<String>) -> Value {
    value.map(Value::Text).unwrap_or(Value::Null)
}

pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(format!("cannot encode config value: {e}")))
}

/// A serde enum's wire name (`"openai-chat"`), for the text columns.
pub(crate) fn enum_text<T: serde::Serialize>(value: &Option<T>) -> Result<Value, StoreError> {
    Ok(match value {
        Some(v) => Value::Text(json_text(v)?.trim_matches('"').to_owned()),
        None => Value::Null,
    })
}

pub(crate) fn parse_enum<T: serde::de::DeserializeOwned>(text: Option<String>) -> Option<T> {
    text.and_then(|t| serde_json::from_value(serde_json::Value::String(t)).ok())
}

/// A JSON column, or `T::default()` with an error logged when a hand-edited row is unreadable.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned + Default>(text: Option<String>, what: &str, id: &str) -> T {
    match text.as_deref().map(serde_json::from_str) {
        Some(Ok(value)) => value,
        Some(Err(e)) => {
            tracing::error!(row = %id, error = %e, "cannot read {what}; using the default");
            T::default()
        }
        None => T::default(),
    }
}

impl LibsqlConfigStore {
    pub fn new(db: Database, secrets: SecretBox) -> Self {
        LibsqlConfigStore { db, secrets }
    }

    async fn load_inner(&self) -> Result<StoredConfig, StoreError> {
        let conn = self.db.connection();
        let version = self.version_inner().await?;
        let mut providers = Vec::new();
        let mut rows = conn
            .query(
                "SELECT id, source, catalog_id, name, format, base_url, auth, headers, chat_path, api_version, models, enabled,
                   selection, sticky_window, timeouts FROM providers ORDER BY created_at, id",
                (),
            )
            .await
            .map_err(store_err("reading providers"))?;
        while let Some(row) = rows.next().await.map_err(store_err("reading providers"))? {
            let text = |i: i32| row.get::<Option<String>>(i).map_err(store_err("reading providers"));
            let headers: BTreeMap<String, String> =
                serde_json::from_str(&text(7)?.unwrap_or_default()).unwrap_or_default();
            let models: Vec<String> = serde_json::from_str(&text(10)?.unwrap_or_default()).unwrap_or_default();
            let id = text(0)?.unwrap_or_default();
            let sticky_window = row.get::<Option<i64>>(13).map_err(store_err("reading providers"))?;
            providers.push(ProviderRecord {
                timeouts: parse_json(text(14)?, "provider timeouts", &id),
                selection: parse_enum(text(12)?).unwrap_or_default(),
                sticky_window: sticky_window.map(|w| u32::try_from(w).unwrap_or(u32::MAX)),
                id,
                source: text(1)?.unwrap_or_default(),
                catalog_id: text(2)?,
                name: text(3)?,
                format: parse_enum(text(4)?),
                base_url: text(5)?,
                auth: parse_enum(text(6)?),
                headers,
                chat_path: text(8)?,
                api_version: text(9)?,
                models,
                enabled: row.get::<i64>(11).map_err(store_err("reading providers"))? != 0,
            });
        }
        let mut connections = Vec::new();
        let mut rows = conn
            .query("SELECT id, provider_id, source, name, api_key_enc, priority, enabled FROM connections ORDER BY priority, id", ())
            .await
            .map_err(store_err("reading connections"))?;
        while let Some(row) = rows.next().await.map_err(store_err("reading connections"))? {
            let text = |i: i32| row.get::<Option<String>>(i).map_err(store_err("reading connections"));
            let id = text(0)?.unwrap_or_default();
            let api_key = match text(4)? {
                Some(sealed) => match self.secrets.open(&sealed) {
                    Ok(key) => Some(key),
                    Err(e) => {
                        // Keep the row (nothing configured is lost); the account just can't be used.
                        tracing::error!(connection = %id, error = %e, "cannot decrypt the account's API key; it is skipped");
                        None
                    }
                },
                None => None,
            };
            connections.push(ConnectionRecord {
                provider_id: text(1)?.unwrap_or_default(),
                source: text(2)?.unwrap_or_default(),
                name: text(3)?.unwrap_or_default(),
                api_key,
                priority: row.get::<i64>(5).map_err(store_err("reading connections"))?,
                enabled: row.get::<i64>(6).map_err(store_err("reading connections"))? != 0,
                id,
            });
        }
        Ok(StoredConfig {
            version,
            providers,
            connections,
            aliases: routing_rows::load_aliases(conn).await?,
            combos: routing_rows::load_combos(conn).await?,
            routing: routing_rows::load_routing(conn).await?,
        })
    }

    async fn sync_inner(&self, declared: DeclaredConfig) -> Result<(), StoreError> {
        let tx = self.db.connection().transaction().await.map_err(store_err("starting sync"))?;
        let source = declared.source.clone();
        // Drop what this source declared before but no longer does; other sources are untouched.
        let keep_providers: Vec<String> = declared.providers.iter().map(|p| p.id.clone()).collect();
        let keep_connections: Vec<String> = declared.connections.iter().map(|c| c.id.clone()).collect();
        tx.execute(
            "DELETE FROM providers WHERE source = ?1 AND id NOT IN (SELECT value FROM json_each(?2))",
            vec![Value::Text(source.clone()), Value::Text(json_text(&keep_providers)?)],
        )
        .await
        .map_err(store_err("syncing providers"))?;
        tx.execute(
            "DELETE FROM connections WHERE source = ?1 AND id NOT IN (SELECT value FROM json_each(?2))",
            vec![Value::Text(source.clone()), Value::Text(json_text(&keep_connections)?)],
        )
        .await
        .map_err(store_err("syncing connections"))?;
        for p in &declared.providers {
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
                    Value::Text(json_text(&p.headers)?),
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
            .map_err(store_err("syncing providers"))?;
        }
        for c in &declared.connections {
            let sealed = c
                .api_key
                .as_deref()
                .map(|k| self.secrets.seal(k))
                .transpose()
                .map_err(|e| StoreError(e.to_string()))?;
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
            .map_err(store_err("syncing connections"))?;
        }
        routing_rows::sync(&tx, &declared).await?;
        tx.execute("UPDATE config_version SET version = version + 1 WHERE id = 1", ())
            .await
            .map_err(store_err("bumping config version"))?;
        tx.commit().await.map_err(store_err("committing sync"))
    }

    async fn version_inner(&self) -> Result<u64, StoreError> {
        let mut rows = self
            .db
            .connection()
            .query("SELECT version FROM config_version WHERE id = 1", ())
            .await
            .map_err(store_err("reading config version"))?;
        let row = rows.next().await.map_err(store_err("reading config version"))?;
        Ok(match row {
            Some(row) => row.get::<u64>(0).map_err(store_err("reading config version"))?,
            None => 0,
        })
    }
}

impl ConfigStore for LibsqlConfigStore {
    fn load(&self) -> BoxFuture<'_, Result<StoredConfig, StoreError>> {
        boxed(self.load_inner())
    }

    fn sync_declared(&self, declared: DeclaredConfig) -> BoxFuture<'_, Result<(), StoreError>> {
        boxed(self.sync_inner(declared))
    }

    fn version(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        boxed(self.version_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omniroute_core::config::{FileConfig, declare};
    use omniroute_core::providers::{AuthScheme, WireFormat};

    async fn store_with(db: Database, passphrase: &str) -> LibsqlConfigStore {
        LibsqlConfigStore::new(db, SecretBox::from_passphrase(passphrase))
    }

    fn declared() -> DeclaredConfig {
        let file = FileConfig::parse(
            r#"
            [[providers]]
            id = "openai"
            base_url = "http://127.0.0.1:9/v1"
              [[providers.accounts]]
              name = "main"
              api_key = "sk-file-secret"
            [[providers]]
            id = "mycorp"
            format = "openai-chat"
            base_url = "https://llm.example.com/v1"
            auth = "x-api-key"
            headers = { "X-Team" = "ml" }
            models = ["llama-3-70b"]
            "#,
        )
        .unwrap();
        declare(Some(&file), &|_| None).unwrap()
    }

    #[tokio::test]
    async fn sync_then_load_round_trips_and_encrypts_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = store_with(Database::open_file(&path).await.unwrap(), "pw").await;
        store.sync_declared(declared()).await.unwrap();
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.version, 1);
        let expected = declared();
        assert_eq!(loaded.connections, expected.connections);
        let mycorp = loaded.providers.iter().find(|p| p.id == "mycorp").unwrap();
        assert_eq!(mycorp.format, Some(WireFormat::OpenaiChat));
        assert_eq!(mycorp.auth, Some(AuthScheme::XApiKey));
        assert_eq!(mycorp.headers["X-Team"], "ml");
        assert_eq!(mycorp.models, ["llama-3-70b"]);
        drop(store);
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(14).any(|w| w == b"sk-file-secret"), "API key stored in clear");
    }

    #[tokio::test]
    async fn resync_removes_only_what_the_source_dropped() {
        let store = store_with(Database::open_memory().await.unwrap(), "pw").await;
        store.sync_declared(declared()).await.unwrap();
        let api = DeclaredConfig {
            source: "api".into(),
            providers: vec![ProviderRecord {
                id: "from-api".into(),
                source: "api".into(),
                ..declared().providers[1].clone()
            }],
            ..Default::default()
        };
        store.sync_declared(api).await.unwrap();
        let mut smaller = declared();
        smaller.providers.retain(|p| p.id == "openai");
        store.sync_declared(smaller).await.unwrap();
        let ids: Vec<String> = store.load().await.unwrap().providers.into_iter().map(|p| p.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&"openai".to_string()) && ids.contains(&"from-api".to_string()), "{ids:?}");
        assert_eq!(store.version().await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_wrong_secret_skips_the_key_but_keeps_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        store_with(Database::open_file(&path).await.unwrap(), "right").await.sync_declared(declared()).await.unwrap();
        let loaded = store_with(Database::open_file(&path).await.unwrap(), "wrong").await.load().await.unwrap();
        assert_eq!(loaded.connections.len(), 1);
        assert_eq!(loaded.connections[0].api_key, None);
    }
}
