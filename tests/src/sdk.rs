//! Runs the official SDK scripts in `tests/python/` (the venv that scripts/test creates) and
//! `tests/node/` (the npm packages it installs) against a base URL, so the mocks and every
//! runtime are checked with the same unchanged clients.

use std::path::PathBuf;
use std::process::Command;

use crate::tools::{python, tool, workspace_root};

/// Environment variables the SDKs read their API version, base URL or backend from: removed,
/// so a run without an explicit version gets the SDK's own default.
const SDK_ENV: [&str; 5] = [
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
];

/// Runs `tests/python/<script>` with `base_url` and model prefix `prefix` (`""` for bare model
/// names, as the mock upstream takes them) and returns its JSON summary; panics with the
/// script's output on failure.
pub fn run_sdk_script(script: &str, base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script_with_env(script, base_url, prefix, &[])
}

/// [`run_sdk_script`] with more environment variables for the script (API keys, say).
pub fn run_sdk_script_with_env(script: &str, base_url: &str, prefix: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let path = workspace_root().join("tests/python").join(script);
    run(Command::new(python()).arg(path), script, &[base_url, prefix], env)
}

/// Runs `command` with `args`; its stdout must be one JSON summary.
/// `env` is set after the SDKs' own variables are cleared.
fn run(command: &mut Command, script: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    for name in SDK_ENV {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.args(args).output().unwrap_or_else(|e| panic!("{script} does not start: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed with {args:?}:\n{stdout}\n{stderr}");
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

/// The Google GenAI Python SDK; `base_url` is the origin (the SDK adds `/{version}/models/...`).
/// `api_version` is set in its `HttpOptions`; `None` leaves the SDK's default (`v1` in 3.x).
pub fn run_genai_sdk(base_url: &str, prefix: &str, api_version: Option<&str>) -> serde_json::Value {
    let path = workspace_root().join("tests/python/genai_sdk.py");
    let args: Vec<&str> = [base_url, prefix].into_iter().chain(api_version).collect();
    run(Command::new(python()).arg(path), "genai_sdk.py", &args, &[])
}

/// The Google GenAI JavaScript SDK (`@google/genai`), on the machine's Node; as
/// [`run_genai_sdk`] (`None` makes the client with only `apiKey` and `httpOptions.baseUrl`).
pub fn run_genai_js_sdk(base_url: &str, prefix: &str, api_version: Option<&str>) -> serde_json::Value {
    let path = workspace_root().join("tests/node/genai_sdk.mjs");
    let args: Vec<&str> = [base_url, prefix].into_iter().chain(api_version).collect();
    let mut command = Command::new(tool("node"));
    command.arg(path).env("OMNIROUTE_GENAI_JS", genai_js());
    run(&mut command, "genai_sdk.mjs", &args, &[])
}

/// The `@google/genai` package directory that scripts/install-test-tools installs.
fn genai_js() -> PathBuf {
    let dir = std::env::var_os("OMNIROUTE_GENAI_JS")
        .map(PathBuf::from)
        .expect("OMNIROUTE_GENAI_JS is not set; run the tests through scripts/test, which installs @google/genai");
    assert!(dir.join("package.json").exists(), "{} does not exist; rerun scripts/test", dir.display());
    dir
}

/// The Ollama SDK; `base_url` is the host (the SDK adds `/api/chat`).
pub fn run_ollama_sdk(base_url: &str, prefix: &str) -> serde_json::Value {
    run_sdk_script("ollama_sdk.py", base_url, prefix)
}
