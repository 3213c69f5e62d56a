//! `wrangler dev --local`: the Cloudflare Worker as users run it locally, built with
//! worker-build and served in workerd. The first run compiles the wasm (minutes); later runs
//! reuse `target/worker-wrangler`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::tools::{target_dir, tool, workspace_root};

/// The first `wrangler dev` runs a cold release build of the wasm on a small machine.
const READY_LIMIT: Duration = Duration::from_secs(600);

/// `wrangler dev` and everything it starts (esbuild, workerd) in one process group, killed as a
/// group: `kill_on_drop` alone would only reach wrangler and leave workerd running.
pub struct Wrangler {
    child: Child,
    pgid: i32,
    log: PathBuf,
}

impl Wrangler {
    /// `wrangler dev` on `port` with these `--var`s (name, value).
    pub fn start(port: u16, vars: &[(&str, &str)]) -> Wrangler {
        let wrangler = tool("wrangler");
        // worker-build cannot download its helpers here: hand it the installed ones, and fail
        // now (not after a build) when one is missing.
        let helper = |var: &str, name: &str| match std::env::var_os(var).map(PathBuf::from) {
            Some(path) if path.is_file() => path,
            Some(path) => {
                panic!("{var}={} does not exist; run `eval \"$(scripts/install-test-tools)\"`", path.display())
            }
            None => tool(name),
        };
        let wasm_bindgen = helper("WASM_BINDGEN_BIN", "wasm-bindgen");
        let wasm_opt = helper("WASM_OPT_BIN", "wasm-opt");
        let esbuild = helper("ESBUILD_BIN", "esbuild");
        tool("worker-build");

        let dir = target_dir().join("worker-wrangler");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join(format!("wrangler-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(wrangler);
        cmd.current_dir(workspace_root())
            .args(["dev", "--local", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .arg("--show-interactive-dev-session=false")
            .args(vars.iter().flat_map(|(name, value)| ["--var".to_owned(), format!("{name}:{value}")]))
            .env("WASM_BINDGEN_BIN", wasm_bindgen)
            .env("WASM_OPT_BIN", wasm_opt)
            .env("ESBUILD_BIN", esbuild)
            // Its own target dir: the cargo running this test may hold the lock on `target/`.
            .env("CARGO_TARGET_DIR", dir.join("target"))
            // wasm-opt shrinks the deployed file; it takes minutes here and changes no behaviour.
            .env("OMNIROUTE_WORKER_BUILD_FLAGS", "--no-opt")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "true")
            // Offline: skip fetching the `Request.cf` sample from workers.cloudflare.com.
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn().expect("wrangler starts");
        let pgid = child.id().expect("running") as i32;
        Wrangler { child, pgid, log }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {} (last 60 lines) ---\n{}",
            self.log.display(),
            lines[lines.len().saturating_sub(60)..].join("\n")
        )
    }

    /// Waits for the Worker to answer `url`, failing early if wrangler exits (a build error).
    pub async fn wait_ready(&mut self, url: &str) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            // wrangler's proxy holds requests while the build runs, hence the long timeout.
            if let Ok(response) = client.get(url).timeout(Duration::from_secs(30)).send().await {
                let status = response.status();
                if status.is_success() {
                    return;
                }
                // The Worker itself answered that it could not start (a binding, the database):
                // waiting longer would not change that.
                if status == 500 {
                    let body = response.text().await.unwrap_or_default();
                    panic!("the Worker answered 500 at {url}: {body}\n{}", self.log_tail());
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("wrangler exited with {status} before serving\n{}", self.log_tail());
            }
            assert!(Instant::now() < deadline, "{url} did not answer within {READY_LIMIT:?}\n{}", self.log_tail());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Ends the whole group (SIGTERM, then SIGKILL) and returns whatever still lives in it.
    pub async fn stop(&mut self) -> Vec<String> {
        signal_group(self.pgid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !live_members(self.pgid).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        signal_group(self.pgid, "-KILL");
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        live_members(self.pgid)
    }
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        // Reached when an assertion failed mid-test: never leave workerd behind.
        signal_group(self.pgid, "-KILL");
    }
}

fn signal_group(pgid: i32, signal: &str) {
    let _ = std::process::Command::new("kill").args([signal, "--", &format!("-{pgid}")]).stderr(Stdio::null()).status();
}

/// Processes of group `pgid` that are still running (zombies awaiting a reaper do not count).
fn live_members(pgid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stat = std::fs::read_to_string(path.join("stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            let (head, rest) = stat.rsplit_once(") ")?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let (state, group) = (*fields.first()?, fields.get(2)?.parse::<i32>().ok()?);
            (group == pgid && state != "Z").then(|| process_name(&path, head))
        })
        .collect()
}

fn process_name(proc_dir: &Path, stat_head: &str) -> String {
    std::fs::read_to_string(proc_dir.join("cmdline"))
        .map(|c| c.replace('\0', " "))
        .ok()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| stat_head.to_owned())
}
