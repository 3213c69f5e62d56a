//! Scenario g, the shared database (issue 18): the same passthrough as (a) through a gateway
//! whose store is a real sqld instead of the embedded file (the hot path makes no store call,
//! so the two should match), the propagation delay (an admin key created on one gateway, tried
//! on another on the same sqld until it gets in), and what one usage row costs to write on the
//! remote store against the file (the usage sink's flush, timed per row).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use omniroute_core::ports::{UsageRecord, UsageSink};
use omniroute_storage::{Database, LibsqlUsageSink};
use serde_json::json;

use super::gateway::{GatewayProcess, Launch};
use super::load::RequestSpec;
use crate::sqld::Sqld;

/// The admin password of the gateways on sqld (the management API makes the keys).
const PASSWORD: &str = "bench-admin-password";

/// Two gateways on one sqld.
pub struct SharedPair {
    pub sqld: Sqld,
    pub a: GatewayProcess,
    pub b: GatewayProcess,
}

impl SharedPair {
    /// Starts a sqld and two gateways on it, from `base` (same binary, config and core), each
    /// with a data folder and port of its own.
    pub async fn start(base: &Launch, first: &RequestSpec) -> Result<SharedPair, String> {
        let sqld = Sqld::start().await;
        // Off the gateway's core: it stands for a database on another machine, and here it would
        // take the gateway's CPU absorbing the usage rows. The harness's core has room for it.
        if let Some(cpu) = base.cpu {
            let other = if cpu == 0 { 1 } else { 0 };
            let _ = tokio::process::Command::new("taskset")
                .args(["-a", "-p", "-c", &other.to_string(), &sqld.pid().to_string()])
                .stdout(std::process::Stdio::null())
                .status()
                .await;
        }
        let launch = |name: &str| -> Result<Launch, String> {
            let data_dir = base.data_dir.with_file_name(format!("data-sqld-{name}"));
            let _ = std::fs::remove_dir_all(&data_dir);
            std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
            let mut env = base.env.clone();
            env.push(("OMNIROUTE_DATABASE_URL".into(), sqld.url.clone()));
            env.push(("INITIAL_PASSWORD".into(), PASSWORD.into()));
            Ok(Launch { data_dir, port: free_port()?, env, ..base.clone() })
        };
        let a = launch("a")?.start(first).await?;
        let b = launch("b")?.start(first).await?;
        Ok(SharedPair { sqld, a, b })
    }

    /// Creates `runs` admin keys on A and times each until B lets it into its management API
    /// (B checks keys against its in-memory snapshot, so this is the time a config change takes
    /// to apply on another instance), in milliseconds, sorted.
    pub async fn propagation(&self, runs: usize) -> Result<Vec<f64>, String> {
        let client = reqwest::Client::new();
        let cookie = login(&client, self.a.addr).await?;
        let mut delays = Vec::new();
        for run in 0..runs {
            let created: serde_json::Value = client
                .post(format!("http://{}/api/keys", self.a.addr))
                .header("cookie", &cookie)
                .json(&json!({"name": format!("bench-propagation-{run}"), "role": "admin"}))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let key = created["key"].as_str().ok_or_else(|| format!("creating a key on A: {created}"))?.to_owned();
            let started = Instant::now();
            loop {
                let status = client
                    .get(format!("http://{}/api/sync/cloud", self.b.addr))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .status();
                if status.is_success() {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    return Err("a key created on A was never taken on B".into());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            delays.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        delays.sort_by(f64::total_cmp);
        Ok(delays)
    }

    pub async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
    }
}

async fn login(client: &reqwest::Client, addr: SocketAddr) -> Result<String, String> {
    let response = client
        .post(format!("http://{addr}/api/auth/login"))
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).ok_or("no session cookie")?;
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// Microseconds per usage row of one flush of `rows` rows, on a fresh file and on `sqld_url`.
pub async fn usage_row_cost(sqld_url: &str, dir: &std::path::Path, rows: usize) -> Result<(f64, f64), String> {
    let file = Database::open_file(&dir.join("usage-bench.db")).await.map_err(|e| e.to_string())?;
    let remote = omniroute_native::bootstrap::open_remote_database(sqld_url, "").await.map_err(|e| e.to_string())?;
    let mut costs = Vec::new();
    for db in [file, remote] {
        let sink = LibsqlUsageSink::new(db, rows * 2);
        for n in 0..rows {
            sink.record(UsageRecord {
                request_id: format!("bench-{n}"),
                provider: "mock".into(),
                requested_model: "mock/gpt-bench".into(),
                upstream_model: "gpt-bench".into(),
                status: 200,
                input_tokens: Some(24),
                output_tokens: Some(60),
                latency_ms: 3,
                cost_usd: Some(0.0001),
                ..Default::default()
            });
        }
        let started = Instant::now();
        sink.flush().await;
        if sink.pending() > 0 {
            return Err(format!("{} rows were not written", sink.pending()));
        }
        costs.push(started.elapsed().as_secs_f64() * 1e6 / rows as f64);
    }
    Ok((costs[0], costs[1]))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
