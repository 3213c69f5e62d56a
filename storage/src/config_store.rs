//! `LibsqlConfigStore`: providers and accounts in libSQL, API keys sealed by [`SecretBox`];
//! aliases, combos and routing settings through [`crate::routing_rows`]. Every write bumps
//! `config_version` in the same transaction, so readers can poll cheaply.

use std::collections::BTreeMap;

use crate::sql::Value;
use omniroute_core::config::{
    AuditEntry, ConfigChange, ConnectionRecord, DeclaredConfig, ProviderRecord, StoredConfig,
};
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{ConfigStore, StoreError};

use crate::database::{Database, write_transaction};
use crate::secrets::SecretBox;
use crate::{access_rows, config_writes, routing_rows, sealed_fields};

/// Config kept in a libSQL database.
pub struct LibsqlConfigStore {
    db: Database,
    secrets: SecretBox,
}

pub(crate) fn store_err(context: &str) -> impl Fn(crate::sql::SqlError) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
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
        // On the write connection (see `version_inner`), held for the whole read so the version
        // and the rows come from one committed state.
        let writer = self.db.writer().await;
        let conn = &*writer;
        let version = read_version(conn).await?;
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
            let headers = sealed_fields::open_headers(&self.secrets, headers, &id);
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
        let (routing, routing_source) = routing_rows::load_routing(conn).await?;
        Ok(StoredConfig {
            version,
            providers,
            connections,
            aliases: routing_rows::load_aliases(conn).await?,
            combos: routing_rows::load_combos(conn).await?,
            routing,
            routing_source,
            api_keys: access_rows::load_api_keys(conn).await?,
            sessions: access_rows::load_sessions(conn).await?,
            settings: access_rows::load_settings(conn, &self.secrets).await?,
            discovered: access_rows::load_discovered(conn).await?,
        })
    }

    async fn sync_inner(&self, declared: DeclaredConfig) -> Result<(), StoreError> {
        let writer = self.db.writer().await;
        let tx = write_transaction(&writer).await.map_err(store_err("starting sync"))?;
        let source = declared.source.clone();
        // Drop what this source declared before but no longer does; other sources are untouched.
        // Not on a shared database: there another instance (a Worker, a Lambda, a server started
        // with other variables) may have declared those rows, and an instance that lacks a
        // variable must not delete what a sibling configured. Rows are then removed over the
        // management API (docs/consistency.md).
        let prune = self.db.kind() != crate::database::StorageKind::Remote;
        let keep_providers: Vec<String> = declared.providers.iter().map(|p| p.id.clone()).collect();
        let keep_connections: Vec<String> = declared.connections.iter().map(|c| c.id.clone()).collect();
        if prune {
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
        }
        for p in &declared.providers {
            config_writes::upsert_provider(&tx, &self.secrets, p).await?;
        }
        for c in &declared.connections {
            config_writes::upsert_connection(&tx, &self.secrets, c).await?;
        }
        routing_rows::sync(&tx, &declared, prune).await?;
        // Every start syncs: rows an older version stored in clear get sealed here.
        sealed_fields::seal_plaintext(&tx, &self.secrets).await?;
        tx.execute("UPDATE config_version SET version = version + 1 WHERE id = 1", ())
            .await
            .map_err(store_err("bumping config version"))?;
        tx.commit().await.map_err(store_err("committing sync"))
    }

    async fn apply_inner(&self, changes: Vec<ConfigChange>, audit: Option<AuditEntry>) -> Result<u64, StoreError> {
        let writer = self.db.writer().await;
        let tx = write_transaction(&writer).await.map_err(store_err("starting a change"))?;
        // An audit entry alone (a failed login) changes no config: readers need not reload.
        let bump = !changes.is_empty();
        for change in changes {
            config_writes::apply_change(&tx, &self.secrets, change).await?;
        }
        if let Some(entry) = &audit {
            config_writes::append_audit(&tx, entry).await?;
        }
        if bump {
            tx.execute("UPDATE config_version SET version = version + 1 WHERE id = 1", ())
                .await
                .map_err(store_err("bumping config version"))?;
        }
        // The version this change made, read before another writer can move it on.
        let version = read_version(&tx).await?;
        tx.commit().await.map_err(store_err("committing a change"))?;
        Ok(version)
    }

    /// Whether this store's secret opens the provider keys already stored: `Err` when there
    /// are some and none of them opens (another instance sealed them with another
    /// `OMNIROUTE_SECRET`). Run before anything is written, so an instance with the wrong secret
    /// never seals keys the others cannot read.
    pub async fn check_secret(&self) -> Result<(), StoreError> {
        self.db.retried(|| self.check_secret_once()).await
    }

    async fn check_secret_once(&self) -> Result<(), StoreError> {
        let mut rows = self
            .db
            .connection()
            .query("SELECT api_key_enc FROM connections WHERE api_key_enc IS NOT NULL LIMIT 20", ())
            .await
            .map_err(store_err("reading stored keys"))?;
        let (mut sealed, mut opened) = (0, 0);
        while let Some(row) = rows.next().await.map_err(store_err("reading stored keys"))? {
            let text = row.get::<String>(0).map_err(store_err("reading stored keys"))?;
            sealed += 1;
            opened += usize::from(self.secrets.open(&text).is_ok());
        }
        if sealed > 0 && opened == 0 {
            return Err(StoreError(format!(
                "OMNIROUTE_SECRET does not open the provider keys stored in the database ({}): every instance sharing a database needs the same OMNIROUTE_SECRET",
                self.db.location()
            )));
        }
        Ok(())
    }

    /// Read on the write connection, not the shared reader: a statement another task is still
    /// stepping through on the reader keeps that connection on the state it started from, and a
    /// version read there right after a write could be the one before it (the write's own reload
    /// then saw nothing new and served the old snapshot: an admin's new session refused until
    /// the next poll). The writer runs one thing at a time, to the end.
    async fn version_inner(&self) -> Result<u64, StoreError> {
        read_version(&*self.db.writer().await).await
    }
}

