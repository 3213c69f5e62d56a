//! Where things are: the workspace, its target dir, built binaries, and the external tools the
//! README's test command (`scripts/test`) installs. A missing tool fails the test with the fix.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { workspace_root().join(dir) }
        }
        None => workspace_root().join("target"),
    }
}

/// A binary of this workspace, built by `scripts/test` before the tests run.
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = target_dir().join("debug").join(name);
    assert!(path.exists(), "{} is not built; run `cargo build --workspace --bins` (scripts/test does)", path.display());
    path
}

/// An external tool on PATH, or a panic that says how to install it.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not on PATH; run the tests through scripts/test, which installs it"))
}

/// The Python of the venv holding the official SDKs.
pub fn python() -> PathBuf {
    installed("OMNIROUTE_PYTHON")
}

/// A tool `scripts/install-test-tools` installs, by the variable it exports (`OMNIROUTE_SQLD`,
/// `OMNIROUTE_WEED`, ...): from the environment when the caller evaluated the script (as
/// `scripts/test` does), else the script is run here once per test process (installing only
/// what is missing), so a test never skips for want of a tool.
pub fn installed(variable: &str) -> PathBuf {
    let path = std::env::var_os(variable).map(PathBuf::from).unwrap_or_else(|| {
        let exports = install_exports();
        let prefix = format!("export {variable}=");
        let value = exports.lines().find_map(|line| line.strip_prefix(prefix.as_str()));
        PathBuf::from(
            value.unwrap_or_else(|| panic!("scripts/install-test-tools exports no {variable}")).trim_matches('"'),
        )
    });
    assert!(path.exists(), "{} ({variable}) does not exist; rerun scripts/install-test-tools", path.display());
    path
}

/// What `scripts/install-test-tools` prints to `eval`, run once per test process.
fn install_exports() -> &'static str {
    static EXPORTS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    EXPORTS.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-test-tools");
        let output = std::process::Command::new(&script)
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run scripts/install-test-tools");
        assert!(output.status.success(), "scripts/install-test-tools failed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Polls `url` until it answers (any HTTP status) or `limit` passes.
pub async fn wait_for_http(url: &str, limit: Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + limit;
    loop {
        if client.get(url).timeout(Duration::from_secs(2)).send().await.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "{url} did not answer within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The schemathesis CLI, installed by `scripts/test` in a venv of its own.
pub fn schemathesis() -> PathBuf {
    let path = std::env::var_os("OMNIROUTE_SCHEMATHESIS")
        .map(PathBuf::from)
        .expect("OMNIROUTE_SCHEMATHESIS is not set; run the tests through scripts/test, which installs schemathesis");
    assert!(path.exists(), "{} does not exist; rerun scripts/test", path.display());
    path
}
