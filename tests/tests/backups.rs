//! Database backups through the real server (`/api/db-backups*`) on the libSQL file: create,
//! list, restore after deleting rows, export/import round trips and refusals, consistency
//! under a write burst, interrupted writes, retention, and the `.tar.gz` export with its
//! masked config. The same against SeaweedFS lives in `backups_s3.rs`.

use std::time::Duration;

use omniroute_tests::backup_support::{
    a_newer_schema_is_refused, backups_during_a_key_burst_are_each_one_committed_state, create_key, export_all_files,
    import, key_chat_status, require_key_gateway,
};
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::{Value, json};

async fn backups(gw: &omniroute_tests::gateway::TestGateway) -> Vec<Value> {
    gw.admin_get("/api/db-backups").await["backups"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_brings_back_a_deleted_key_after_a_safety_backup() {
    let mock = MockUpstream::start();
    let gw = require_key_gateway(&mock, "").await;
    let (key, id) = create_key(&gw, "kept").await;
    assert_eq!(key_chat_status(&gw, &key).await, 200);
    assert!(backups(&gw).await.is_empty());

    let (status, made) = gw.admin_call("PUT", "/api/db-backups", None).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["kind"], "manual");
    assert!(made["size"].as_u64().unwrap() > 4096);
    assert!(made["where"].as_str().unwrap().starts_with("local:"), "{made}");
    let listed = backups(&gw).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], made["name"]);
    assert!(listed[0]["createdAt"].as_str().unwrap().ends_with('Z'));

    let (status, _) = gw.admin_call("DELETE", &format!("/api/keys/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(key_chat_status(&gw, &key).await, 401, "the deleted key is refused");

    let (status, restored) = gw.admin_call("POST", "/api/db-backups", Some(json!({ "name": made["name"] }))).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["restored"], made["name"]);
    assert_eq!(restored["safetyBackup"]["kind"], "pre-restore");
    assert_eq!(key_chat_status(&gw, &key).await, 200, "the key works again at once");
    let listed = backups(&gw).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let log = gw.admin_get("/api/compliance/audit-log").await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"backup.restore") && actions.contains(&"backup.create"), "{actions:?}");

    // Undo with the safety backup: the key is gone again.
    let (status, _) =
        gw.admin_call("POST", "/api/db-backups", Some(json!({ "name": restored["safetyBackup"]["name"] }))).await;
    assert_eq!(status, 200);
    assert_eq!(key_chat_status(&gw, &key).await, 401);

    let (status, missing) = gw
        .admin_call("POST", "/api/db-backups", Some(json!({ "name": "omniroute-20200101T000000.000Z-manual.sqlite" })))
        .await;
    assert_eq!(status, 404, "{missing}");
    let (status, _) = gw.admin_call("POST", "/api/db-backups", Some(json!({ "name": "../../etc/passwd" }))).await;
    assert_eq!(status, 404);
    // Not for a user key, nor without credentials.
    let anonymous = reqwest::Client::new().put(gw.url("/api/db-backups")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_round_trip_and_bad_files_change_nothing() {
    let mock = MockUpstream::start();
    let gw = require_key_gateway(&mock, "").await;
    let (first, first_id) = create_key(&gw, "first").await;
    let export = gw.admin().get(gw.url("/api/db-backups/export")).send().await.unwrap();
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["content-type"], "application/vnd.sqlite3");
    assert!(export.headers()["content-disposition"].to_str().unwrap().contains(".sqlite"));
    let file = export.bytes().await.unwrap();
    assert!(file.starts_with(b"SQLite format 3\0"));

    gw.admin_call("DELETE", &format!("/api/keys/{first_id}"), None).await;
    let (second, _) = create_key(&gw, "second").await;
    assert_eq!(key_chat_status(&gw, &first).await, 401);

    // The raw file as the body.
    let (status, answer) = import(&gw, file.to_vec(), "application/octet-stream").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["safetyBackup"]["kind"], "pre-import");
    assert_eq!(key_chat_status(&gw, &first).await, 200, "the exported state is back");
    assert_eq!(key_chat_status(&gw, &second).await, 401, "and what came after it is gone");

    // As a form field, the way the reference's curl -F file=@… sends it.
    let boundary = "omniroute-test-boundary";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"backup.sqlite\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&file);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, answer) = import(&gw, form, &format!("multipart/form-data; boundary={boundary}")).await;
    assert_eq!(status, 200, "{answer}");
    let before = backups(&gw).await.len();

    // Garbage, and a database from a newer build: 400, nothing changed, no backup left behind.
    let (status, answer) = import(&gw, b"this is not a database at all".to_vec(), "application/octet-stream").await;
    assert_eq!(status, 400, "{answer}");
    // Past the 10 MB limit of other API calls, an upload is still read (and this one refused
    // for what it is, a damaged database, not for its size).
    let mut big = b"SQLite format 3\0".to_vec();
    big.resize(11 << 20, 0x5a);
    let (status, answer) = import(&gw, big, "application/octet-stream").await;
    assert_eq!(status, 400, "{answer}");
    a_newer_schema_is_refused(&gw, &file).await;
    let dir = tempfile::tempdir().unwrap();
    // A SQLite file that is not ours.
    let foreign = dir.path().join("foreign.sqlite");
    let db = omniroute_tests::backup_support::plain_sqlite(&foreign).await;
    drop(db);
    let (status, answer) = import(&gw, std::fs::read(&foreign).unwrap(), "application/octet-stream").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(key_chat_status(&gw, &first).await, 200);
    assert_eq!(key_chat_status(&gw, &second).await, 401);
    assert_eq!(backups(&gw).await.len(), before, "a refused import leaves no safety backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_all_holds_the_database_a_masked_config_and_a_manifest() {
    let mock = MockUpstream::start();
    let gw = require_key_gateway(&mock, "").await;
    let (key, _) = create_key(&gw, "secret-holder").await;
    let response = gw.admin().get(gw.url("/api/db-backups/exportAll")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/gzip");
    let files = export_all_files(&response.bytes().await.unwrap());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["manifest.json", "omniroute.sqlite", "config.toml"]);
    let manifest: Value = serde_json::from_slice(&files[0].1).unwrap();
    let latest = omniroute_storage::migrations::MIGRATIONS.last().map(|(version, _, _)| *version);
    assert_eq!(manifest["schemaVersion"].as_i64(), latest, "the newest migration's version");
    assert_eq!(manifest["files"]["omniroute.sqlite"]["bytes"], files[1].1.len());
    assert!(files[1].1.starts_with(b"SQLite format 3\0"));
    let config = String::from_utf8(files[2].1.clone()).unwrap();
    assert!(config.contains("secret-holder") && config.contains("openai"), "{config}");
    for secret in ["sk-test", "sk-ant-test", "gemini-test", key.as_str(), omniroute_tests::gateway::TEST_ADMIN_PASSWORD]
    {
        assert!(!config.contains(secret), "{secret} leaked into config.toml:\n{config}");
    }
    assert!(config.contains("********"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_a_write_burst_is_one_committed_state() {
    let mock = MockUpstream::start();
    let gw = std::sync::Arc::new(require_key_gateway(&mock, "").await);
    backups_during_a_key_burst_are_each_one_committed_state(gw, 60).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_write_is_never_listed() {
    let gw = omniroute_tests::gateway::TestGateway::start("", &[]).await;
    let dir = gw.data_dir.path().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    // What a backup killed mid-write leaves: the hidden partial file, never renamed.
    let partial = ".omniroute-20261207T120000.000Z-manual.sqlite.partial";
    std::fs::write(dir.join(partial), b"SQLite format 3\0 and then nothing").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a backup").unwrap();
    assert!(backups(&gw).await.is_empty());
    let (status, _) = gw.admin_call("PUT", "/api/db-backups", None).await;
    assert_eq!(status, 201);
    assert_eq!(backups(&gw).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_keep_exactly_the_newest_n() {
    let gw = omniroute_tests::gateway::TestGateway::start("[backup]\nevery = \"250ms\"\nkeep = 3\n", &[]).await;
    // Two manual ones first: retention counts every backup, so they go too.
    for _ in 0..2 {
        assert_eq!(gw.admin_call("PUT", "/api/db-backups", None).await.0, 201);
    }
    // Between a run's backup and its pruning, one more exists; never more than that.
    let settled = |after: Option<String>| {
        let gw = &gw;
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                let listed = backups(gw).await;
                assert!(listed.len() <= 3 + 1, "retention lets at most one extra exist mid-run: {listed:?}");
                let all_scheduled = listed.iter().all(|b| b["kind"] == "scheduled");
                let newer =
                    after.as_deref().is_none_or(|a| listed.first().is_some_and(|b| b["name"].as_str() > Some(a)));
                if listed.len() == 3 && all_scheduled && newer {
                    return listed;
                }
                assert!(std::time::Instant::now() < deadline, "no retention within 20 s: {listed:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // The manual ones went, and exactly three scheduled ones are left.
    let listed = settled(None).await;
    // Steady state: later runs replace those three with newer ones, still exactly three.
    let newest = listed[2]["name"].as_str().unwrap().to_owned();
    let later = settled(Some(newest)).await;
    assert_eq!(later.len(), 3);
}
