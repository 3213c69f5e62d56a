//! The `omniroute` binary as a user runs it: empty start with the hint line, a config file via
//! `--config` and via `OMNIROUTE_CONFIG`, data under `./data`, and a clean exit on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

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
