//! The routing rows of the config store: `aliases`, `combos` and the `routing` entry of
//! `settings`. Synced like providers: upsert what a source declares, delete what that source
//! declared before and no longer does, leave other sources' rows alone.

use crate::sql::{Connection, Value};
use omniroute_core::config::{AliasRecord, ComboRecord, ComboSettings, ComboTarget, DeclaredConfig, RoutingSettings};
use omniroute_core::ports::StoreError;

use crate::config_store::{json_text, parse_enum, parse_json, store_err};
use crate::config_writes::{self, ROUTING_KEY};

pub(crate) async fn load_aliases(conn: &Connection) -> Result<Vec<AliasRecord>, StoreError> {
    let read = store_err("reading aliases");
    let mut rows = conn
        .query("SELECT pattern, target, source FROM aliases ORDER BY position, created_at, pattern", ())
        .await
        .map_err(&read)?;
    let mut aliases = Vec::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        aliases.push(AliasRecord {
            pattern: row.get::<String>(0).map_err(&read)?,
            target: row.get::<String>(1).map_err(&read)?,
            source: row.get::<String>(2).map_err(&read)?,
        });
    }
    Ok(aliases)
}

pub(crate) async fn load_combos(conn: &Connection) -> Result<Vec<ComboRecord>, StoreError> {
    let read = store_err("reading combos");
    let mut rows = conn
        .query("SELECT name, source, strategy, targets, settings FROM combos ORDER BY position, created_at, name", ())
        .await
        .map_err(&read)?;
    let mut combos = Vec::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        let name = row.get::<String>(0).map_err(&read)?;
        let targets: Vec<ComboTarget> = parse_json(row.get(3).map_err(&read)?, "combo targets", &name);
        let settings: ComboSettings = parse_json(row.get(4).map_err(&read)?, "combo settings", &name);
        combos.push(ComboRecord {
            source: row.get::<String>(1).map_err(&read)?,
            strategy: parse_enum(row.get(2).map_err(&read)?).unwrap_or_default(),
            targets,
            settings,
            name,
        });
    }
    Ok(combos)
}

/// The routing settings and the source that set them.
pub(crate) async fn load_routing(conn: &Connection) -> Result<(Option<RoutingSettings>, Option<String>), StoreError> {
    let read = store_err("reading routing settings");
    let mut rows = conn
        .query("SELECT value, source FROM settings WHERE key = ?1", vec![Value::Text(ROUTING_KEY.into())])
        .await
        .map_err(&read)?;
    let Some(row) = rows.next().await.map_err(&read)? else {
        return Ok((None, None));
    };
    let text = row.get::<String>(0).map_err(&read)?;
    let source = row.get::<Option<String>>(1).map_err(&read)?;
    match serde_json::from_str(&text) {
        Ok(settings) => Ok((Some(settings), source)),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the stored routing settings; using the defaults");
            Ok((None, None))
        }
    }
}

