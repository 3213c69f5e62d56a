//! The `omniroute` binary as a user runs it: empty start with the hint line, a config file via
//! `--config` and via `OMNIROUTE_CONFIG`, data under `./data`, a clean exit on SIGTERM, and
//! `POST /api/shutdown` / `POST /api/restart` (same process, same port, same data).

use std::process::Stdio;
use std::time::Duration;

use omniroute_core::ports::ConfigStore;
use omniroute_storage::{Database, LibsqlConfigStore, LibsqlUsageSink, SecretBox};
use omniroute_tests::gateway::login;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use omniroute_tests::tools::{free_port, wait_for_http, workspace_bin};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

fn omniroute(cwd: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(workspace_bin("omniroute"));
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("OMNIROUTE_CONFIG")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env("RUST_LOG", "info")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().expect("omniroute starts")
}

async fn terminate(mut child: Child) -> String {
    let pid = child.id().expect("running") as i32;
    Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await.unwrap();
    let status =
        tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("exits after SIGTERM").unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).await.unwrap();
    assert!(status.success(), "exit status {status:?}\n{log}");
    log
}

#[tokio::test]
async fn starts_empty_with_a_hint_and_stores_data_under_data_dir() {
    let cwd = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let child = omniroute(cwd.path(), &["--port", &port], &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{base}/api/monitoring/health"), Duration::from_secs(30)).await;
    let health: Value = reqwest::get(format!("{base}/api/monitoring/health")).await.unwrap().json().await.unwrap();
    assert_eq!(health["providers"], 0);
    let log = terminate(child).await;
    let hints: Vec<&str> = log.lines().filter(|l| l.contains("no providers configured")).collect();
    assert_eq!(hints.len(), 1, "one line says how to add a provider:\n{log}");
    assert!(hints[0].contains("OPENAI_API_KEY") && hints[0].contains("omniroute.toml"));
    assert!(cwd.path().join("data/omniroute.db").exists(), "embedded libSQL file under ./data");
    assert!(log.contains("usage flushed"), "graceful shutdown ran:\n{log}");
}

#[tokio::test]
async fn serves_chat_from_a_config_file_given_by_flag_or_env() {
    let mock = MockUpstream::start();
    let cwd = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "[server]\nport = {port}\n\n[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  name = \"main\"\n  api_key_env = \"MY_OPENAI_KEY\"\n",
        mock.base_url()
    );
    std::fs::write(cwd.path().join("gateway.toml"), config).unwrap();
    let path = cwd.path().join("gateway.toml");
    let path = path.to_str().unwrap();
    for (args, envs) in [
        (vec!["--config", path], vec![("MY_OPENAI_KEY", "sk-from-env")]),
        (vec![], vec![("MY_OPENAI_KEY", "sk-from-env"), ("OMNIROUTE_CONFIG", path)]),
    ] {
        let child = omniroute(cwd.path(), &args, &envs);
        let base = format!("http://127.0.0.1:{port}");
        wait_for_http(&format!("{base}/api/monitoring/health"), Duration::from_secs(30)).await;
        let body: Value = reqwest::Client::new()
            .post(format!("{base}/v1/chat/completions"))
            .json(&serde_json::json!({"model": "openai/gpt-mock", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["choices"][0]["message"]["content"], MOCK_TEXT);
        assert_eq!(mock.last_request().headers["authorization"], "Bearer sk-from-env");
        let log = terminate(child).await;
        assert!(!log.contains("sk-from-env"), "secrets never reach the logs");
    }
}

#[tokio::test]
async fn a_broken_config_file_is_a_clear_startup_error() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("omniroute.toml"), "[[providers]]\nid = \"mycorp\"\n").unwrap();
    let mut child = omniroute(cwd.path(), &["--port", &free_port().to_string()], &[]);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(!status.success());
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).await.unwrap();
    assert!(log.contains("needs `base_url`"), "{log}");
}

const ADMIN_PASSWORD: &str = "binary-admin-password";

/// A data dir with a config file whose `openai` provider is `mock`; the gateway's base URL.
fn configured(cwd: &std::path::Path, mock: &MockUpstream) -> (String, u16) {
    let port = free_port();
    let config = format!(
        "[server]\nport = {port}\nshutdown_grace_secs = 5\n\n[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  api_key = \"sk-test\"\n",
        mock.base_url()
    );
    std::fs::write(cwd.join("omniroute.toml"), config).unwrap();
    (format!("http://127.0.0.1:{port}"), port)
}

