//! The gateway under test: the `omniroute` binary started with `taskset` on its own core, a
//! config whose providers all point at the bench mock, and a fresh data folder (kept between
//! restarts so start-up is measured with an existing database).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::load::RequestSpec;
use super::wire;

/// The config: an OpenAI-chat provider, an Anthropic one, and a combo whose first target fails
/// fast. The breakers are set so high that every request pays its failed first attempt
/// (scenario e measures that cost, not the breaker's shortcut).
pub fn config(mock_base_url: &str) -> String {
    let openai = |id: &str| {
        format!(
            "[[providers]]\nid = \"{id}\"\nformat = \"openai-chat\"\nbase_url = \"{mock_base_url}\"\nmodels = [\"{}\"]\n  [[providers.accounts]]\n  api_key = \"sk-bench\"\n",
            wire::MODEL
        )
    };
    format!(
        "[resilience]\nfailure_threshold = 1000000000\n\n{}\n{}\n{}\n[[providers]]\nid = \"mockant\"\nformat = \"anthropic\"\nauth = \"x-api-key\"\nbase_url = \"{mock_base_url}\"\n  [[providers.accounts]]\n  api_key = \"sk-ant-bench\"\n\n[[combos]]\nname = \"fallback\"\ntargets = [\"mockfail/{}\", \"mock/{}\", \"mock2/{}\"]\n",
        openai("mock"),
        openai("mockfail"),
        openai("mock2"),
        wire::FAIL_MODEL,
        wire::MODEL,
        wire::MODEL
    )
}

/// A running gateway process.
pub struct GatewayProcess {
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
    /// How long from spawn to the first answered chat request.
    pub started_in: Duration,
}

/// How to start it.
#[derive(Clone, Debug)]
pub struct Launch {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub config_path: PathBuf,
    pub port: u16,
    /// The core to pin it to (`taskset -c`); none runs it unpinned.
    pub cpu: Option<usize>,
    /// Extra environment (e.g. an API key the gateway should know, once keys exist).
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// Starts the gateway and waits until it answers `first` (a chat request to the mock).
    pub async fn start(&self, first: &RequestSpec) -> Result<GatewayProcess, String> {
        let mut command = match self.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        };
        let log = std::fs::File::create(self.data_dir.join("gateway.log")).map_err(|e| e.to_string())?;
        command
            .arg("--config")
            .arg(&self.config_path)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--host")
            .arg("127.0.0.1")
            .env_remove("OMNIROUTE_CONFIG")
            .env("OMNIROUTE_SECRET", "bench-secret")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        let spawned = Instant::now();
        let child = command.spawn().map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let pid = child.id().ok_or("the gateway exited at once")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started_in = first_answer(addr, first, spawned).await?;
        Ok(GatewayProcess { addr, pid, child, started_in })
    }
}

/// Sends `first` every millisecond until one is answered with a success.
async fn first_answer(addr: SocketAddr, first: &RequestSpec, spawned: Instant) -> Result<Duration, String> {
    let limit = Duration::from_secs(30);
    let mut last_error = String::new();
    while spawned.elapsed() < limit {
        match super::load::once(addr, first).await {
            Ok(()) => return Ok(spawned.elapsed()),
            Err(e) => last_error = e,
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err(format!("the gateway did not answer within {limit:?}: {last_error}"))
}

impl GatewayProcess {
    /// SIGTERM, then waits for the graceful exit (usage flushed).
    pub async fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status().await;
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

/// `release/omniroute` beside the harness binary, else `debug/omniroute`.
pub fn default_binary() -> PathBuf {
    let here = std::env::current_exe().ok();
    let dir = here.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    dir.join("omniroute")
}
