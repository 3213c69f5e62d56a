//! Runs the official SDK scripts in `tests/python/` (the venv that scripts/test creates) against
//! a base URL, so the mocks and every runtime are checked with the same unchanged clients.

use std::process::Command;

use crate::tools::{python, workspace_root};

/// Runs `tests/python/<script>` with `base_url` and model prefix `prefix` (`""` for bare model
/// names, as the mock upstream takes them) and returns its JSON summary; panics with the
/// script's output on failure.
pub fn run_sdk_script(script: &str, base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script_with_env(script, base_url, prefix, &[])
}

/// [`run_sdk_script`] with more environment variables for the script (API keys, say).
pub fn run_sdk_script_with_env(script: &str, base_url: &str, prefix: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let path = workspace_root().join("tests/python").join(script);
    let mut command = Command::new(python());
    command.arg(&path).arg(base_url).arg(prefix).envs(env.iter().copied());
    let output = command.output().expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed against {base_url} (prefix {prefix:?}):\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{script} summary is not JSON ({e}): {stdout}"))
}

/// The OpenAI SDK's chat completions; `base_url` ends in `/v1`.
pub fn run_openai_sdk_chat(base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script("openai_sdk_chat.py", base_url, prefix)
}

/// The OpenAI SDK's Responses API; `base_url` ends in `/v1`.
pub fn run_openai_sdk_responses(base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script("openai_sdk_responses.py", base_url, prefix)
}

/// The Anthropic SDK; `base_url` is the origin (the SDK adds `/v1/messages`).
pub fn run_anthropic_sdk(base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script("anthropic_sdk.py", base_url, prefix)
}

/// The Google GenAI SDK; `base_url` is the origin (the SDK adds `/v1beta/models/...`).
pub fn run_genai_sdk(base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script("genai_sdk.py", base_url, prefix)
}

/// The Ollama SDK; `base_url` is the host (the SDK adds `/api/chat`).
pub fn run_ollama_sdk(base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script("ollama_sdk.py", base_url, prefix)
}
