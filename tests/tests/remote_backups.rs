//! Backups of a remote database (a real sqld) through the real server: a backup taken, listed
//! and restored after a key was deleted; the export opens as an intact database holding the
//! rows; a backup moves between a file-backed server and a sqld-backed one both ways; garbage
//! and a newer schema are refused changing nothing; scheduled backups run. And, on the
//! archive itself, tables of thousands of rows and large values are copied whole both ways.

use std::time::Duration;

use omniroute_core::ports::DatabaseArchive;
use omniroute_native::bootstrap::open_remote_database;
use omniroute_storage::sql::{Connection, Value as SqlValue};
use omniroute_storage::{LibsqlArchive, RemoteArchive};
use omniroute_tests::backup_support::{
    a_newer_schema_is_refused, backups_during_a_key_burst_are_each_one_committed_state, create_key, import,
    key_chat_status, open_copy, require_key_gateway_with,
};
use omniroute_tests::gateway::{TEST_ADMIN_PASSWORD, TestGateway, login};
use omniroute_tests::mock_upstream::MockUpstream;
use omniroute_tests::sqld::Sqld;
use serde_json::{Value, json};

/// Every server sharing a database (or a backup) needs the same secret to open provider keys.
const SECRET: &str = "one secret for every instance";

async fn backups(gw: &TestGateway) -> Vec<Value> {
    gw.admin_get("/api/db-backups").await["backups"].as_array().cloned().unwrap_or_default()
}

/// A key-requiring gateway in front of `mock` on the sqld at `url`.
async fn remote_gateway(mock: &MockUpstream, url: &str, config: &str) -> TestGateway {
    require_key_gateway_with(mock, config, &[("OMNIROUTE_DATABASE_URL", url), ("OMNIROUTE_SECRET", SECRET)]).await
}

/// A key-requiring gateway in front of `mock` on its own file, with the shared secret.
async fn file_gateway(mock: &MockUpstream) -> TestGateway {
    require_key_gateway_with(mock, "", &[("OMNIROUTE_SECRET", SECRET)]).await
}

async fn scalar(conn: &Connection, sql: &str) -> SqlValue {
    let mut rows = conn.query(sql, ()).await.unwrap();
    rows.next().await.unwrap().expect("a row").get_value(0).unwrap()
}

