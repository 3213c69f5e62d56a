//! What the backup tests share: a gateway that requires API keys (so a deleted key is refused
//! and a restored one works), key creation, an import call, opening a backup file with libSQL,
//! and reading the files of an `exportAll` archive.

use std::io::Read;
use std::path::Path;

use crate::gateway::{TestGateway, provider_env};
use crate::mock_upstream::MockUpstream;

/// A gateway in front of `mock` (OpenAI, Anthropic, Gemini, Ollama by their env vars) that
/// refuses inference without a gateway key; `config` and `env` add to it.
pub async fn require_key_gateway_with(mock: &MockUpstream, config: &str, extra_env: &[(&str, &str)]) -> TestGateway {
    let env = provider_env(mock);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("REQUIRE_API_KEY", "true"));
    env.extend_from_slice(extra_env);
    TestGateway::start(config, &env).await
}

/// [`require_key_gateway_with`] without extra variables.
pub async fn require_key_gateway(mock: &MockUpstream, config: &str) -> TestGateway {
    require_key_gateway_with(mock, config, &[]).await
}

/// Creates a gateway key named `name`: the key and its id.
pub async fn create_key(gw: &TestGateway, name: &str) -> (String, String) {
    let (status, created) = gw.admin_call("POST", "/api/keys", Some(serde_json::json!({ "name": name }))).await;
    assert_eq!(status, 201, "{created}");
    (created["key"].as_str().expect("key").to_owned(), created["apiKey"]["id"].as_str().expect("id").to_owned())
}

/// The status of one chat with `key`.
pub async fn key_chat_status(gw: &TestGateway, key: &str) -> u16 {
    reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&serde_json::json!({ "model": "openai/gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] }))
        .send()
        .await
        .expect("chat")
        .status()
        .as_u16()
}

/// `POST /api/db-backups/import` with `body` as `content_type`: status and JSON answer.
pub async fn import(gw: &TestGateway, body: Vec<u8>, content_type: &str) -> (u16, serde_json::Value) {
    let response = gw
        .admin()
        .post(gw.url("/api/db-backups/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("import");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// `bytes` written to `<dir>/copy.sqlite` and opened (migrations applied: a no-op at the
/// current version).
pub async fn open_copy(dir: &Path, bytes: &[u8]) -> omniroute_storage::Database {
    let path = dir.join("copy.sqlite");
    std::fs::write(&path, bytes).expect("write copy");
    omniroute_storage::Database::open_file(&path).await.expect("the backup opens as a database")
}

/// A SQLite file with a table of its own and nothing of ours.
pub async fn plain_sqlite(path: &Path) -> libsql::Database {
    let db = libsql::Builder::new_local(path).build().await.expect("open");
    db.connect().expect("connect").execute("CREATE TABLE notes (text TEXT)", ()).await.expect("create");
    db
}

/// The files of a `.tar.gz`, in order: (name, contents).
pub fn export_all_files(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(archive).read_to_end(&mut tar).expect("gzip");
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let header = &tar[at..at + 512];
        let name = String::from_utf8_lossy(&header[..100]).trim_end_matches('\0').to_owned();
        let size_text = String::from_utf8_lossy(&header[124..135]).to_string();
        let size = usize::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8).expect("size");
        assert_eq!(&header[257..262], b"ustar", "ustar magic");
        let start = at + 512;
        files.push((name, tar[start..start + size].to_vec()));
        at = start + size.div_ceil(512) * 512;
    }
    files
}

/// Takes backups while `keys` keys are created through `gw`, then checks every backup opens, is
/// intact and holds one committed state (each key is created with its audit entry in one
/// transaction: a committed state has as many of one as of the other), later ones holding at
/// least as much.
pub async fn backups_during_a_key_burst_are_each_one_committed_state(gw: std::sync::Arc<TestGateway>, keys: usize) {
    use omniroute_storage::sql::Value;
    let writer = {
        let gw = gw.clone();
        tokio::spawn(async move {
            for i in 0..keys {
                create_key(&gw, &format!("burst-{i}")).await;
            }
        })
    };
    let mut names = Vec::new();
    while !writer.is_finished() {
        let (status, made) = gw.admin_call("PUT", "/api/db-backups", None).await;
        assert_eq!(status, 201, "{made}");
        names.push(made["name"].as_str().expect("a backup name").to_owned());
    }
    writer.await.expect("the key burst");
    assert!(names.len() >= 2, "backups were taken during the burst");
    let mut counts = Vec::new();
    for name in &names {
        let bytes = std::fs::read(gw.data_dir.path().join("backups").join(name)).expect("the backup file");
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = open_copy(dir.path(), &bytes).await;
        let conn = copy.connection();
        let value = |sql: &'static str| async move {
            let mut rows = conn.query(sql, ()).await.expect("query");
            rows.next().await.expect("row").expect("a row").get_value(0).expect("a value")
        };
        assert_eq!(value("PRAGMA integrity_check").await, Value::Text("ok".into()), "{name}");
        let keys = value("SELECT COUNT(*) FROM api_keys").await;
        let created = value("SELECT COUNT(*) FROM audit_log WHERE action = 'key.create'").await;
        assert_eq!(keys, created, "{name} mixes two states");
        let Value::Integer(keys) = keys else { panic!("a count: {keys:?}") };
        counts.push(keys);
    }
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "backups taken later hold at least as much: {counts:?}");
    assert!(counts.last().is_some_and(|&n| n > 0), "{counts:?}");
}

/// Imports `exported` (a backup of `gw`'s database) marked as coming from a newer build (schema
/// version 9999) and asserts it is refused with a 400 saying so.
pub async fn a_newer_schema_is_refused(gw: &TestGateway, exported: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let future = open_copy(dir.path(), exported).await;
    future
        .connection()
        .execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from-the-future', 0)", ())
        .await
        .expect("a newer version row");
    drop(future);
    let future_bytes = std::fs::read(dir.path().join("copy.sqlite")).expect("the copy");
    let (status, answer) = import(gw, future_bytes, "application/vnd.sqlite3").await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("newer")), "{answer}");
}
