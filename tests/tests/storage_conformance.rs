//! One storage suite, three stores: every port (config, usage sink and query, cooldowns,
//! stored responses) behaves the same on the embedded libSQL file, on a remote libSQL server
//! (a real sqld, over Hrana/HTTP) and in memory (the Worker's stores). Each test is written
//! once against the ports and run on each backend by `conformance!`.

use std::sync::Arc;

use omniroute_core::config::{ConfigChange, StoredConfig};
use omniroute_core::ports::memory::{MemoryConfigStore, MemoryCooldownStore, MemoryResponseStore, MemoryUsageSink};
use omniroute_core::ports::usage_query::{AggregateQuery, GroupBy, UsageFilter};
use omniroute_core::ports::{
    ConfigStore, CooldownStore, LoggedBodies, ResponseStore, StoredResponse, UsageQuery, UsageRecord, UsageSink,
};
use omniroute_native::bootstrap::open_remote_database;
use omniroute_storage::{Database, LibsqlStores, SecretBox};
use omniroute_tests::sqld::Sqld;
use serde_json::json;

#[derive(Clone, Copy, Debug)]
enum Backend {
    File,
    Remote,
    Memory,
}

/// The ports of one backend, and what keeps it alive (the temp dir, the sqld).
struct Stores {
    config: Arc<dyn ConfigStore>,
    usage: Arc<dyn UsageSink>,
    query: Arc<dyn UsageQuery>,
    cooldowns: Arc<dyn CooldownStore>,
    responses: Arc<dyn ResponseStore>,
    kind: &'static str,
    _dir: Option<tempfile::TempDir>,
    _sqld: Option<Sqld>,
}

async fn stores(backend: Backend) -> Stores {
    let libsql = |db: Database, dir, sqld| {
        let kind = db.kind().name();
        let stores = LibsqlStores::new(db, SecretBox::from_passphrase("conformance"), 10_000);
        Stores {
            config: stores.config,
            usage: stores.usage,
            query: stores.usage_query,
            cooldowns: stores.cooldowns,
            responses: stores.responses,
            kind,
            _dir: dir,
            _sqld: sqld,
        }
    };
    match backend {
        Backend::File => {
            let dir = tempfile::tempdir().unwrap();
            let db = Database::open_file(&dir.path().join("omniroute.db")).await.unwrap();
            libsql(db, Some(dir), None)
        }
        Backend::Remote => {
            let sqld = Sqld::start().await;
            let db = open_remote_database(&sqld.url, "").await.unwrap();
            libsql(db, None, Some(sqld))
        }
        Backend::Memory => {
            let usage = Arc::new(MemoryUsageSink::default());
            Stores {
                config: Arc::new(MemoryConfigStore::default()),
                usage: usage.clone(),
                query: usage,
                cooldowns: Arc::new(MemoryCooldownStore::default()),
                responses: Arc::new(MemoryResponseStore::default()),
                kind: "memory",
                _dir: None,
                _sqld: None,
            }
        }
    }
}

/// Runs each named test on every backend: `<name>::file`, `<name>::remote`, `<name>::memory`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn file() { super::$name(stores(Backend::File).await).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn remote() { super::$name(stores(Backend::Remote).await).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() { super::$name(stores(Backend::Memory).await).await }
        }
    )*};
}

conformance!(
    config_writes_bump_the_version_and_read_back,
    deleting_a_provider_takes_its_accounts,
    usage_rows_are_counted_paged_and_pruned,
    a_large_flush_keeps_every_row_in_order_with_its_bodies,
    cooldowns_keep_the_latest_end_and_expire,
    stored_responses_keep_their_scope_chain_and_expiry,
);

fn provider(id: &str) -> ConfigChange {
    ConfigChange::PutProvider(
        serde_json::from_value(json!({
            "id": id, "source": "api", "catalog_id": null, "name": null, "format": "openai-chat",
            "base_url": "http://127.0.0.1:9/v1", "auth": null, "chat_path": null, "api_version": null,
            "models": ["m1"], "enabled": true,
        }))
        .unwrap(),
    )
}

fn account(provider: &str, name: &str, key: &str) -> ConfigChange {
    ConfigChange::PutConnection(
        serde_json::from_value(json!({
            "id": format!("{provider}:{name}"), "provider_id": provider, "source": "api", "name": name,
            "api_key": key, "priority": 0, "enabled": true,
        }))
        .unwrap(),
    )
}

fn api_key(id: &str) -> ConfigChange {
    ConfigChange::PutApiKey(
        serde_json::from_value(json!({
            "id": id, "name": id, "prefix": "sk-or-ab", "hash": format!("hash-{id}"), "created_ms": 1,
        }))
        .unwrap(),
    )
}

