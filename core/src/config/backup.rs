//! Backup settings: `[backup]` of the file with `OMNIROUTE_BACKUP_*` variables over it. Where
//! backups go (a local folder, or an S3-compatible bucket), how often a scheduled one runs and
//! how many are kept. Credentials are never here: S3 ones come from the AWS environment.

use std::time::Duration;

use crate::config::file::BackupSection;

/// An S3-compatible destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Destination {
    pub bucket: String,
    pub region: String,
    /// `https://s3.<region>.amazonaws.com` unless set.
    pub endpoint: String,
    /// Prepended to every object name (`omniroute/`); may be empty.
    pub prefix: String,
}

/// The resolved `[backup]` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupSettings {
    /// The local folder, when set (else the runtime's `<data_dir>/backups`).
    pub dir: Option<String>,
    /// Set: backups go to this bucket instead of the folder.
    pub s3: Option<S3Destination>,
    /// How often a scheduled backup runs; `None`: never.
    pub every: Option<Duration>,
    /// How many backups a scheduled one leaves (the newest); `None`: all.
    pub keep: Option<usize>,
}

/// Why the backup settings were refused.
#[derive(Debug, thiserror::Error)]
#[error("[backup] {0}")]
pub struct BackupSettingsError(pub String);

impl BackupSettings {
    /// The file's section, each key overridden by its variable (`OMNIROUTE_BACKUP_DIR`,
    /// `_S3_BUCKET`, `_S3_REGION`, `_S3_ENDPOINT`, `_S3_PREFIX`, `_EVERY`, `_KEEP`).
    pub fn resolve(
        file: Option<&BackupSection>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BackupSettings, BackupSettingsError> {
        let section = file.cloned().unwrap_or_default();
        let pick = |var: &str, value: Option<String>| env(var).filter(|v| !v.trim().is_empty()).or(value);
        let bucket = pick("OMNIROUTE_BACKUP_S3_BUCKET", section.s3_bucket);
        let region = pick("OMNIROUTE_BACKUP_S3_REGION", section.region)
            .or_else(|| env("AWS_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let endpoint = pick("OMNIROUTE_BACKUP_S3_ENDPOINT", section.endpoint);
        let prefix = pick("OMNIROUTE_BACKUP_S3_PREFIX", section.prefix).unwrap_or_default();
        let s3 = match bucket {
            Some(bucket) => {
                let endpoint = endpoint.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
                if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                    return Err(BackupSettingsError(format!("endpoint must be an http(s) URL, not '{endpoint}'")));
                }
                Some(S3Destination { bucket, region, endpoint, prefix })
            }
            None => None,
        };
        let every = match pick("OMNIROUTE_BACKUP_EVERY", section.every) {
            Some(text) => Some(parse_interval(&text)?),
            None => None,
        };
        let keep = match env("OMNIROUTE_BACKUP_KEEP") {
            Some(text) => Some(text.trim().parse::<usize>().map_err(|_| {
                BackupSettingsError(format!("OMNIROUTE_BACKUP_KEEP must be a whole number, not '{text}'"))
            })?),
            None => section.keep,
        };
        if keep == Some(0) {
            return Err(BackupSettingsError("keep must be at least 1".into()));
        }
        Ok(BackupSettings { dir: pick("OMNIROUTE_BACKUP_DIR", section.dir), s3, every, keep })
    }
}

/// `"6h"`, `"30m"`, `"1d"`, `"45s"`, `"500ms"`: a positive interval.
pub fn parse_interval(text: &str) -> Result<Duration, BackupSettingsError> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || BackupSettingsError(format!("every must look like \"6h\", \"30m\", \"1d\" or \"45s\", not '{text}'"));
    let n: u64 = number.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        "d" => n.saturating_mul(86_400_000),
        _ => return Err(bad()),
    };
    if ms == 0 {
        return Err(bad());
    }
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn intervals_parse_and_nonsense_is_refused() {
        assert_eq!(parse_interval("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_interval("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_interval("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_interval("750ms").unwrap(), Duration::from_millis(750));
        for bad in ["", "h", "6", "6x", "0s", "-1h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_file_sets_the_bucket_and_variables_win() {
        let file = crate::config::FileConfig::parse(
            "[backup]\ns3_bucket = \"b\"\nregion = \"eu-west-1\"\nprefix = \"omni/\"\nevery = \"6h\"\nkeep = 14\n",
        )
        .unwrap();
        let settings = BackupSettings::resolve(Some(&file.backup), &no_env).unwrap();
        let s3 = settings.s3.unwrap();
        assert_eq!(s3.endpoint, "https://s3.eu-west-1.amazonaws.com");
        assert_eq!(s3.prefix, "omni/");
        assert_eq!(settings.keep, Some(14));
        assert_eq!(settings.every, Some(Duration::from_secs(6 * 3600)));

        let env = |name: &str| match name {
            "OMNIROUTE_BACKUP_S3_ENDPOINT" => Some("http://127.0.0.1:9000".to_owned()),
            "OMNIROUTE_BACKUP_KEEP" => Some("3".to_owned()),
            _ => None,
        };
        let settings = BackupSettings::resolve(Some(&file.backup), &env).unwrap();
        assert_eq!(settings.s3.unwrap().endpoint, "http://127.0.0.1:9000");
        assert_eq!(settings.keep, Some(3));
        assert!(BackupSettings::resolve(None, &no_env).unwrap().s3.is_none());
        let zero = |name: &str| (name == "OMNIROUTE_BACKUP_KEEP").then(|| "0".to_owned());
        assert!(BackupSettings::resolve(None, &zero).is_err());
    }
}