async fn chat(base: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .json(&serde_json::json!({"model": "openai/gpt-mock", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn post_as_admin(base: &str, cookie: &str, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new().post(format!("{base}{path}")).header("cookie", cookie).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn health(base: &str) -> Option<Value> {
    let response = reqwest::get(format!("{base}/api/monitoring/health")).await.ok()?;
    response.json().await.ok()
}

async fn audit_actions(cwd: &std::path::Path) -> Vec<(String, String)> {
    let db = Database::open_file(&cwd.join("data/omniroute.db")).await.unwrap();
    let store = LibsqlConfigStore::new(db, SecretBox::from_passphrase("unused: the audit log is not sealed"));
    store.audit_log(100).await.unwrap().into_iter().map(|e| (e.action, e.actor)).collect()
}

#[tokio::test]
async fn shutdown_over_the_api_flushes_usage_and_exits_cleanly() {
    let mock = MockUpstream::start();
    let cwd = tempfile::tempdir().unwrap();
    let (base, _) = configured(cwd.path(), &mock);
    let mut child = omniroute(cwd.path(), &[], &[("INITIAL_PASSWORD", ADMIN_PASSWORD)]);
    wait_for_http(&format!("{base}/api/monitoring/health"), Duration::from_secs(30)).await;
    let init: Value = reqwest::get(format!("{base}/api/init")).await.unwrap().json().await.unwrap();
    assert_eq!((init["passwordSet"].clone(), init["serverControls"].clone()), (Value::Bool(true), Value::Bool(true)));
    assert_eq!(post_as_admin(&base, "auth_token=forged", "/api/shutdown").await.0, 401);
    let cookie = login(&base, ADMIN_PASSWORD).await;
    assert_eq!(chat(&base).await, 200);
    let (status, body) = post_as_admin(&base, &cookie, "/api/shutdown").await;
    assert_eq!((status, body), (202, serde_json::json!({"ok": true, "action": "shutdown"})));
    let exit =
        tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("exits after /api/shutdown").unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).await.unwrap();
    assert!(exit.success(), "exit status {exit:?}\n{log}");
    assert!(log.contains("usage flushed"), "graceful shutdown ran:\n{log}");
    let db = Database::open_file(&cwd.path().join("data/omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    assert_eq!(rows.len(), 1, "the chat's usage row reached the database: {rows:?}");
    assert!(audit_actions(cwd.path()).await.contains(&("system.shutdown".to_owned(), "admin".to_owned())));
}

#[tokio::test]
async fn restart_over_the_api_comes_back_on_the_same_port() {
    let mock = MockUpstream::start();
    let cwd = tempfile::tempdir().unwrap();
    let (base, _) = configured(cwd.path(), &mock);
    let mut child = omniroute(cwd.path(), &[], &[("INITIAL_PASSWORD", ADMIN_PASSWORD)]);
    wait_for_http(&format!("{base}/api/monitoring/health"), Duration::from_secs(30)).await;
    let cookie = login(&base, ADMIN_PASSWORD).await;
    assert_eq!(chat(&base).await, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = health(&base).await.unwrap();
    assert!(before["uptimeMs"].as_u64().unwrap() >= 1500);
    let pid = child.id();
    assert_eq!(
        post_as_admin(&base, &cookie, "/api/restart").await,
        (202, serde_json::json!({"ok": true, "action": "restart"}))
    );
    // Back on the same port as a fresh start: uptime from zero, the config synced again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let after = loop {
        if let Some(now) = health(&base).await
            && now["configVersion"].as_u64() > before["configVersion"].as_u64()
        {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "did not come back within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(after["uptimeMs"].as_u64().unwrap() < before["uptimeMs"].as_u64().unwrap(), "{before} {after}");
    assert!(child.try_wait().unwrap().is_none(), "the same process, re-executed");
    assert_eq!(child.id(), pid);
    // Same data: the session still stands, chat still works.
    let settings =
        reqwest::Client::new().get(format!("{base}/api/settings")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(settings.status(), 200);
    assert_eq!(chat(&base).await, 200);
    let log = terminate(child).await;
    assert!(log.contains("restarting"), "{log}");
    assert_eq!(log.matches("omniroute listening").count(), 2, "{log}");
    assert_eq!(log.matches("usage flushed").count(), 2, "both runs flushed usage:\n{log}");
    let db = Database::open_file(&cwd.path().join("data/omniroute.db")).await.unwrap();
    assert_eq!(LibsqlUsageSink::new(db, 16).read_all().await.unwrap().len(), 2);
    assert!(audit_actions(cwd.path()).await.contains(&("system.restart".to_owned(), "admin".to_owned())));
}