async fn config_writes_bump_the_version_and_read_back(s: Stores) {
    let start = s.config.version().await.unwrap();
    let v1 = s.config.apply(vec![provider("p1"), account("p1", "a", "sk-secret-1")], None).await.unwrap();
    assert!(v1 > start, "{}: a write bumps the version", s.kind);
    assert_eq!(s.config.version().await.unwrap(), v1);
    let v2 = s
        .config
        .apply(vec![api_key("k1"), ConfigChange::PutSetting { key: "security".into(), value: json!({"x": 1}) }], None)
        .await
        .unwrap();
    assert!(v2 > v1);
    let loaded: StoredConfig = s.config.load().await.unwrap();
    assert_eq!(loaded.version, v2, "{}", s.kind);
    assert_eq!(loaded.providers.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p1"]);
    assert_eq!(loaded.connections.len(), 1);
    assert_eq!(loaded.connections[0].api_key.as_deref(), Some("sk-secret-1"), "{}: keys read back in clear", s.kind);
    assert_eq!(loaded.api_keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["k1"]);
    assert_eq!(loaded.settings.get("security"), Some(&json!({"x": 1})), "{}", s.kind);
}

async fn deleting_a_provider_takes_its_accounts(s: Stores) {
    s.config
        .apply(vec![provider("p1"), account("p1", "a", "k"), provider("p2"), account("p2", "b", "k")], None)
        .await
        .unwrap();
    s.config.apply(vec![ConfigChange::DeleteProvider("p1".into())], None).await.unwrap();
    let loaded = s.config.load().await.unwrap();
    assert_eq!(loaded.providers.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p2"], "{}", s.kind);
    assert_eq!(loaded.connections.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["p2:b"], "{}", s.kind);
}

fn usage(request: &str, ts: u64, provider: &str, key: Option<&str>, status: u16, cost: f64) -> UsageRecord {
    UsageRecord {
        request_id: request.into(),
        timestamp_ms: ts,
        provider: provider.into(),
        connection_id: format!("{provider}:a"),
        requested_model: format!("{provider}/m"),
        upstream_model: "m".into(),
        client_format: "openai-chat".into(),
        upstream_format: "openai-chat".into(),
        status,
        input_tokens: Some(10),
        output_tokens: Some(5),
        latency_ms: 7,
        cost_usd: Some(cost),
        api_key_id: key.map(str::to_owned),
        ..Default::default()
    }
}

async fn usage_rows_are_counted_paged_and_pruned(s: Stores) {
    s.usage.record(usage("r1", 1_000, "a", Some("k1"), 200, 0.5));
    s.usage.record(usage("r2", 2_000, "a", Some("k1"), 500, 0.25));
    s.usage.record(usage("r3", 3_000, "b", Some("k2"), 200, 1.0));
    s.usage.record(usage("r4", 4_000, "b", None, 200, 0.0));
    s.usage.flush().await;
    let page = s.query.rows(UsageFilter::default(), 2, 0).await.unwrap();
    assert_eq!(page.total, 4, "{}", s.kind);
    let ids: Vec<&str> = page.items.iter().map(|r| r.record.request_id.as_str()).collect();
    assert_eq!(ids, ["r4", "r3"], "{}: newest first", s.kind);
    let by_provider =
        s.query.aggregate(AggregateQuery { group_by: Some(GroupBy::Provider), ..Default::default() }).await.unwrap();
    let cells: Vec<(Option<String>, u64, u64, u64)> =
        by_provider.iter().map(|b| (b.group.clone(), b.totals.requests, b.totals.errors, b.totals.tokens_in)).collect();
    assert_eq!(cells, [(Some("a".into()), 2, 1, 20), (Some("b".into()), 2, 0, 20)], "{}", s.kind);
    let mut spend = s.query.spend_by_key(1_500).await.unwrap();
    spend.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(spend, [("k1".to_owned(), 0.25), ("k2".to_owned(), 1.0)], "{}: spend since 1500", s.kind);
    let mut last = s.query.last_used_by_key().await.unwrap();
    last.sort();
    assert_eq!(last, [("k1".to_owned(), 2_000), ("k2".to_owned(), 3_000)], "{}", s.kind);
    assert_eq!(s.query.prune(2_500).await.unwrap(), 2, "{}: rows before 2500 go", s.kind);
    assert_eq!(s.query.rows(UsageFilter::default(), 10, 0).await.unwrap().total, 2);
}

/// More rows than one remote batch (40), with logged bodies here and there: each row is
/// stored once, in order, and the bodies belong to their own row.
async fn a_large_flush_keeps_every_row_in_order_with_its_bodies(s: Stores) {
    let with_bodies = |i: usize| i.is_multiple_of(37) || i == 129;
    let ids: Vec<String> = (0..130).map(|i| format!("req-{i:03}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let mut row = usage(id, 10_000 + i as u64, "a", None, 200, 0.0);
        if with_bodies(i) {
            row.bodies = Some(LoggedBodies { request: format!("asked {id}"), response: format!("answered {id}") });
        }
        s.usage.record(row);
    }
    s.usage.flush().await;
    let page = s.query.rows(UsageFilter::default(), 500, 0).await.unwrap();
    let mut stored: Vec<String> = page.items.iter().map(|r| r.record.request_id.clone()).collect();
    stored.reverse();
    assert_eq!(stored, ids, "{}: every row once, in order", s.kind);
    let attempts = s.query.attempts(ids.clone()).await.unwrap();
    assert_eq!(attempts.len(), 130, "{}", s.kind);
    for attempt in attempts {
        let id = &attempt.record.request_id;
        let index: usize = id[4..].parse().unwrap();
        match attempt.record.bodies {
            Some(bodies) => {
                assert!(with_bodies(index), "{}: {id} got bodies", s.kind);
                assert_eq!((bodies.request, bodies.response), (format!("asked {id}"), format!("answered {id}")));
            }
            None => assert!(!with_bodies(index), "{}: {id} lost its bodies", s.kind),
        }
    }
}

async fn cooldowns_keep_the_latest_end_and_expire(s: Stores) {
    s.cooldowns.put("openai:a", 5_000).await.unwrap();
    s.cooldowns.put("openai:a", 3_000).await.unwrap();
    s.cooldowns.put("groq:b", 2_000).await.unwrap();
    assert_eq!(
        s.cooldowns.active(1_000).await.unwrap(),
        [("groq:b".to_owned(), 2_000), ("openai:a".to_owned(), 5_000)],
        "{}: an earlier end never shortens a cooldown",
        s.kind
    );
    assert_eq!(s.cooldowns.active(2_000).await.unwrap(), [("openai:a".to_owned(), 5_000)], "{}", s.kind);
    s.cooldowns.put("x:y", 9_000).await.unwrap();
    s.cooldowns.clear(Some("openai:a")).await.unwrap();
    assert_eq!(s.cooldowns.active(1_000).await.unwrap(), [("x:y".to_owned(), 9_000)], "{}", s.kind);
    s.cooldowns.clear(None).await.unwrap();
    assert!(s.cooldowns.active(0).await.unwrap().is_empty(), "{}", s.kind);
}

fn response(scope: &str, id: &str, previous: Option<&str>, created_ms: u64) -> StoredResponse {
    StoredResponse {
        scope: scope.into(),
        id: id.into(),
        model: "m".into(),
        created_ms,
        expires_ms: created_ms + 1_000,
        previous_response_id: previous.map(str::to_owned),
        input: vec![json!({"type": "message", "id": format!("in_{id}"), "role": "user", "content": id})],
        response: json!({"id": id, "output": [{"type": "message", "id": format!("msg_{id}"), "content": []}]}),
    }
}

async fn stored_responses_keep_their_scope_chain_and_expiry(s: Stores) {
    let r = &s.responses;
    r.put(response("key:a", "resp_1", None, 100)).await.unwrap();
    r.put(response("key:a", "resp_2", Some("resp_1"), 200)).await.unwrap();
    assert_eq!(r.get("key:a", "resp_1", 500).await.unwrap(), Some(response("key:a", "resp_1", None, 100)));
    assert_eq!(r.get("key:b", "resp_1", 500).await.unwrap(), None, "{}: another scope sees nothing", s.kind);
    let chain: Vec<String> = r.chain("key:a", "resp_2", 500, 10).await.unwrap().into_iter().map(|x| x.id).collect();
    assert_eq!(chain, ["resp_2", "resp_1"], "{}", s.kind);
    let items =
        r.items("key:a", &["msg_resp_1".to_owned(), "in_resp_2".to_owned(), "nope".to_owned()], 500).await.unwrap();
    assert_eq!(items.len(), 2, "{}", s.kind);
    assert_eq!(r.get("key:a", "resp_1", 1_100).await.unwrap(), None, "{}: expired at its expiry", s.kind);
    assert!(r.delete("key:a", "resp_2", 500).await.unwrap());
    assert!(!r.delete("key:a", "resp_2", 500).await.unwrap(), "{}: gone", s.kind);
    assert_eq!(r.prune(1_150).await.unwrap(), 1, "{}: resp_1 expired", s.kind);
}
