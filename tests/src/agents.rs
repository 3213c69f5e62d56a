//! The real coding agents as a test drives them: Claude Code (`claude -p`) and Codex
//! (`codex exec`), the pinned npm packages `scripts/install-test-tools` installs, each run
//! non-interactively in a scratch HOME (Codex: and `CODEX_HOME`) against a base URL with a
//! gateway key. Telemetry, error reporting, update checks and other non-essential traffic are
//! off; no other client feature is.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::mock_upstream::Recorded;
use crate::mock_upstream::agent::{Wire, carries_tool_result};
use crate::tools::target_dir;

/// A coding agent CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    ClaudeCode,
    Codex,
}

impl Agent {
    pub const ALL: [Agent; 2] = [Agent::ClaudeCode, Agent::Codex];

    pub fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
        }
    }

    /// The version `scripts/install-test-tools` pins.
    pub fn version(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "2.1.328",
            Agent::Codex => "0.169.0",
        }
    }

    /// The wire format the agent speaks.
    pub fn wire(self) -> Wire {
        match self {
            Agent::ClaudeCode => Wire::Anthropic,
            Agent::Codex => Wire::Responses,
        }
    }

    /// The CLI, from `OMNIROUTE_CLAUDE_CODE` / `OMNIROUTE_CODEX` (exported by
    /// `scripts/install-test-tools`), so another `claude` on PATH is never picked up.
    pub fn bin(self) -> PathBuf {
        let var = match self {
            Agent::ClaudeCode => "OMNIROUTE_CLAUDE_CODE",
            Agent::Codex => "OMNIROUTE_CODEX",
        };
        let path = std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{var} is not set; run the tests through scripts/test, which installs it"));
        assert!(path.exists(), "{} does not exist; rerun scripts/install-test-tools", path.display());
        path
    }
}

