//! Usage rows are never lost and never kept past their time: a graceful shutdown in the middle
//! of concurrent traffic (streams included) still stores one row per request, and the server's
//! background loop deletes rows older than the retention setting, and only those.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use omniroute_core::ports::{UsageRecord, UsageSink};
use omniroute_storage::{Database, LibsqlUsageSink};
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::{Value, json};

const DAY_MS: u64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_under_load_loses_no_usage_row() {
    const REQUESTS: usize = 40;
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..REQUESTS {
        // Slow answers and slow streams: all still in flight when the shutdown starts.
        let (model, stream) = match i % 4 {
            0 => ("openai/drip-40", true),
            1 => ("anthropic/drip-40", true),
            2 => ("gemini/slow-400", false),
            _ => ("openai/slow-400", false),
        };
        let body = json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "hi" }] });
        let request = http.post(gw.url("/v1/chat/completions")).json(&body);
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }));
    }
    for _ in 0..200 {
        if mock.requests().len() == REQUESTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(mock.requests().len(), REQUESTS, "every request reached the upstream before the shutdown");
    let data_dir = gw.stop().await;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Hello") && body.contains("upstream!"), "a complete answer: {body}");
        assert!(!body.contains("\"error\""), "{body}");
    }
    let db = Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    assert_eq!(rows.len(), REQUESTS, "one row per request");
    assert!(rows.iter().all(|r| r.status == 200 && r.error.is_none() && r.output_tokens.is_some()), "{rows:?}");
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids.len(), REQUESTS);
}

fn row(request_id: &str, age_days: u64) -> UsageRecord {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    UsageRecord {
        request_id: request_id.into(),
        timestamp_ms: now - age_days * DAY_MS,
        provider: "openai".into(),
        connection_id: "openai:env".into(),
        status: 200,
        input_tokens: Some(1),
        output_tokens: Some(1),
        ..Default::default()
    }
}

/// The request ids of a page of rows, sorted.
fn ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        page["logs"].as_array().unwrap().iter().map(|r| r["requestId"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

const ROWS: &str = "/api/usage/logs?limit=500";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_loop_prunes_rows_past_the_retention_only() {
    let mock = MockUpstream::start();
    let env = [("OPENAI_API_KEY", "sk-test".to_owned()), ("OPENAI_BASE_URL", mock.base_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gw =
        TestGateway::start_with("", &env, |settings| settings.usage_prune_every = Duration::from_millis(100)).await;
    // Rows from another time, written straight to the gateway's database.
    let db = Database::open_file(&gw.data_dir.path().join("omniroute.db")).await.unwrap();
    let old = LibsqlUsageSink::new(db, 16);
    for (id, age) in [("old-40", 40), ("old-45", 45), ("old-100", 100), ("recent-1", 1)] {
        old.record(row(id, age));
    }
    old.flush().await;
    let response = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-request-id", "live")
        .json(&json!({ "model": "openai/gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The default keeps 90 days: only the 100-day-old row goes.
    let expected = ["live", "old-40", "old-45", "recent-1"];
    assert_eq!(ids(&gw.admin_get_until(ROWS, |page| ids(page) == expected).await), expected);

    // 30 days: the 40- and 45-day-old rows go too, at the next pass.
    let response =
        gw.admin().patch(gw.url("/api/settings/usage")).json(&json!({ "retentionDays": 30 })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(ids(&gw.admin_get_until(ROWS, |page| page["total"] == 2).await), ["live", "recent-1"]);

    // 0 keeps everything, however old.
    gw.admin().patch(gw.url("/api/settings/usage")).json(&json!({ "retentionDays": 0 })).send().await.unwrap();
    old.record(row("ancient", 4000));
    old.flush().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(ids(&gw.admin_get(ROWS).await), ["ancient", "live", "recent-1"]);
    gw.stop().await;
}