async fn read_version(conn: &crate::sql::Connection) -> Result<u64, StoreError> {
    let mut rows = conn
        .query("SELECT version FROM config_version WHERE id = 1", ())
        .await
        .map_err(store_err("reading config version"))?;
    let row = rows.next().await.map_err(store_err("reading config version"))?;
    Ok(match row {
        Some(row) => row.get::<u64>(0).map_err(store_err("reading config version"))?,
        None => 0,
    })
}

impl ConfigStore for LibsqlConfigStore {
    fn load(&self) -> BoxFuture<'_, Result<StoredConfig, StoreError>> {
        boxed(self.db.retried(|| self.load_inner()))
    }

    fn sync_declared(&self, declared: DeclaredConfig) -> BoxFuture<'_, Result<(), StoreError>> {
        boxed(self.db.retried(move || self.sync_inner(declared.clone())))
    }

    fn version(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        boxed(self.db.retried(|| self.version_inner()))
    }

    fn apply(&self, changes: Vec<ConfigChange>, audit: Option<AuditEntry>) -> BoxFuture<'_, Result<u64, StoreError>> {
        boxed(self.db.retried(move || self.apply_inner(changes.clone(), audit.clone())))
    }

    fn audit_log(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        boxed(async move { access_rows::load_audit(self.db.connection(), limit).await })
    }

    fn kind(&self) -> &'static str {
        self.db.kind().name()
    }

    fn location(&self) -> String {
        format!("{} at {}", self.db.kind().name(), self.db.location())
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
    async fn a_write_is_seen_at_once_while_another_read_is_still_stepping() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_file(&dir.path().join("db.sqlite")).await.unwrap();
        let store = store_with(db.clone(), "k").await;
        let setting = |n: i64| ConfigChange::PutSetting { key: format!("s{n}"), value: serde_json::json!(n) };
        store.apply(vec![setting(1), setting(2)], None).await.unwrap();
        // A read on the shared reader, one row taken and more to come (a usage report, say).
        let mut open = db.connection().query("SELECT key FROM settings", ()).await.unwrap();
        assert!(open.next().await.unwrap().is_some());
        let written = store.apply(vec![setting(3)], None).await.unwrap();
        assert_eq!(store.version().await.unwrap(), written, "the version the write made");
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.version, written);
        assert!(loaded.settings.contains_key("s3"), "the row the write made");
        drop(open);
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
    async fn credential_headers_and_the_proxy_setting_are_sealed_and_the_file_is_private() {
        use omniroute_core::config::ConfigChange;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = store_with(Database::open_file(&path).await.unwrap(), "pw").await;
        let mut provider = declared().providers[1].clone();
        provider.headers.insert("Authorization".into(), "Bearer sk-header-secret-0001".into());
        provider.headers.insert("X-Upstream-Token".into(), "tok-header-secret-0002".into());
        let proxy = serde_json::json!({"enabled": true, "url": "http://user:proxy-password-0003@proxy.example:3128"});
        let changes = vec![
            ConfigChange::PutProvider(provider.clone()),
            ConfigChange::PutSetting { key: "proxy".into(), value: proxy.clone() },
        ];
        store.apply(changes, None).await.unwrap();
        let loaded = store.load().await.unwrap();
        let mycorp = loaded.providers.iter().find(|p| p.id == "mycorp").unwrap();
        assert_eq!(mycorp.headers, provider.headers, "opened on load");
        assert_eq!(loaded.settings["proxy"], proxy);
        drop((store, loaded));
        for suffix in ["", "-wal"] {
            let file = dir.path().join(format!("db.sqlite{suffix}"));
            let Ok(raw) = std::fs::read(&file) else { continue };
            for secret in ["sk-header-secret-0001", "tok-header-secret-0002", "proxy-password-0003"] {
                assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in clear in {suffix}");
            }
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "db.sqlite{suffix} is private");
        }
        assert!(raw_contains(&path, "X-Team"), "other headers stay readable");
    }

    #[tokio::test]
    async fn rows_stored_in_clear_by_an_older_version_are_sealed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let db = Database::open_file(&path).await.unwrap();
        db.connection()
            .execute(
                "INSERT INTO providers (id, source, headers, models, enabled, created_at, updated_at)
                 VALUES ('old', 'api', '{\"Authorization\":\"Bearer sk-legacy-secret-0004\"}', '[]', 1, 0, 0)",
                (),
            )
            .await
            .unwrap();
        db.connection()
            .execute("INSERT INTO settings (key, value, source, updated_at) VALUES ('proxy', '{\"url\":\"http://u:legacy-pass-0005@p:1\"}', 'api', 0)", ())
            .await
            .unwrap();
        let store = store_with(db, "pw").await;
        store.sync_declared(declared()).await.unwrap();
        let loaded = store.load().await.unwrap();
        let old = loaded.providers.iter().find(|p| p.id == "old").unwrap();
        assert_eq!(old.headers["Authorization"], "Bearer sk-legacy-secret-0004");
        assert_eq!(loaded.settings["proxy"]["url"], "http://u:legacy-pass-0005@p:1");
        let mut rows = store.db.connection().query("SELECT headers FROM providers WHERE id = 'old'", ()).await.unwrap();
        let headers: String = rows.next().await.unwrap().unwrap().get(0).unwrap();
        assert!(headers.contains("sealed:") && !headers.contains("sk-legacy"), "{headers}");
        let mut rows = store.db.connection().query("SELECT value FROM settings WHERE key = 'proxy'", ()).await.unwrap();
        let proxy: String = rows.next().await.unwrap().unwrap().get(0).unwrap();
        assert!(proxy.starts_with("sealed:"), "{proxy}");
    }

    fn raw_contains(path: &std::path::Path, needle: &str) -> bool {
        let mut raw = std::fs::read(path).unwrap_or_default();
        raw.extend(std::fs::read(path.with_extension("sqlite-wal")).unwrap_or_default());
        raw.windows(needle.len()).any(|w| w == needle.as_bytes())
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

    #[tokio::test]
    async fn apply_writes_changes_and_their_audit_entry_in_one_version() {
        use omniroute_core::config::{AdminSession, ApiKeyRecord, AuditEntry, ConfigChange, KeyRole};
        let store = store_with(Database::open_memory().await.unwrap(), "pw").await;
        store.sync_declared(declared()).await.unwrap();
        let key = ApiKeyRecord {
            id: "key_1".into(),
            name: "ci".into(),
            prefix: "sk-omni-ab".into(),
            hash: "ab".repeat(32),
            role: KeyRole::Admin,
            created_ms: 5,
            expires_ms: Some(9),
            active: true,
            allowed_models: vec!["gpt-*".into()],
            allowed_providers: vec![],
            requests_per_minute: Some(3),
            requests_per_day: None,
            no_log: true,
            no_cache: false,
            strict_parameters: false,
            budget: None,
        };
        let session = AdminSession { token_hash: "cd".repeat(32), created_ms: 1, expires_ms: 100 };
        let audit = AuditEntry {
            timestamp_ms: 7,
            actor: "admin".into(),
            action: "key.create".into(),
            target: "key_1".into(),
            after: Some(serde_json::json!({"name": "ci"})),
            ..Default::default()
        };
        let version = store
            .apply(
                vec![
                    ConfigChange::PutApiKey(key.clone()),
                    ConfigChange::PutSession(session.clone()),
                    ConfigChange::PutSetting {
                        key: "security".into(),
                        value: serde_json::json!({"requireApiKey": true}),
                    },
                    ConfigChange::DeleteProvider("openai".into()),
                ],
                Some(audit.clone()),
            )
            .await
            .unwrap();
        assert_eq!(version, 2);
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.api_keys, vec![key]);
        assert_eq!(loaded.sessions, vec![session]);
        assert_eq!(loaded.settings["security"]["requireApiKey"], true);
        assert!(loaded.providers.iter().all(|p| p.id != "openai"));
        assert!(loaded.connections.is_empty(), "a deleted provider takes its accounts");
        assert_eq!(loaded.routing, None, "settings documents never reach the routing settings");
        let log = store.audit_log(10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].action, "key.create");
        assert_eq!(log[0].after, audit.after);
        // Expired sessions go; the version moves on every apply.
        let version = store.apply(vec![ConfigChange::PruneSessions { before_ms: 101 }], None).await.unwrap();
        assert_eq!(version, 3);
        assert!(store.load().await.unwrap().sessions.is_empty());
    }

    #[tokio::test]
    async fn a_failing_change_writes_nothing() {
        use omniroute_core::config::{AuditEntry, ConfigChange};
        let db = Database::open_memory().await.unwrap();
        let store = store_with(db.clone(), "pw").await;
        // A trigger stands in for any failure in the middle of a batch.
        db.connection()
            .execute(
                "CREATE TRIGGER no_sessions BEFORE INSERT ON admin_sessions BEGIN SELECT RAISE(ABORT, 'refused'); END",
                (),
            )
            .await
            .unwrap();
        let result = store
            .apply(
                vec![
                    ConfigChange::PutSetting { key: "proxy".into(), value: serde_json::json!({"enabled": true}) },
                    ConfigChange::PutSession(omniroute_core::config::AdminSession {
                        token_hash: "ab".into(),
                        created_ms: 0,
                        expires_ms: 1,
                    }),
                ],
                Some(AuditEntry { action: "x".into(), ..Default::default() }),
            )
            .await;
        assert!(result.is_err());
        let loaded = store.load().await.unwrap();
        assert!(loaded.settings.is_empty() && loaded.version == 0);
        assert!(store.audit_log(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn discovered_models_survive_a_reopen_and_go_with_their_provider() {
        use omniroute_core::config::{ConfigChange, DiscoveredModel, DiscoveredModels};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = store_with(Database::open_file(&path).await.unwrap(), "pw").await;
        store.sync_declared(declared()).await.unwrap();
        let models = DiscoveredModels {
            models: vec![
                DiscoveredModel { id: "llama-3-70b".into(), name: None },
                DiscoveredModel { id: "qwen-2".into(), name: Some("Qwen 2".into()) },
            ],
            fetched_ms: 1_700_000_000_000,
        };
        let change = ConfigChange::PutDiscoveredModels { provider: "mycorp".into(), models: models.clone() };
        let version = store.apply(vec![change], None).await.unwrap();
        assert_eq!(version, 2, "a new list moves the config version");
        drop(store);
        let store = store_with(Database::open_file(&path).await.unwrap(), "pw").await;
        assert_eq!(store.load().await.unwrap().discovered["mycorp"], models);
        store.apply(vec![ConfigChange::DeleteProvider("mycorp".into())], None).await.unwrap();
        assert!(store.load().await.unwrap().discovered.is_empty());
    }
}