/// Where one run happens: a scratch HOME and a working directory, under the target dir
/// (not `/tmp`, where Codex refuses to put its helper binaries). Kept when a run fails.
pub struct Scratch {
    dir: TempDir,
    pub home: PathBuf,
    pub work: PathBuf,
}

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        let parent = target_dir().join("agent-runs");
        std::fs::create_dir_all(&parent).expect("agent-runs dir");
        let dir = tempfile::Builder::new().prefix(&format!("{label}-")).tempdir_in(&parent).expect("scratch dir");
        let home = dir.path().join("home");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&work).expect("work");
        Scratch { dir, home, work }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Keeps the directory (for a failed run's evidence); its path.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

/// Where the agent sends its requests.
pub struct Endpoint<'a> {
    /// The origin, `http://127.0.0.1:PORT`.
    pub origin: &'a str,
    pub key: &'a str,
    pub model: &'a str,
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; `None` when the run was killed (timeout or signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

/// Codex's configuration: one model provider, the gateway, speaking Responses (the only
/// `wire_api` Codex 0.169 has), its key from the environment; commands run in the
/// workspace-write sandbox without asking; no analytics, feedback upload, OpenTelemetry export
/// or update check.
fn codex_config(endpoint: &Endpoint) -> String {
    format!(
        r#"model = "{model}"
model_provider = "omniroute"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"

[model_providers.omniroute]
name = "OmniRoute"
base_url = "{origin}/v1"
wire_api = "responses"
env_key = "OMNIROUTE_API_KEY"
"#,
        model = endpoint.model,
        origin = endpoint.origin
    )
}

/// The command for one non-interactive run of `agent` with `prompt`.
fn command(agent: Agent, endpoint: &Endpoint, scratch: &Scratch, prompt: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(agent.bin());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &scratch.home)
        .env("LANG", "C.UTF-8")
        .env("TERM", "dumb")
        .current_dir(&scratch.work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match agent {
        Agent::ClaudeCode => {
            // Claude Code adds `/v1/messages` itself; its key goes in `x-api-key`. As root it
            // refuses --dangerously-skip-permissions, so the one tool the task needs is allowed.
            command
                .env("ANTHROPIC_BASE_URL", endpoint.origin)
                .env("ANTHROPIC_API_KEY", endpoint.key)
                .env("DISABLE_TELEMETRY", "1")
                .env("DISABLE_ERROR_REPORTING", "1")
                .env("DISABLE_AUTOUPDATER", "1")
                .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
                .args(["-p", prompt, "--model", endpoint.model, "--allowedTools", "Write"]);
        }
        Agent::Codex => {
            let codex_home = scratch.home.join(".codex");
            std::fs::create_dir_all(&codex_home).expect("CODEX_HOME");
            std::fs::write(codex_home.join("config.toml"), codex_config(endpoint)).expect("config.toml");
            command.env("CODEX_HOME", &codex_home).env("OMNIROUTE_API_KEY", endpoint.key).args([
                "exec",
                "--strict-config",
                "--skip-git-repo-check",
                "-m",
                endpoint.model,
                prompt,
            ]);
        }
    }
    command
}

/// Runs `agent` once with `prompt`, killing it after `limit`.
pub async fn run(agent: Agent, endpoint: &Endpoint<'_>, scratch: &Scratch, prompt: &str, limit: Duration) -> Outcome {
    let started = Instant::now();
    let child = command(agent, endpoint, scratch, prompt).spawn().expect("the agent CLI starts");
    let output = tokio::time::timeout(limit, child.wait_with_output()).await;
    let elapsed = started.elapsed();
    let redact = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(endpoint.key, "<gateway key>");
    match output {
        Ok(output) => {
            let output = output.expect("the agent CLI runs");
            Outcome {
                code: output.status.code(),
                stdout: redact(&output.stdout),
                stderr: redact(&output.stderr),
                elapsed,
                timed_out: false,
            }
        }
        Err(_) => Outcome { code: None, stdout: String::new(), stderr: String::new(), elapsed, timed_out: true },
    }
}

/// `claude --version` / `codex --version`: the first line, which names the version.
pub fn installed_version(agent: Agent) -> String {
    let home = tempfile::tempdir().expect("tempdir");
    let output = std::process::Command::new(agent.bin())
        .arg("--version")
        .env("HOME", home.path())
        .env("CODEX_HOME", home.path())
        .output()
        .expect("the agent CLI runs");
    String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_owned()
}

/// The wire format of a request the mock recorded, from its path.
pub fn wire_of(recorded: &Recorded) -> Option<Wire> {
    let path = recorded.path.as_str();
    Some(if path.starts_with("/v1/chat/completions") {
        Wire::OpenaiChat
    } else if path.starts_with("/v1/responses") {
        Wire::Responses
    } else if path.starts_with("/v1/messages") && !path.contains("count_tokens") {
        Wire::Anthropic
    } else if path.starts_with("/v1beta/models/") && path.contains("Content") {
        Wire::Gemini
    } else if path.starts_with("/api/chat") {
        Wire::Ollama
    } else {
        return None;
    })
}

/// Whether a recorded generation request carries a tool's result.
pub fn has_tool_result(recorded: &Recorded) -> bool {
    wire_of(recorded).is_some_and(|wire| carries_tool_result(wire, &recorded.json()))
}

/// One recorded request in a few lines: path, the notable headers, and the body's shape (the
/// turns' roles and content types, the system prompt's form, every tool's type and name, the
/// other top-level fields); the whole body goes to the files [`dump`] writes.
pub fn describe(recorded: &Recorded) -> String {
    let body = recorded.json();
    let mut lines = vec![format!("POST {} ({} bytes)", recorded.path, recorded.body.len())];
    let notable = ["anthropic-version", "anthropic-beta", "user-agent", "originator", "openai-beta"];
    for name in notable {
        if let Some(value) = recorded.headers.get(name).and_then(|v| v.to_str().ok()) {
            lines.push(format!("  {name}: {value}"));
        }
    }
    let Some(map) = body.as_object() else {
        return lines.join("\n");
    };
    let scalars: Vec<String> = map
        .iter()
        .filter(|(key, _)| {
            !["messages", "input", "contents", "tools", "system", "instructions"].contains(&key.as_str())
        })
        .map(|(key, value)| format!("{key}={}", shorten(&value.to_string(), 120)))
        .collect();
    lines.push(format!("  fields: {}", scalars.join(", ")));
    for key in ["system", "instructions", "systemInstruction"] {
        if let Some(value) = map.get(key) {
            lines.push(format!("  {key}: {}", shape(value)));
        }
    }
    for key in ["messages", "input", "contents"] {
        if let Some(items) = map.get(key).and_then(Value::as_array) {
            lines.push(format!("  {key}:"));
            for (i, item) in items.iter().enumerate() {
                lines.push(format!("    [{i}] {}", turn(item)));
            }
        }
    }
    if let Some(tools) = map.get("tools").and_then(Value::as_array) {
        let listed: Vec<String> = tools.iter().map(tool).collect();
        lines.push(format!("  tools ({}): {}", tools.len(), listed.join(", ")));
    }
    lines.join("\n")
}

/// Writes every request's full body (pretty JSON) into `dir`, numbered; the paths.
pub fn dump(requests: &[Recorded], dir: &Path) -> Vec<PathBuf> {
    requests
        .iter()
        .enumerate()
        .map(|(i, recorded)| {
            let path = dir.join(format!("request-{i}.json"));
            let body = serde_json::to_string_pretty(&recorded.json()).expect("JSON");
            std::fs::write(&path, format!("// POST {}\n{body}\n", recorded.path)).expect("dump written");
            path
        })
        .collect()
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    format!("{}…", text.chars().take(limit).collect::<String>())
}

/// A string, an array of typed blocks or an object, by form.
fn shape(value: &Value) -> String {
    match value {
        Value::String(text) => format!("text({} chars)", text.len()),
        Value::Array(blocks) => {
            let kinds: Vec<String> = blocks
                .iter()
                .map(|b| match (b["type"].as_str(), b.get("text").and_then(Value::as_str)) {
                    (Some(kind), Some(text)) => format!("{kind}({} chars)", text.len()),
                    (Some(kind), None) => kind.to_owned(),
                    (None, _) => {
                        b.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join("+")).unwrap_or_default()
                    }
                })
                .collect();
            format!("[{}]", kinds.join(", "))
        }
        Value::Object(map) => format!("{{{}}}", map.keys().cloned().collect::<Vec<_>>().join(", ")),
        other => shorten(&other.to_string(), 60),
    }
}

/// One turn: role (or item type) and its content's shape.
fn turn(item: &Value) -> String {
    let role = item["role"].as_str().or_else(|| item["type"].as_str()).unwrap_or("?");
    let content = item.get("content").or_else(|| item.get("parts")).map(shape).unwrap_or_else(|| {
        let keys: Vec<&str> = item.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        format!("{{{}}}", keys.join(", "))
    });
    let kind = item["type"].as_str().filter(|kind| Some(*kind) != item["role"].as_str());
    match kind {
        Some(kind) if item.get("role").is_some() => format!("{role} ({kind}): {content}"),
        _ => format!("{role}: {content}"),
    }
}

/// One tool: its type and name (a Gemini tool: its declarations' names; a namespace: its tools).
fn tool(value: &Value) -> String {
    let name = value["name"].as_str().or_else(|| value["function"]["name"].as_str());
    let kind = value["type"].as_str();
    if let Some(declarations) = value.get("functionDeclarations").and_then(Value::as_array) {
        let names: Vec<&str> = declarations.iter().filter_map(|d| d["name"].as_str()).collect();
        return format!("functionDeclarations[{}]", names.join(" "));
    }
    if let Some(inner) = value.get("tools").and_then(Value::as_array) {
        let names: Vec<&str> = inner.iter().filter_map(|d| d["name"].as_str()).collect();
        return format!("{}:{}[{}]", kind.unwrap_or("?"), name.unwrap_or("?"), names.join(" "));
    }
    match (kind, name) {
        (Some(kind), Some(name)) => format!("{kind}:{name}"),
        (None, Some(name)) => name.to_owned(),
        (Some(kind), None) => kind.to_owned(),
        (None, None) => value.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join("+")).unwrap_or_default(),
    }
}
