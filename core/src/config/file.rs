//! The declarative config file (`omniroute.toml`): server settings, timeouts, providers,
//! routing (aliases, combos, defaults) and resilience. Parsed here so every runtime (a Worker
//! gets it from a variable) reads the same format.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::policy::{AccountSelection, ComboStrategy};

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
    pub routing: Option<RoutingSection>,
    pub resilience: Option<ResilienceSection>,
    #[serde(default)]
    pub aliases: Vec<FileAlias>,
    #[serde(default)]
    pub combos: Vec<FileCombo>,
    /// `[cache]`: the response cache settings document, synced like routing.
    pub cache: Option<CacheSection>,
    /// `[usage]`: the usage settings document (retention, request logging, stored responses),
    /// synced like `[cache]`.
    pub usage: Option<UsageSection>,
    /// `[database]`: a remote libSQL database (Turso, sqld) instead of the embedded file.
    #[serde(default)]
    pub database: DatabaseSection,
    /// `[backup]`: where backups go and how often they are taken (`config::backup`).
    #[serde(default)]
    pub backup: BackupSection,
}

/// `[database]`: where the native runtimes keep their state. Without `url` (and without
/// `OMNIROUTE_DATABASE_URL` / `TURSO_DATABASE_URL`): the embedded file in the data dir.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// `libsql://…` (Turso), `https://…` or `http://…` (a local sqld).
    pub url: Option<String>,
    /// The name of the environment variable holding the auth token (the token itself never
    /// goes in the file).
    pub auth_token_env: Option<String>,
}

/// `[backup]`: the destination (a local folder by default, or an S3-compatible bucket) and the
/// schedule; unset keys keep their defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSection {
    /// Local folder (default `<data_dir>/backups`).
    pub dir: Option<String>,
    /// An S3 bucket: set, backups go there instead of the folder.
    pub s3_bucket: Option<String>,
    pub region: Option<String>,
    /// The S3 endpoint (`https://s3.eu-west-1.amazonaws.com`, an R2, MinIO or SeaweedFS URL).
    pub endpoint: Option<String>,
    /// Object key prefix (`omniroute/`).
    pub prefix: Option<String>,
    /// How often a scheduled backup runs (`"6h"`, `"30m"`, `"1d"`); unset: never.
    pub every: Option<String>,
    /// Backups kept after a scheduled one (the newest N); unset: all.
    pub keep: Option<usize>,
}

/// `[usage]`: usage accounting and stored responses; unset keys keep their defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSection {
    /// Days usage rows are kept (0: forever).
    pub retention_days: Option<u32>,
    /// Log request and response bodies (never for `no_log` keys).
    pub request_logging: Option<bool>,
    /// Days stored Responses API responses are kept (0: none are stored).
    pub responses_retention_days: Option<u32>,
}

/// `[cache]`: the response cache; unset keys keep their defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    pub enabled: Option<bool>,
    pub ttl_ms: Option<u64>,
    pub max_entries: Option<u32>,
    pub max_bytes: Option<u64>,
    #[serde(default)]
    pub semantic: SemanticCacheSection,
}

/// `[cache.semantic]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticCacheSection {
    /// `provider/model` serving OpenAI's `POST /embeddings`; unset: the semantic cache is off.
    pub embedding_model: Option<String>,
    pub threshold: Option<f64>,
    pub max_entries: Option<u32>,
    pub timeout_ms: Option<u64>,
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
    /// Seconds a connection may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open); 0 turns the limit off.
    pub header_timeout_secs: Option<u64>,
    /// Longest silence, in seconds, while a request body is being read; 0 turns it off.
    pub body_idle_timeout_secs: Option<u64>,
    /// Seconds a whole request body may take to arrive; 0 turns the limit off.
    pub body_timeout_secs: Option<u64>,
    /// Open connections one client address may hold; 0 turns the cap off.
    pub max_connections_per_ip: Option<usize>,
    /// Seconds between model discoveries (providers with no `models` of their own re-read their
    /// upstream's model list; also once at start); 0: only at start and on sync.
    pub model_discovery_secs: Option<u64>,
}

