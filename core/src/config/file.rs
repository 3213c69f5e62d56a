//! The declarative config file (`omniroute.toml`): server settings, timeouts and providers.
//! Parsed here so every runtime (a Worker gets it from a variable) reads the same format.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Why the config file was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid config file: {0}")]
pub struct FileError(pub String);

/// The whole file. Every section is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub limits: LimitsSection,
    #[serde(default)]
    pub timeouts: TimeoutsSection,
    #[serde(default)]
    pub providers: Vec<FileProvider>,
}

/// `[server]`: where the native server listens and keeps its data.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub data_dir: Option<String>,
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    pub shutdown_grace_secs: Option<u64>,
}

/// `[limits]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub max_body_bytes: Option<usize>,
}

/// `[timeouts]`, in milliseconds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsSection {
    pub connect_ms: Option<u64>,
    pub first_byte_ms: Option<u64>,
    pub idle_ms: Option<u64>,
    pub total_ms: Option<u64>,
}

/// `[[providers]]`: a catalog provider by id, or a custom one (with `format` and `base_url`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProvider {
    pub id: String,
    pub name: Option<String>,
    /// Set for a custom provider; a catalog provider takes the catalog's.
    pub format: Option<String>,
    pub base_url: Option<String>,
    pub auth: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub chat_path: Option<String>,
    pub api_version: Option<String>,
    #[serde(default)]
    pub models: Vec<String>,
    pub enabled: Option<bool>,
    #[serde(default)]
    pub accounts: Vec<FileAccount>,
}

/// `[[providers.accounts]]`: one API key, given by value or by env var name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAccount {
    pub name: Option<String>,
    pub api_key: Option<String>,
    pub api_key_env: Option<String>,
    pub priority: Option<i64>,
    pub enabled: Option<bool>,
}

impl FileConfig {
    pub fn parse(text: &str) -> Result<Self, FileError> {
        toml::from_str(text).map_err(|e| FileError(without_quoted_lines(&e.to_string())))
    }
}

/// The TOML parser's message minus the lines it quotes from the file, which may hold keys:
/// `  |`, `3 | api_key = "sk-..."`, `  | ^^^` go; the position and the explanation stay.
fn without_quoted_lines(message: &str) -> String {
    message
        .lines()
        .filter(|line| {
            let rest = line.trim_start().trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
            !rest.starts_with('|') && !line.trim().is_empty()
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let cfg = FileConfig::parse(
            r#"
            [server]
            port = 9000
            [timeouts]
            first_byte_ms = 5000
            [[providers]]
            id = "openai"
            base_url = "http://127.0.0.1:1/v1"
              [[providers.accounts]]
              name = "main"
              api_key_env = "MY_OPENAI_KEY"
            [[providers]]
            id = "mycorp"
            format = "openai-chat"
            base_url = "https://llm.example.com/v1"
            auth = "x-api-key"
            models = ["llama-3-70b"]
            "#,
        )
        .unwrap();
        assert_eq!(cfg.server.port, Some(9000));
        assert_eq!(cfg.providers.len(), 2);
        assert_eq!(cfg.providers[0].accounts[0].api_key_env.as_deref(), Some("MY_OPENAI_KEY"));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = FileConfig::parse("[server]\nprot = 1\n").unwrap_err();
        let secret = FileConfig::parse("[[providers]]\nid = \"openai\"\napi_key = \"sk-secret\" x\n").unwrap_err();
        assert!(!secret.to_string().contains("sk-secret"), "{secret}");
        assert!(secret.to_string().contains("line 3"), "{secret}");
        assert!(err.to_string().contains("prot"), "{err}");
    }
}