/// Applies one source's aliases, combos and routing settings inside the caller's transaction.
/// Stores the declared aliases, combos and settings; with `prune`, also drops what the same
/// source declared before but no longer does (see `LibsqlConfigStore::sync_declared`).
pub(crate) async fn sync(tx: &Connection, declared: &DeclaredConfig, prune: bool) -> Result<(), StoreError> {
    let source = Value::Text(declared.source.clone());
    let patterns: Vec<&str> = declared.aliases.iter().map(|a| a.pattern.as_str()).collect();
    let names: Vec<&str> = declared.combos.iter().map(|c| c.name.as_str()).collect();
    let keys: Vec<&str> =
        declared.routing.iter().map(|_| ROUTING_KEY).chain(declared.settings.keys().map(String::as_str)).collect();
    for (sql, keep, what) in [
        (
            "DELETE FROM aliases WHERE source = ?1 AND pattern NOT IN (SELECT value FROM json_each(?2))",
            &patterns,
            "aliases",
        ),
        ("DELETE FROM combos WHERE source = ?1 AND name NOT IN (SELECT value FROM json_each(?2))", &names, "combos"),
        ("DELETE FROM settings WHERE source = ?1 AND key NOT IN (SELECT value FROM json_each(?2))", &keys, "settings"),
    ] {
        if !prune {
            break;
        }
        tx.execute(sql, vec![source.clone(), Value::Text(json_text(keep)?)])
            .await
            .map_err(|e| StoreError(format!("syncing {what}: {e}")))?;
    }
    for (position, a) in declared.aliases.iter().enumerate() {
        config_writes::upsert_alias(tx, a, Some(position as i64)).await?;
    }
    for (position, c) in declared.combos.iter().enumerate() {
        config_writes::upsert_combo(tx, c, Some(position as i64)).await?;
    }
    if let Some(routing) = &declared.routing {
        config_writes::put_setting(tx, ROUTING_KEY, json_text(routing)?, &declared.source).await?;
    }
    for (key, value) in &declared.settings {
        config_writes::put_setting(tx, key, json_text(value)?, &declared.source).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use omniroute_core::config::policy::{AccountSelection, ComboStrategy};
    use omniroute_core::config::{FileConfig, declare};
    use omniroute_core::ports::ConfigStore;

    use super::*;
    use crate::{Database, LibsqlConfigStore, SecretBox};

    const FILE: &str = r#"
        [routing]
        default_model = "fast"
        retryable_statuses = [429, 503]
        [resilience.local]
        open_ms = 1000
        [[providers]]
        id = "mycorp"
        format = "openai-chat"
        base_url = "https://llm.example.com/v1"
        selection = "round-robin"
        sticky_window = 5
        [providers.timeouts]
        first_byte_ms = 1500
        [[aliases]]
        pattern = "gpt-4*"
        target = "openai/gpt-4o"
        [[aliases]]
        pattern = "cheap"
        target = "combo/fast"
        [[combos]]
        name = "fast"
        strategy = "weighted"
        targets = ["mycorp/llama-3", "groq/llama-3.1-8b-instant"]
        weights = [4, 1]
        retries = 2
        idle_ms = 800
        [[combos]]
        name = "best"
        targets = ["openai/gpt-4o", "fast"]
    "#;

    /// FILE without `best`, `gpt-4*`, `[routing]` and `[resilience]`, plus `best2` and `gpt-5*`.
    const SMALLER: &str = r#"
        [[providers]]
        id = "mycorp"
        format = "openai-chat"
        base_url = "https://llm.example.com/v1"
        [[aliases]]
        pattern = "gpt-5*"
        target = "openai/gpt-5"
        [[aliases]]
        pattern = "cheap"
        target = "combo/fast"
        [[combos]]
        name = "fast"
        targets = ["mycorp/llama-3"]
        [[combos]]
        name = "best2"
        targets = ["fast"]
    "#;

    fn declared(text: &str) -> DeclaredConfig {
        declare(Some(&FileConfig::parse(text).unwrap()), &|_| None).unwrap()
    }

    fn store(db: Database) -> LibsqlConfigStore {
        LibsqlConfigStore::new(db, SecretBox::from_passphrase("pw"))
    }

    #[tokio::test]
    async fn routing_rows_round_trip() {
        let store = store(Database::open_memory().await.unwrap());
        let expected = declared(FILE);
        store.sync_declared(expected.clone()).await.unwrap();
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.aliases, expected.aliases);
        assert_eq!(loaded.combos, expected.combos);
        assert_eq!(loaded.routing, expected.routing);
        assert_eq!(loaded.providers, expected.providers);
        let fast = &loaded.combos[0];
        assert_eq!(
            (fast.strategy, fast.settings.retries, fast.settings.idle_ms),
            (ComboStrategy::Weighted, 2, Some(800))
        );
        assert_eq!(fast.targets[0], ComboTarget { target: "mycorp/llama-3".into(), weight: 4 });
        let mycorp = &loaded.providers[0];
        assert_eq!((mycorp.selection, mycorp.sticky_window), (AccountSelection::RoundRobin, Some(5)));
        assert_eq!(mycorp.timeouts.first_byte_ms, Some(1500));
        assert_eq!(loaded.routing.unwrap().local_breaker.open_ms, 1000);
        assert_eq!(loaded.routing_source.as_deref(), Some("config"));
        // The API's own routing settings say so.
        let api = RoutingSettings { max_wait_ms: 7, ..Default::default() };
        store.apply(vec![omniroute_core::config::ConfigChange::PutRouting(api)], None).await.unwrap();
        let loaded = store.load().await.unwrap();
        assert_eq!((loaded.routing.map(|r| r.max_wait_ms), loaded.routing_source.as_deref()), (Some(7), Some("api")));
    }

    #[tokio::test]
    async fn resync_drops_what_the_file_dropped_and_keeps_other_sources() {
        let store = store(Database::open_memory().await.unwrap());
        store.sync_declared(declared(FILE)).await.unwrap();
        let api = DeclaredConfig {
            source: "api".into(),
            aliases: vec![AliasRecord { pattern: "mine".into(), target: "openai/gpt-4o".into(), source: "api".into() }],
            combos: vec![ComboRecord {
                name: "api-combo".into(),
                source: "api".into(),
                ..declared(FILE).combos[1].clone()
            }],
            ..Default::default()
        };
        store.sync_declared(api).await.unwrap();
        assert_eq!(store.version().await.unwrap(), 2);
        assert!(store.load().await.unwrap().routing.is_some(), "an api sync without settings keeps the file's");

        // The file loses the `best` combo, the glob alias and every routing setting.
        let smaller = declared(SMALLER);
        assert_eq!(smaller.routing, None);
        store.sync_declared(smaller).await.unwrap();
        let loaded = store.load().await.unwrap();
        let of = |source: &str| -> (Vec<String>, Vec<String>) {
            let combos = loaded.combos.iter().filter(|c| c.source == source).map(|c| c.name.clone()).collect();
            let aliases = loaded.aliases.iter().filter(|a| a.source == source).map(|a| a.pattern.clone()).collect();
            (combos, aliases)
        };
        assert_eq!(of("config"), (vec!["fast".into(), "best2".into()], vec!["gpt-5*".into(), "cheap".into()]));
        assert_eq!(of("api"), (vec!["api-combo".into()], vec!["mine".into()]));
        assert_eq!(loaded.combos.len() + loaded.aliases.len(), 6);
        assert_eq!(loaded.routing, None);
        assert_eq!(loaded.version, 3);
    }

    #[tokio::test]
    async fn settings_of_another_source_survive_a_file_without_them() {
        let store = store(Database::open_memory().await.unwrap());
        let api = DeclaredConfig {
            source: "api".into(),
            routing: Some(RoutingSettings { max_wait_ms: 900, ..Default::default() }),
            ..Default::default()
        };
        store.sync_declared(api).await.unwrap();
        store.sync_declared(declared("")).await.unwrap();
        assert_eq!(store.load().await.unwrap().routing.map(|r| r.max_wait_ms), Some(900));
    }

    #[tokio::test]
    async fn declared_settings_documents_sync_like_routing() {
        use omniroute_core::config::ConfigChange;
        let store = store(Database::open_memory().await.unwrap());
        store.sync_declared(declared("[cache]\nttl_ms = 5000\n")).await.unwrap();
        assert_eq!(store.load().await.unwrap().settings["cache"]["ttlMs"], 5000);
        store.sync_declared(declared("[cache]\nttl_ms = 7000\n")).await.unwrap();
        assert_eq!(store.load().await.unwrap().settings["cache"]["ttlMs"], 7000, "the file's new value");
        store.sync_declared(declared("")).await.unwrap();
        assert!(!store.load().await.unwrap().settings.contains_key("cache"), "the file dropped it");
        // Set over the API, it belongs to the API: a file without [cache] leaves it alone.
        let value = serde_json::json!({ "ttlMs": 9000 });
        store.apply(vec![ConfigChange::PutSetting { key: "cache".into(), value }], None).await.unwrap();
        store.sync_declared(declared("")).await.unwrap();
        assert_eq!(store.load().await.unwrap().settings["cache"]["ttlMs"], 9000);
    }
}
