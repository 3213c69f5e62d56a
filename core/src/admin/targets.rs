//! Checks the management API runs on names before a write, so the error names the request
//! field: routing targets (`provider/model` of a configured or catalog provider, or a combo),
//! and whether a row is the config file's (read-only here: the file is applied again at start).

use crate::config::{CONFIG_SOURCE, StoredConfig, TargetRef};
use crate::error::GatewayError;
use crate::providers::find_catalog_provider;

/// Whether `target` names something that can serve.
pub fn check_target(stored: &StoredConfig, target: &str) -> Result<(), String> {
    match TargetRef::parse(target)? {
        TargetRef::Model { provider, .. } => {
            let configured = stored.providers.iter().any(|p| {
                p.id.eq_ignore_ascii_case(&provider)
                    || p.catalog_id
                        .as_deref()
                        .and_then(find_catalog_provider)
                        .is_some_and(|e| e.aliases.iter().any(|a| a.eq_ignore_ascii_case(&provider)))
            });
            if configured || find_catalog_provider(&provider).is_some() {
                Ok(())
            } else {
                Err(format!("'{provider}' is not a configured provider nor one in the catalog"))
            }
        }
        TargetRef::Combo(name) if stored.combos.iter().any(|c| c.name == name) => Ok(()),
        TargetRef::Combo(name) if target.contains('/') => Err(format!("there is no combo '{name}'")),
        TargetRef::Combo(_) => Err("must be `provider/model`, `combo/<name>` or the name of a combo".into()),
    }
}

/// Refuses to change what the config file or env vars declare (rows, combos, aliases, the
/// routing block): it is re-synced from them at every start, so the API shows it read-only.
pub fn refuse_declared(source: &str, what: &str) -> Result<(), GatewayError> {
    if source == CONFIG_SOURCE {
        return Err(GatewayError::Conflict(format!(
            "{what} is declared by the config file or environment and re-synced from it at every start; change it there"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ComboRecord;

    #[test]
    fn targets_must_name_a_provider_or_a_combo() {
        let stored = StoredConfig {
            combos: vec![ComboRecord {
                name: "fast".into(),
                source: "api".into(),
                strategy: Default::default(),
                targets: Vec::new(),
                settings: Default::default(),
            }],
            ..Default::default()
        };
        assert!(check_target(&stored, "openai/gpt-4o").is_ok(), "catalog providers count");
        assert!(check_target(&stored, "fast").is_ok() && check_target(&stored, "combo/fast").is_ok());
        assert!(check_target(&stored, "nope/model").unwrap_err().contains("'nope'"));
        assert!(check_target(&stored, "combo/slow").unwrap_err().contains("no combo 'slow'"));
        assert!(check_target(&stored, "slow").is_err());
        assert!(check_target(&stored, "").is_err());
        assert!(refuse_declared("config", "alias 'x'").is_err() && refuse_declared("api", "x").is_ok());
    }
}
