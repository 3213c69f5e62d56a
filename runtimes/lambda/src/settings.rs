//! Lambda settings from the function's environment: the data dir (`OMNIROUTE_DATA_DIR`, by
//! default under `/tmp`, the only writable place in a sandbox) and an optional config file.
//! They are the settings every native runtime shares; a function has no listener of its own.

use std::path::{Path, PathBuf};

use omniroute_native::settings::read_config_file;
use omniroute_native::{NativeSettings, StartError};

/// Where the embedded database and generated secret go when nothing else says.
pub const DEFAULT_DATA_DIR: &str = "/tmp/omniroute";

/// Settings for a cold start. `env` reads environment variables (injectable for tests).
///
/// The data dir is `OMNIROUTE_DATA_DIR`, else the config file's `server.data_dir`, else
/// [`DEFAULT_DATA_DIR`]; `OMNIROUTE_CONFIG` names an `omniroute.toml` (e.g. one packaged
/// beside the binary under `/var/task`).
pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<NativeSettings, StartError> {
    let file = match env("OMNIROUTE_CONFIG").filter(|path| !path.is_empty()) {
        Some(path) => Some(read_config_file(Path::new(&path))?),
        None => None,
    };
    let file_names_dir = file.as_ref().is_some_and(|file| file.server.data_dir.is_some());
    let mut settings = NativeSettings::from_file(file);
    match env("OMNIROUTE_DATA_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => settings.data_dir = PathBuf::from(dir),
        // The shared default (`./data`) would land in the read-only `/var/task`.
        None if !file_names_dir => settings.data_dir = PathBuf::from(DEFAULT_DATA_DIR),
        None => {}
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_defaults_to_tmp() {
        let settings = from_env(&|_| None).unwrap();
        assert_eq!(settings.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn data_dir_from_env_wins() {
        let settings = from_env(&|k| (k == "OMNIROUTE_DATA_DIR").then(|| "/tmp/elsewhere".to_owned())).unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("/tmp/elsewhere"));
    }

    #[test]
    fn missing_config_file_is_a_start_error() {
        let result = from_env(&|k| (k == "OMNIROUTE_CONFIG").then(|| "/nonexistent/omniroute.toml".to_owned()));
        assert!(matches!(result, Err(StartError::Config(message)) if message.contains("/nonexistent/omniroute.toml")));
    }
}
