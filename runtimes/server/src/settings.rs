//! Server settings: command line, then `OMNIROUTE_*` env vars, then the config file, then
//! defaults. What every native runtime reads the same way (data dir, config file, gateway
//! options, connect timeout) is `omniroute_native::NativeSettings`, embedded here; the rest is
//! the server's own: where it listens, how long shutdown waits, client limits, background work.
//! The file's providers are synced into the store by `bootstrap`.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use omniroute_core::config::FileConfig;
use omniroute_native::NativeSettings;
use omniroute_native::settings::read_config_file;

use crate::bootstrap::StartError;
use crate::connections::limits::{ClientLimits, LimitOverrides};

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 20128;
pub const DEFAULT_CONFIG_FILE: &str = "omniroute.toml";
/// How long in-flight requests get after SIGINT/SIGTERM when `shutdown_grace_secs` is unset.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
const DEFAULT_USAGE_PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
const DEFAULT_MODEL_DISCOVERY_EVERY: Duration = Duration::from_secs(60 * 60);

/// `omniroute [--config FILE] [--host H] [--port P] [--data-dir DIR]`
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "omniroute", version, about = "An OpenAI-compatible AI gateway in front of many LLM providers")]
pub struct Cli {
    /// Declarative config file (default: ./omniroute.toml when it exists).
    #[arg(long, env = "OMNIROUTE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long, env = "OMNIROUTE_HOST")]
    pub host: Option<String>,
    /// Port to listen on [default: 20128].
    #[arg(long, env = "OMNIROUTE_PORT")]
    pub port: Option<u16>,
    /// Where the database and generated secret live [default: ./data].
    #[arg(long, env = "OMNIROUTE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Seconds a client may take to send request headers; also the keep-alive idle limit
    /// [default: 30; 0: off].
    #[arg(long, env = "OMNIROUTE_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Longest pause, in seconds, while a request body arrives [default: 15; 0: off].
    #[arg(long, env = "OMNIROUTE_BODY_IDLE_TIMEOUT_SECS")]
    pub body_idle_timeout_secs: Option<u64>,
    /// Seconds a whole request body may take [default: 300; 0: off].
    #[arg(long, env = "OMNIROUTE_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Open connections one client address may hold [default: 1024; 0: no cap].
    #[arg(long, env = "OMNIROUTE_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
}

impl Cli {
    /// The client limits given on the command line or in the environment.
    fn limit_overrides(&self) -> LimitOverrides {
        LimitOverrides {
            header_timeout_secs: self.header_timeout_secs,
            body_idle_timeout_secs: self.body_idle_timeout_secs,
            body_timeout_secs: self.body_timeout_secs,
            max_connections_per_ip: self.max_connections_per_ip,
        }
    }
}

/// Everything the server needs to start.
///
/// The shared part is reached through `Deref` too (`settings.data_dir`, `settings.gateway`):
/// these were fields of `Settings` before the Lambda shared them, and embedders and tests set
/// them by those paths.
#[derive(Debug, Clone)]
pub struct Settings {
    pub native: NativeSettings,
    pub host: String,
    pub port: u16,
    pub shutdown_grace: Duration,
    /// How often usage rows past the retention setting are deleted (and once at start). The
    /// server's background work; the Lambda prunes once per cold start instead.
    pub usage_prune_every: Duration,
    /// How often providers with no `models` of their own re-read their upstream's model list
    /// (model discovery; also once at start). `None`: only at start and on sync.
    pub model_discovery_every: Option<Duration>,
    /// Header and body read timeouts, connections per client address.
    pub clients: ClientLimits,
}

impl Deref for Settings {
    type Target = NativeSettings;

    fn deref(&self) -> &NativeSettings {
        &self.native
    }
}

impl DerefMut for Settings {
    fn deref_mut(&mut self) -> &mut NativeSettings {
        &mut self.native
    }
}

impl Settings {
    /// Reads the config file the CLI/env name (or `./omniroute.toml` if present) and merges.
    pub fn from_cli(cli: Cli) -> Result<Settings, StartError> {
        let config_path = cli.config.clone().or_else(|| {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.exists().then_some(default)
        });
        let file = config_path.as_deref().map(read_config_file).transpose()?;
        let mut settings = Settings::from_file(file);
        settings.config_path = config_path;
        settings.clients = settings.clients.with(cli.limit_overrides());
        if let Some(host) = cli.host {
            settings.host = host;
        }
        if let Some(port) = cli.port {
            settings.port = port;
        }
        if let Some(dir) = cli.data_dir {
            settings.data_dir = dir;
        }
        Ok(settings)
    }

    /// Settings from a parsed file alone (tests and embedders use this).
    pub fn from_file(file: Option<FileConfig>) -> Settings {
        let server = file.as_ref().map(|file| &file.server);
        let clients = ClientLimits::default();
        Settings {
            host: server.and_then(|s| s.host.clone()).unwrap_or_else(|| DEFAULT_HOST.into()),
            port: server.and_then(|s| s.port).unwrap_or(DEFAULT_PORT),
            shutdown_grace: server
                .and_then(|s| s.shutdown_grace_secs)
                .map_or(DEFAULT_SHUTDOWN_GRACE, Duration::from_secs),
            usage_prune_every: DEFAULT_USAGE_PRUNE_EVERY,
            model_discovery_every: match server.and_then(|s| s.model_discovery_secs) {
                None => Some(DEFAULT_MODEL_DISCOVERY_EVERY),
                Some(0) => None,
                Some(secs) => Some(Duration::from_secs(secs)),
            },
            clients: server.map_or(clients, |s| clients.with(LimitOverrides::from_file(s))),
            native: NativeSettings::from_file(file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_show_the_default_client_limits() {
        let docs = include_str!("../../../docs/configuration.md");
        let start = docs.find("```toml\n[server]").map(|i| i + "```toml\n".len()).unwrap();
        let block = &docs[start..start + docs[start..].find("```").unwrap()];
        let settings = Settings::from_file(Some(FileConfig::parse(block).unwrap()));
        assert_eq!(settings.clients, ClientLimits::default());
    }

    #[test]
    fn client_limits_come_from_the_file_then_the_command_line() {
        let file = FileConfig::parse(
            "[server]\nheader_timeout_secs = 5\nbody_idle_timeout_secs = 0\nmax_connections_per_ip = 7\n",
        )
        .unwrap();
        let from_file = Settings::from_file(Some(file)).clients;
        assert_eq!(from_file.header_timeout, Some(Duration::from_secs(5)));
        assert_eq!(from_file.body_idle_timeout, None, "0 turns it off");
        assert_eq!(from_file.body_timeout, ClientLimits::default().body_timeout);
        assert_eq!(from_file.max_connections_per_ip, 7);

        let dir = std::env::temp_dir().join(format!("omniroute-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("omniroute.toml");
        std::fs::write(&path, "[server]\nheader_timeout_secs = 5\nmax_connections_per_ip = 7\n").unwrap();
        let cli = Cli::try_parse_from([
            "omniroute",
            "--config",
            path.to_str().unwrap(),
            "--max-connections-per-ip",
            "9",
            "--body-timeout-secs",
            "60",
        ])
        .unwrap();
        let merged = Settings::from_cli(cli).unwrap().clients;
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(merged.header_timeout, Some(Duration::from_secs(5)), "the file's, not overridden");
        assert_eq!(merged.max_connections_per_ip, 9, "the command line wins");
        assert_eq!(merged.body_timeout, Some(Duration::from_secs(60)));
    }
}