/// `[limits]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub max_body_bytes: Option<usize>,
    /// Most messages and content blocks in one chat request.
    pub max_message_items: Option<usize>,
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
    /// How requests pick among the accounts (default fill-first).
    pub selection: Option<AccountSelection>,
    /// Round-robin: consecutive requests per account before rotating.
    pub sticky_window: Option<u32>,
    /// `[providers.timeouts]`: overrides of the global `[timeouts]` for this provider.
    #[serde(default)]
    pub timeouts: TimeoutsSection,
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

/// `[routing]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSection {
    /// Target of bare model names no provider lists.
    pub default_model: Option<String>,
    pub retryable_statuses: Option<Vec<u16>>,
    pub max_wait_ms: Option<u64>,
}

/// `[resilience]`: breakers and cooldowns per scope. The top-level breaker keys are the model
/// scope's (what they meant before scopes existed); `[resilience.model]` overrides them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResilienceSection {
    pub failure_threshold: Option<u32>,
    pub window_ms: Option<u64>,
    pub open_ms: Option<u64>,
    pub half_open_probes: Option<u32>,
    /// One model of one account: its breaker, and `cooldown_ms` after a 429 naming no time.
    #[serde(default)]
    pub model: ModelScopeSection,
    /// A refused key or exhausted credit: `cooldown_ms` the whole account stays out.
    #[serde(default)]
    pub account: AccountScopeSection,
    /// An upstream origin that cannot be reached: its breaker.
    #[serde(default)]
    pub endpoint: BreakerSection,
    /// Keyless local providers (every scope).
    #[serde(default)]
    pub local: BreakerSection,
}

/// `[resilience.model]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelScopeSection {
    pub failure_threshold: Option<u32>,
    pub window_ms: Option<u64>,
    pub open_ms: Option<u64>,
    pub half_open_probes: Option<u32>,
    pub cooldown_ms: Option<u64>,
}

/// `[resilience.account]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountScopeSection {
    pub cooldown_ms: Option<u64>,
}

/// `[resilience.local]`, `[resilience.endpoint]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSection {
    pub failure_threshold: Option<u32>,
    pub window_ms: Option<u64>,
    pub open_ms: Option<u64>,
    pub half_open_probes: Option<u32>,
}

/// `[[aliases]]`: a model name or glob → a target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAlias {
    pub pattern: String,
    pub target: String,
}

