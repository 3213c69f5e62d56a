//! Server settings: command line, then `OMNIROUTE_*` env vars, then the config file, then
//! defaults. The file's providers are synced into the store by `bootstrap`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use omniroute_core::GatewayOptions;
use omniroute_core::config::FileConfig;

use crate::bootstrap::StartError;
use crate::connections::limits::{ClientLimits, LimitOverrides};

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 20128;
pub const DEFAULT_CONFIG_FILE: &str = "omniroute.toml";

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
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub config_path: Option<PathBuf>,
    pub file: Option<FileConfig>,
    pub gateway: GatewayOptions,
    pub connect_timeout: Duration,
    pub shutdown_grace: Duration,
    /// How often usage rows past the retention setting are deleted (and once at start).
    pub usage_prune_every: Duration,
    /// Header and body read timeouts, connections per client address.
    pub clients: ClientLimits,
}

impl Settings {
    /// Reads the config file the CLI/env name (or `./omniroute.toml` if present) and merges.
    pub fn from_cli(cli: Cli) -> Result<Settings, StartError> {
        let config_path = cli.config.clone().or_else(|| {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.exists().then_some(default)
        });
        let file = config_path.as_deref().map(read_file).transpose()?;
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

    /// Settings from a parsed file alone (tests and the Lambda runtime use this).
    pub fn from_file(file: Option<FileConfig>) -> Settings {
        let mut gateway = GatewayOptions::default();
        let mut connect_timeout = Duration::from_secs(10);
        let mut settings = Settings {
            host: DEFAULT_HOST.into(),
            port: DEFAULT_PORT,
            data_dir: PathBuf::from("data"),
            config_path: None,
            file: None,
            gateway: GatewayOptions::default(),
            connect_timeout,
            shutdown_grace: Duration::from_secs(30),
            usage_prune_every: Duration::from_secs(60 * 60),
            clients: ClientLimits::default(),
        };
        if let Some(file) = &file {
            let server = &file.server;
            if let Some(host) = &server.host {
                settings.host.clone_from(host);
            }
            settings.port = server.port.unwrap_or(settings.port);
            if let Some(dir) = &server.data_dir {
                settings.data_dir = PathBuf::from(dir);
            }
            if let Some(secs) = server.shutdown_grace_secs {
                settings.shutdown_grace = Duration::from_secs(secs);
            }
            settings.clients = settings.clients.with(LimitOverrides::from_file(server));
            gateway = GatewayOptions::from_file(file);
            connect_timeout = file.timeouts.connect_ms.map(Duration::from_millis).unwrap_or(connect_timeout);
        }
        Settings { gateway, connect_timeout, file, ..settings }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("omniroute.db")
    }
}

fn read_file(path: &Path) -> Result<FileConfig, StartError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| StartError::Config(format!("cannot read config file {}: {e}", path.display())))?;
    FileConfig::parse(&text).map_err(|e| StartError::Config(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_shows_the_default_client_limits() {
        let doc = include_str!("../../../docs/configuration.md");
        let start = doc.find("```toml\n[server]").map(|i| i + "```toml\n".len()).unwrap();
        let block = &doc[start..start + doc[start..].find("```").unwrap()];
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
