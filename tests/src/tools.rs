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
    let python = std::env::var_os("OMNIROUTE_PYTHON")
        .map(PathBuf::from)
        .expect("OMNIROUTE_PYTHON is not set; run the tests through scripts/test, which creates the venv");
    assert!(python.exists(), "{} does not exist; rerun scripts/test", python.display());
    python
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
