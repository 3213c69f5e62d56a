//! The settings every native runtime reads the same way: where the database and secret key
//! live, the config file and what it sets for the gateway, the upstream connect timeout. The
//! server adds its listener, client limits and command line around them (its `Settings`
//! embeds these); the Lambda fills them from the function's environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use omniroute_core::GatewayOptions;
use omniroute_core::config::FileConfig;

use crate::bootstrap::StartError;

/// The data dir when neither the file nor the runtime names one (relative to the working
/// directory; the Lambda replaces it, its working directory being read-only).
pub const DEFAULT_DATA_DIR: &str = "data";

/// How long connecting to an upstream may take when `[timeouts] connect_ms` does not say.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `bootstrap` needs to build a gateway on libSQL.
#[derive(Debug, Clone)]
pub struct NativeSettings {
    /// Where the database, the generated secret key and backups live.
    pub data_dir: PathBuf,
    /// The config file read, if any (for the start-up log).
    pub config_path: Option<PathBuf>,
    /// The parsed config file; its providers are synced into the store by `bootstrap`.
    pub file: Option<FileConfig>,
    pub gateway: GatewayOptions,
    /// For the upstream HTTP client, which the core's options do not cover.
    pub connect_timeout: Duration,
}

impl NativeSettings {
    /// Settings from a parsed file alone (`[server] data_dir`, `[limits]`, `[timeouts]`), the
    /// defaults where it is silent or absent.
    pub fn from_file(file: Option<FileConfig>) -> NativeSettings {
        let Some(file) = file else {
            return NativeSettings {
                data_dir: PathBuf::from(DEFAULT_DATA_DIR),
                config_path: None,
                file: None,
                gateway: GatewayOptions::default(),
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            };
        };
        NativeSettings {
            data_dir: PathBuf::from(file.server.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR)),
            config_path: None,
            gateway: GatewayOptions::from_file(&file),
            connect_timeout: file.timeouts.connect_ms.map(Duration::from_millis).unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            file: Some(file),
        }
    }

    /// The libSQL database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("omniroute.db")
    }

    /// Which database to open: the remote one `env` or `[database]` names
    /// ([`omniroute_core::config::remote_database`]), else the embedded file.
    pub fn database(&self, env: &dyn Fn(&str) -> Option<String>) -> DatabaseTarget {
        match omniroute_core::config::remote_database(self.file.as_ref().map(|f| &f.database), env) {
            Some(remote) => DatabaseTarget::Remote(remote),
            None => DatabaseTarget::File(self.database_path()),
        }
    }
}

/// The database a native runtime opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// The embedded libSQL file.
    File(PathBuf),
    /// A remote libSQL server (Turso, sqld).
    Remote(omniroute_core::config::RemoteDatabase),
}

/// Reads and parses a config file; the error names the file.
pub fn read_config_file(path: &Path) -> Result<FileConfig, StartError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| StartError::Config(format!("cannot read config file {}: {e}", path.display())))?;
    FileConfig::parse(&text).map_err(|e| StartError::Config(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_sets_the_data_dir_and_connect_timeout() {
        let file =
            FileConfig::parse("[server]\ndata_dir = \"/srv/omniroute\"\n[timeouts]\nconnect_ms = 2500\n").unwrap();
        let settings = NativeSettings::from_file(Some(file));
        assert_eq!(settings.data_dir, PathBuf::from("/srv/omniroute"));
        assert_eq!(settings.database_path(), PathBuf::from("/srv/omniroute/omniroute.db"));
        assert_eq!(settings.connect_timeout, Duration::from_millis(2500));
        assert!(settings.file.is_some());
    }

    #[test]
    fn without_a_file_the_defaults_apply() {
        let settings = NativeSettings::from_file(None);
        assert_eq!(settings.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(settings.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert!(settings.file.is_none());
    }

    #[test]
    fn the_database_is_the_file_unless_a_url_is_set() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string())
        };
        let plain = NativeSettings::from_file(None);
        assert_eq!(plain.database(&env(&[])), DatabaseTarget::File(plain.database_path()));
        let remote = |url: &str, token: &str| {
            DatabaseTarget::Remote(omniroute_core::config::RemoteDatabase { url: url.into(), auth_token: token.into() })
        };
        assert_eq!(
            plain.database(&env(&[("TURSO_DATABASE_URL", "libsql://t.turso.io"), ("TURSO_AUTH_TOKEN", "tt")])),
            remote("libsql://t.turso.io", "tt")
        );
        assert_eq!(
            plain.database(&env(&[
                ("OMNIROUTE_DATABASE_URL", "http://127.0.0.1:8080"),
                ("TURSO_DATABASE_URL", "libsql://t.turso.io"),
                ("OMNIROUTE_DATABASE_AUTH_TOKEN", "ot"),
            ])),
            remote("http://127.0.0.1:8080", "ot"),
            "OMNIROUTE_* wins over TURSO_*"
        );
        let file =
            FileConfig::parse("[database]\nurl = \"https://db.example\"\nauth_token_env = \"MY_DB_TOKEN\"\n").unwrap();
        let from_file = NativeSettings::from_file(Some(file));
        assert_eq!(from_file.database(&env(&[("MY_DB_TOKEN", "mt")])), remote("https://db.example", "mt"));
        assert_eq!(from_file.database(&env(&[])), remote("https://db.example", ""));
        let shown = format!("{:?}", remote("libsql://user:pw@t.turso.io/x?authToken=q", "secret-token"));
        assert!(!shown.contains("secret-token") && !shown.contains("pw") && !shown.contains("authToken"), "{shown}");
        assert!(shown.contains("libsql://t.turso.io") && !shown.contains("/x"), "{shown}");
    }

    #[test]
    fn a_missing_file_is_a_config_error_naming_it() {
        let result = read_config_file(Path::new("/nonexistent/omniroute.toml"));
        assert!(matches!(result, Err(StartError::Config(message)) if message.contains("/nonexistent/omniroute.toml")));
    }
}