/// `[[combos]]`: a named, ordered list of targets with a strategy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCombo {
    pub name: String,
    #[serde(default)]
    pub strategy: ComboStrategy,
    /// The targets in order. `targets` is this file's word (an entry may be a combo, not only a
    /// model); `models`, what `POST /api/combos` takes, is read the same so either works.
    #[serde(alias = "models")]
    pub targets: Vec<String>,
    /// One per target (the `weighted` strategy).
    pub weights: Option<Vec<u32>>,
    pub retries: Option<u32>,
    pub retry_delay_ms: Option<u64>,
    pub attempt_timeout_ms: Option<u64>,
    pub first_byte_ms: Option<u64>,
    pub idle_ms: Option<u64>,
    pub total_ms: Option<u64>,
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
    fn parses_routing_resilience_aliases_combos_and_provider_routing() {
        let cfg = FileConfig::parse(
            r#"
            [routing]
            default_model = "combo/fast"
            retryable_statuses = [429, 503]
            max_wait_ms = 1500
            [resilience]
            failure_threshold = 3
            window_ms = 30000
            open_ms = 10000
            half_open_probes = 2
            [resilience.local]
            open_ms = 2000
            [[aliases]]
            pattern = "gpt-4*"
            target = "openai/gpt-4o"
            [[combos]]
            name = "fast"
            strategy = "latency-aware"
            targets = ["groq/llama-3.1-8b-instant", "combo/backup"]
            weights = [2, 1]
            retries = 1
            retry_delay_ms = 250
            attempt_timeout_ms = 20000
            first_byte_ms = 5000
            idle_ms = 3000
            total_ms = 60000
            [[combos]]
            name = "backup"
            targets = ["openai/gpt-4o-mini"]
            [[providers]]
            id = "openai"
            selection = "least-recently-used"
            sticky_window = 3
              [providers.timeouts]
              connect_ms = 1000
              first_byte_ms = 2000
              idle_ms = 3000
              total_ms = 4000
            "#,
        )
        .unwrap();
        let routing = cfg.routing.unwrap();
        assert_eq!(routing.default_model.as_deref(), Some("combo/fast"));
        assert_eq!(routing.retryable_statuses, Some(vec![429, 503]));
        assert_eq!(routing.max_wait_ms, Some(1500));
        let resilience = cfg.resilience.unwrap();
        assert_eq!((resilience.failure_threshold, resilience.half_open_probes), (Some(3), Some(2)));
        assert_eq!((resilience.window_ms, resilience.open_ms), (Some(30000), Some(10000)));
        assert_eq!((resilience.local.open_ms, resilience.local.window_ms), (Some(2000), None));
        assert_eq!((cfg.aliases[0].pattern.as_str(), cfg.aliases[0].target.as_str()), ("gpt-4*", "openai/gpt-4o"));
        let fast = &cfg.combos[0];
        assert_eq!(fast.strategy, ComboStrategy::LatencyAware);
        assert_eq!(fast.targets, ["groq/llama-3.1-8b-instant", "combo/backup"]);
        assert_eq!(fast.weights, Some(vec![2, 1]));
        assert_eq!((fast.retries, fast.retry_delay_ms, fast.attempt_timeout_ms), (Some(1), Some(250), Some(20000)));
        assert_eq!((fast.first_byte_ms, fast.idle_ms, fast.total_ms), (Some(5000), Some(3000), Some(60000)));
        assert_eq!(cfg.combos[1].strategy, ComboStrategy::Priority, "priority by default");
        let openai = &cfg.providers[0];
        assert_eq!((openai.selection, openai.sticky_window), (Some(AccountSelection::LeastRecentlyUsed), Some(3)));
        let t = &openai.timeouts;
        assert_eq!(
            (t.connect_ms, t.first_byte_ms, t.idle_ms, t.total_ms),
            (Some(1000), Some(2000), Some(3000), Some(4000))
        );
    }

    /// One vocabulary: the API's `models` names a combo's list in the file too.
    #[test]
    fn a_combos_list_may_be_called_models() {
        let cfg =
            FileConfig::parse("[[combos]]\nname = \"fast\"\nmodels = [\"openai/gpt-4o\", \"combo/b\"]\n").unwrap();
        assert_eq!(cfg.combos[0].targets, ["openai/gpt-4o", "combo/b"]);
        let both = "[[combos]]\nname = \"c\"\ntargets = [\"a/b\"]\nmodels = [\"a/b\"]\n";
        let err = FileConfig::parse(both).unwrap_err().to_string();
        assert!(err.contains("duplicate field `targets`"), "one list, not two: {err}");
        let err = FileConfig::parse("[[combos]]\nname = \"c\"\n").unwrap_err().to_string();
        assert!(err.contains("missing field `targets`"), "{err}");
    }

    #[test]
    fn unknown_keys_and_values_in_the_routing_sections_are_refused() {
        for (text, word) in [
            ("[routing]\ndefault = \"x\"\n", "default"),
            ("[resilience]\nthreshold = 1\n", "threshold"),
            ("[resilience.local]\nprobes = 1\n", "probes"),
            ("[[aliases]]\npattern = \"a\"\ntarget = \"b/c\"\nto = \"d\"\n", "to"),
            ("[[combos]]\nname = \"c\"\ntargets = []\nretry = 1\n", "retry"),
            ("[[combos]]\nname = \"c\"\ntargets = []\nstrategy = \"fastest\"\n", "fastest"),
            ("[[providers]]\nid = \"openai\"\nselection = \"sticky\"\n", "sticky"),
            ("[[providers]]\nid = \"openai\"\n[providers.timeouts]\nread_ms = 1\n", "read_ms"),
        ] {
            let err = FileConfig::parse(text).unwrap_err().to_string();
            assert!(err.contains(&format!("`{word}`")), "{text:?}: {err}");
        }
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