async fn export(gw: &TestGateway) -> Vec<u8> {
    let response = gw.admin().get(gw.url("/api/db-backups/export")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// An import replaced the sessions too (they are rows like the rest): log in again with the
/// password the imported database holds (every test server starts with the same).
async fn log_in_again(gw: &mut TestGateway) {
    gw.admin_cookie = login(&gw.base_url(), TEST_ADMIN_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqld_a_restore_brings_back_a_deleted_key_and_the_export_holds_the_rows() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let gw = remote_gateway(&mock, &sqld.url, "").await;
    let (key, id) = create_key(&gw, "kept").await;
    create_key(&gw, "other").await;
    assert_eq!(key_chat_status(&gw, &key).await, 200);

    let (status, made) = gw.admin_call("PUT", "/api/db-backups", None).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["kind"], "manual");
    assert!(made["size"].as_u64().unwrap() > 4096, "{made}");
    let listed = backups(&gw).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], made["name"]);

    let (status, _) = gw.admin_call("DELETE", &format!("/api/keys/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(key_chat_status(&gw, &key).await, 401, "the deleted key is refused");

    let (status, restored) = gw.admin_call("POST", "/api/db-backups", Some(json!({ "name": made["name"] }))).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["safetyBackup"]["kind"], "pre-restore");
    assert_eq!(key_chat_status(&gw, &key).await, 200, "the key works again at once");
    assert_eq!(backups(&gw).await.len(), 2, "the backup and the safety backup");
    let log = gw.admin_get("/api/compliance/audit-log").await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"backup.restore") && actions.contains(&"key.delete"), "the log is kept: {actions:?}");

    // What a restore wrote is in the shared database itself, not only in this server's memory.
    let db = open_remote_database(&sqld.url, "").await.unwrap();
    assert_eq!(scalar(db.connection(), "SELECT COUNT(*) FROM api_keys").await, SqlValue::Integer(2));

    // The export: an intact database file with the rows, at the current schema version.
    let file = export(&gw).await;
    assert!(file.starts_with(b"SQLite format 3\0"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.sqlite");
    std::fs::write(&path, &file).unwrap();
    let raw = libsql::Builder::new_local(&path).build().await.unwrap();
    let conn = Connection::Local(raw.connect().unwrap());
    assert_eq!(scalar(&conn, "PRAGMA integrity_check").await, SqlValue::Text("ok".into()));
    assert_eq!(scalar(&conn, "SELECT COUNT(*) FROM api_keys").await, SqlValue::Integer(2));
    let names =
        "SELECT group_concat(name, ',') FROM (SELECT json_extract(body, '$.name') AS name FROM api_keys ORDER BY name)";
    let names = scalar(&conn, names).await;
    assert_eq!(names, SqlValue::Text("kept,other".into()));
    assert!(matches!(scalar(&conn, "SELECT COUNT(*) FROM providers").await, SqlValue::Integer(n) if n >= 4));
    let latest = omniroute_storage::migrations::MIGRATIONS.last().map(|m| m.0).unwrap();
    assert_eq!(scalar(&conn, "SELECT MAX(version) FROM schema_migrations").await, SqlValue::Integer(latest));
    let indexes = scalar(&conn, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").await;
    let live_indexes =
        scalar(db.connection(), "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").await;
    assert_eq!(indexes, live_indexes, "the indexes are copied too");
    // AUTOINCREMENT counters as the database has them.
    let seq = "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'";
    assert_eq!(scalar(&conn, seq).await, scalar(db.connection(), seq).await);
    // No scratch file is left in the data dir.
    let leftovers: Vec<_> = std::fs::read_dir(gw.data_dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".omniroute-"))
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A snapshot is one read transaction: taken while keys are being created, each backup holds
/// as many keys as `key.create` audit entries (written together in one transaction), and
/// later ones hold at least as many as earlier ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqld_a_backup_taken_during_a_write_burst_is_one_committed_state() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let gw = std::sync::Arc::new(remote_gateway(&mock, &sqld.url, "").await);
    backups_during_a_key_burst_are_each_one_committed_state(gw, 40).await;
}

/// A restore on one server of a shared database applies on the other within the config
/// refresh bound: the restore moves the config version, and every instance reloads on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_on_one_server_applies_on_the_other() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let a = remote_gateway(&mock, &sqld.url, "").await;
    let b = remote_gateway(&mock, &sqld.url, "").await;
    let (key, id) = create_key(&a, "shared").await;
    let (status, made) = a.admin_call("PUT", "/api/db-backups", None).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(a.admin_call("DELETE", &format!("/api/keys/{id}"), None).await.0, 200);
    let until = |want: u16| {
        let (b, key) = (&b, &key);
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(6);
            while key_chat_status(b, key).await != want {
                assert!(std::time::Instant::now() < deadline, "B did not answer {want} within 6 s");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    until(401).await;
    let (status, restored) = a.admin_call("POST", "/api/db-backups", Some(json!({ "name": made["name"] }))).await;
    assert_eq!(status, 200, "{restored}");
    until(200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_moves_between_a_file_and_sqld_both_ways() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let mut on_file = file_gateway(&mock).await;
    let mut on_sqld = remote_gateway(&mock, &sqld.url, "").await;
    let (from_file, _) = create_key(&on_file, "made-on-the-file").await;
    let (only_on_sqld, _) = create_key(&on_sqld, "replaced-by-the-import").await;
    assert_eq!(key_chat_status(&on_sqld, &from_file).await, 401);

    // File → sqld.
    let (status, answer) = import(&on_sqld, export(&on_file).await, "application/octet-stream").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["safetyBackup"]["kind"], "pre-import");
    assert_eq!(key_chat_status(&on_sqld, &from_file).await, 200, "the file's key works on the sqld server");
    assert_eq!(key_chat_status(&on_sqld, &only_on_sqld).await, 401, "what the sqld held before is replaced");
    log_in_again(&mut on_sqld).await;
    let keys = on_sqld.admin_get("/api/keys").await;
    let names: Vec<&str> = keys["keys"].as_array().unwrap().iter().filter_map(|k| k["name"].as_str()).collect();
    assert_eq!(names, ["made-on-the-file"]);

    // sqld → file.
    let (from_sqld, _) = create_key(&on_sqld, "made-on-sqld").await;
    let (status, answer) = import(&on_file, export(&on_sqld).await, "application/vnd.sqlite3").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(key_chat_status(&on_file, &from_sqld).await, 200, "the sqld's key works on the file server");
    assert_eq!(key_chat_status(&on_file, &from_file).await, 200);
    log_in_again(&mut on_file).await;
    let keys = on_file.admin_get("/api/keys").await;
    let mut names: Vec<&str> = keys["keys"].as_array().unwrap().iter().filter_map(|k| k["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["made-on-sqld", "made-on-the-file"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqld_garbage_and_a_newer_schema_are_refused_changing_nothing() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let gw = remote_gateway(&mock, &sqld.url, "").await;
    let (key, _) = create_key(&gw, "stays").await;
    let file = export(&gw).await;
    let (later, _) = create_key(&gw, "made-after-the-export").await;
    let db = open_remote_database(&sqld.url, "").await.unwrap();
    let version = "SELECT version FROM config_version";
    let before = scalar(db.connection(), version).await;

    let (status, answer) = import(&gw, b"this is not a database at all".to_vec(), "application/octet-stream").await;
    assert_eq!(status, 400, "{answer}");
    a_newer_schema_is_refused(&gw, &file).await;

    assert_eq!(key_chat_status(&gw, &key).await, 200);
    assert_eq!(key_chat_status(&gw, &later).await, 200, "nothing was restored");
    assert_eq!(scalar(db.connection(), "SELECT COUNT(*) FROM api_keys").await, SqlValue::Integer(2));
    assert_eq!(scalar(db.connection(), version).await, before, "the config version did not move");
    assert!(backups(&gw).await.is_empty(), "a refused import leaves no safety backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_run_on_sqld() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let gw = remote_gateway(&mock, &sqld.url, "[backup]\nevery = \"300ms\"\nkeep = 2\n").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = backups(&gw).await;
        assert!(listed.len() <= 3, "{listed:?}");
        if listed.len() == 2 && listed.iter().all(|b| b["kind"] == "scheduled") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no scheduled backups within 20 s: {listed:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The archive on its own, with more rows than a page and values larger than a statement's
/// share: a snapshot of a sqld holds every row and counter; it restores into another sqld and
/// into a file, and the file's snapshot restores into a sqld.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_tables_go_whole_both_ways() {
    let (first, second) = (Sqld::start().await, Sqld::start().await);
    let scratch = tempfile::tempdir().unwrap();
    let db = open_remote_database(&first.url, "").await.unwrap();
    let conn = db.connection();
    // 3000 usage rows (over ten pages; 21 columns, 47 rows per INSERT) and 40 bodies of 300 kB
    // (12 MB in all, past sqld's 10 MB answer limit).
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
         INSERT INTO usage_log (request_id, ts_ms, provider, connection_id, requested_model, upstream_model,
           client_format, upstream_format, status, stream, latency_ms, cost_usd)
         SELECT 'req-' || i, i, 'openai', 'c', 'm', 'm', 'openai', 'openai', 200, 0, i, i * 0.5 FROM n",
        (),
    )
    .await
    .unwrap();
    conn.execute("DELETE FROM usage_log WHERE id > 2990", ()).await.unwrap();
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
         INSERT INTO usage_bodies (usage_id, request_id, ts_ms, request_body, response_body)
         SELECT i, 'req-' || i, i, hex(zeroblob(150000)), hex(zeroblob(500)) FROM n",
        (),
    )
    .await
    .unwrap();
    let archive = RemoteArchive::new(db.clone(), scratch.path().to_path_buf());
    let snapshot = archive.snapshot().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let copy = open_copy(dir.path(), &snapshot).await;
    let copied = copy.connection();
    assert_eq!(scalar(copied, "PRAGMA integrity_check").await, SqlValue::Text("ok".into()));
    assert_eq!(scalar(copied, "SELECT COUNT(*) FROM usage_log").await, SqlValue::Integer(2990));
    assert_eq!(scalar(copied, "SELECT SUM(cost_usd) FROM usage_log").await, SqlValue::Real(2990.0 * 2991.0 / 4.0));
    let seq = "SELECT seq FROM sqlite_sequence WHERE name = 'usage_log'";
    assert_eq!(scalar(copied, seq).await, SqlValue::Integer(3000), "the counter, past the deleted rows");
    let bodies = "SELECT SUM(length(request_body)), COUNT(*) FROM usage_bodies";
    assert_eq!(scalar(copied, bodies).await, SqlValue::Integer(40 * 300_000));
    drop(copy);

    // Into another sqld (its own rows replaced), then back out of it.
    let other = open_remote_database(&second.url, "").await.unwrap();
    other
        .connection()
        .execute("INSERT INTO providers (id, source, created_at, updated_at) VALUES ('gone', 'api', 0, 0)", ())
        .await
        .unwrap();
    let into_other = RemoteArchive::new(other.clone(), scratch.path().to_path_buf());
    let restored = into_other.restore(snapshot.clone()).await.unwrap();
    assert!(restored.tables > 5, "{restored:?}");
    let live = other.connection();
    assert_eq!(scalar(live, "SELECT COUNT(*) FROM usage_log").await, SqlValue::Integer(2990));
    assert_eq!(scalar(live, bodies).await, SqlValue::Integer(40 * 300_000));
    assert_eq!(scalar(live, seq).await, SqlValue::Integer(3000));
    assert_eq!(scalar(live, "SELECT COUNT(*) FROM providers WHERE id = 'gone'").await, SqlValue::Integer(0));

    // Into a file, whose own snapshot goes back into the first sqld.
    let file_db = omniroute_storage::Database::open_file(&dir.path().join("live.sqlite")).await.unwrap();
    let file_archive = LibsqlArchive::new(file_db.clone());
    file_archive.restore(snapshot).await.unwrap();
    assert_eq!(scalar(file_db.connection(), "SELECT COUNT(*) FROM usage_log").await, SqlValue::Integer(2990));
    conn.execute("DELETE FROM usage_log", ()).await.unwrap();
    archive.restore(file_archive.snapshot().await.unwrap()).await.unwrap();
    assert_eq!(scalar(conn, "SELECT COUNT(*) FROM usage_log").await, SqlValue::Integer(2990));
    let leftovers = std::fs::read_dir(scratch.path()).unwrap().count();
    assert_eq!(leftovers, 0, "no scratch file is left behind");
}

/// sqld takes the write lock away from a transaction that has held it for 5 s while another
/// writer waits, and the stream goes on in autocommit. A batch of INSERTs sent after such a cut
/// (what a long restore on a busy database meets) must fail whole: none of its rows may land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_after_sqld_cut_the_transaction_writes_nothing() {
    let sqld = Sqld::start().await;
    let db = open_remote_database(&sqld.url, "").await.unwrap();
    let insert = |id: &str| {
        (
            "INSERT INTO providers (id, source, created_at, updated_at) VALUES (?1, 'api', 0, 0)".to_owned(),
            vec![SqlValue::Text(id.to_owned())],
        )
    };
    let tx = db.connection().write_transaction().await.unwrap();
    tx.execute_each(vec![insert("in-the-transaction")]).await.unwrap();
    let other = db.connection().clone();
    let waiting = tokio::spawn(async move {
        other
            .execute("INSERT INTO providers (id, source, created_at, updated_at) VALUES ('other', 'api', 0, 0)", ())
            .await
    });
    tokio::time::sleep(Duration::from_millis(6500)).await;
    assert!(waiting.is_finished(), "the other writer got the lock");
    waiting.await.unwrap().unwrap();
    let cut = tx.execute_each(vec![insert("batch-1"), insert("batch-2"), insert("batch-3")]).await;
    assert!(cut.is_err(), "{cut:?}");
    let _ = tx.rollback().await;
    let ids = scalar(db.connection(), "SELECT group_concat(id, ',') FROM (SELECT id FROM providers ORDER BY id)").await;
    assert_eq!(ids, SqlValue::Text("other".into()));
}
