//! Runs the official SDK scripts in `tests/python/` (the venv that scripts/test creates) against
//! a gateway base URL, so every runtime is checked with the same unchanged client.

use std::process::Command;

use crate::tools::{python, workspace_root};

/// Runs `tests/python/openai_sdk_chat.py` against `base_url` (ending in `/v1`) with model
/// prefix `prefix` and returns its JSON summary; panics with the script's output on failure.
pub fn run_openai_sdk_chat(base_url: &str, prefix: &str) -> serde_json::Value {
    let script = workspace_root().join("tests/python/openai_sdk_chat.py");
    let output = Command::new(python()).arg(script).arg(base_url).arg(prefix).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "OpenAI SDK check failed against {base_url}:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("SDK summary is not JSON ({e}): {stdout}"))
}
