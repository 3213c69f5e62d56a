//! Acknowledged management writes survive concurrency (issue 14, defect 1): 16 writers × 40
//! alias creations against the `omniroute` binary, repeated; every answer is 201, and every
//! acknowledged alias is in the API, the audit log and the database file, also after a restart.

use std::process::Stdio;
use std::time::Duration;

use omniroute_storage::Database;
use omniroute_tests::gateway::login;
use omniroute_tests::tools::{free_port, wait_for_http, workspace_bin};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const PASSWORD: &str = "concurrent-writes-password";
const WRITERS: usize = 16;
const WRITES_EACH: usize = 40;
const ROUNDS: usize = 3;

fn omniroute(cwd: &std::path::Path, port: u16) -> Child {
    Command::new(workspace_bin("omniroute"))
        .current_dir(cwd)
        .args(["--port", &port.to_string()])
        .env_remove("OMNIROUTE_CONFIG")
        .env("INITIAL_PASSWORD", PASSWORD)
        .env("OPENAI_API_KEY", "sk-test")
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("omniroute starts")
}

async fn start(cwd: &std::path::Path) -> (Child, String, reqwest::Client) {
    let port = free_port();
    let child = omniroute(cwd, port);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{base}/api/monitoring/health"), Duration::from_secs(30)).await;
    let cookie = login(&base, PASSWORD).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, cookie.parse().unwrap());
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    (child, base, client)
}

async fn alias_names(client: &reqwest::Client, base: &str) -> Vec<String> {
    let list: Value = client.get(format!("{base}/api/models/alias")).send().await.unwrap().json().await.unwrap();
    let mut names: Vec<String> = list["aliases"].as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_lose_nothing_and_answer_no_500() {
    let cwd = tempfile::tempdir().unwrap();
    let (mut child, base, client) = start(cwd.path()).await;
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let (client, base) = (client.clone(), base.clone());
            writers.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for i in 0..WRITES_EACH {
                    let alias = format!("r{round}-w{writer:02}-{i:02}");
                    let response = client
                        .post(format!("{base}/api/models/alias"))
                        .json(&json!({"alias": alias, "model": "openai/gpt-4o"}))
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    answers.push((alias, status, response.text().await.unwrap()));
                }
                answers
            }));
        }
        for writer in writers {
            for (alias, status, body) in writer.await.unwrap() {
                assert_eq!(status, 201, "{alias}: {body}");
                acknowledged.push(alias);
            }
        }
    }
    acknowledged.sort();
    assert_eq!(acknowledged.len(), ROUNDS * WRITERS * WRITES_EACH);
    assert_same(&alias_names(&client, &base).await, &acknowledged, "served");

    // A hard kill right after the last answer: acknowledged means on disk.
    child.kill().await.unwrap();
    child.wait().await.unwrap();
    let db = Database::open_file(&cwd.path().join("data/omniroute.db")).await.unwrap();
    let mut rows = db
        .connection()
        .query("SELECT target FROM audit_log WHERE action = 'alias.create' ORDER BY target", ())
        .await
        .unwrap();
    let mut audited = Vec::new();
    while let Some(row) = rows.next().await.unwrap() {
        audited.push(row.get::<String>(0).unwrap());
    }
    drop((rows, db));
    assert_same(&audited, &acknowledged, "audited once each");
    let (_child, base, client) = start(cwd.path()).await;
    assert_same(&alias_names(&client, &base).await, &acknowledged, "served after a kill -9 and a restart");
}

/// The two sorted lists are equal; on failure, only the differences are shown.
fn assert_same(found: &[String], acknowledged: &[String], what: &str) {
    let missing: Vec<&String> = acknowledged.iter().filter(|a| found.binary_search(a).is_err()).collect();
    let extra: Vec<&String> = found.iter().filter(|f| acknowledged.binary_search(f).is_err()).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && found.len() == acknowledged.len(),
        "{what}: {} found, {} acknowledged; missing {missing:?}, unexpected {extra:?}",
        found.len(),
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_a_write_burst_loses_no_acknowledged_write() {
    let cwd = tempfile::tempdir().unwrap();
    let (mut child, base, client) = start(cwd.path()).await;
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (client, base) = (client.clone(), base.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..WRITES_EACH * 10 {
                let alias = format!("k-w{writer:02}-{i:03}");
                let body = json!({"alias": alias, "model": "openai/gpt-4o"});
                match client.post(format!("{base}/api/models/alias")).json(&body).send().await {
                    Ok(response) if response.status() == 201 => acknowledged.push(alias),
                    Ok(response) => panic!("{alias}: {}", response.status()),
                    // The kill: this write was never acknowledged.
                    Err(_) => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    child.kill().await.unwrap();
    child.wait().await.unwrap();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    acknowledged.sort();
    assert!(acknowledged.len() > WRITERS, "the burst was under way: {} writes", acknowledged.len());
    let db = Database::open_file(&cwd.path().join("data/omniroute.db")).await.unwrap();
    let mut rows = db.connection().query("PRAGMA integrity_check", ()).await.unwrap();
    assert_eq!(rows.next().await.unwrap().unwrap().get::<String>(0).unwrap(), "ok");
    drop((rows, db));
    let (_child, base, client) = start(cwd.path()).await;
    let served = alias_names(&client, &base).await;
    let missing: Vec<&String> = acknowledged.iter().filter(|a| served.binary_search(a).is_err()).collect();
    assert!(missing.is_empty(), "{} acknowledged, lost: {missing:?}", acknowledged.len());
}
