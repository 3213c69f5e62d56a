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

    /// Which database to open: a remote one when `OMNIROUTE_DATABASE_URL` (or Turso's
    /// `TURSO_DATABASE_URL`, or `[database] url`) names one, else the embedded file. The token
    /// comes from `OMNIROUTE_DATABASE_AUTH_TOKEN`, `TURSO_AUTH_TOKEN`, or the variable
    /// `[database] auth_token_env` names; none is fine for a local sqld without auth.
    pub fn database(&self, env: &dyn Fn(&str) -> Option<String>) -> DatabaseTarget {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let section = self.file.as_ref().map(|f| &f.database);
        let url = set("OMNIROUTE_DATABASE_URL")
            .or_else(|| set("TURSO_DATABASE_URL"))
            .or_else(|| section.and_then(|d| d.url.clone()).filter(|u| !u.trim().is_empty()));
        let Some(url) = url else {
            return DatabaseTarget::File(self.database_path());
        };
        let token = set("OMNIROUTE_DATABASE_AUTH_TOKEN")
            .or_else(|| set("TURSO_AUTH_TOKEN"))
            .or_else(|| section.and_then(|d| d.auth_token_env.as_deref()).and_then(set))
            .unwrap_or_default();
        DatabaseTarget::Remote { url: url.trim().to_owned(), auth_token: token.trim().to_owned() }
    }
}

/// The database a native runtime opens.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// The embedded libSQL file.
    File(PathBuf),
    /// A remote libSQL server (Turso, sqld); the token may be empty.
    Remote { url: String, auth_token: String },
}

/// Never prints the token.
impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseTarget::File(path) => f.debug_tuple("File").field(path).finish(),
            DatabaseTarget::Remote { url, auth_token } => f
                .debug_struct("Remote")
                .field("url", &omniroute_storage::database::remote_location(url).unwrap_or_default())
                .field("auth_token", &if auth_token.is_empty() { "(none)" } else { "(set)" })
                .finish(),
        }
    }
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
        let remote = |url: &str, token: &str| DatabaseTarget::Remote { url: url.into(), auth_token: token.into() };
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
