//! Server settings: command line, then `OMNIROUTE_*` env vars, then the config file, then
//! defaults. The file's providers are synced into the store by `bootstrap`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use omniroute_core::GatewayOptions;
use omniroute_core::config::FileConfig;

use crate::bootstrap::StartError;

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
