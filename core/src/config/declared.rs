//! Turns the config file and `<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL` env vars into the
//! records that get synced into the store. Env vars are read through a closure so a Worker
//! can pass its bindings.

use crate::config::file::{FileAccount, FileConfig, FileProvider};
use crate::config::records::{ConnectionRecord, DeclaredConfig, ProviderRecord};
use crate::providers::{AuthScheme, WireFormat, catalog, find_catalog_provider};

/// The source tag of everything declared by file and env.
pub const CONFIG_SOURCE: &str = "config";

/// A declaration that cannot be applied; names the provider and field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeclareError(pub String);

/// Builds the declared providers and accounts from an optional file and the environment.
pub fn declare(
    file: Option<&FileConfig>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DeclaredConfig, DeclareError> {
    let mut out = DeclaredConfig { source: CONFIG_SOURCE.into(), ..Default::default() };
    for provider in file.map(|f| f.providers.as_slice()).unwrap_or_default() {
        declare_file_provider(provider, env, &mut out)?;
    }
    for entry in catalog() {
        let key = non_empty(env(&format!("{}_API_KEY", entry.env)));
        let base_url = non_empty(env(&format!("{}_BASE_URL", entry.env)));
        let existing = out.providers.iter().position(|p| p.id == entry.id);
        if let (Some(index), Some(url)) = (existing, &base_url) {
            // The file wins; the env var only fills a base URL the file left out.
            let record = &mut out.providers[index];
            if record.base_url.is_none() {
                record.base_url = Some(clean_base_url(&entry.id, url)?);
            }
        }
        let registers = key.is_some() || (base_url.is_some() && !entry.key_required);
        if !registers {
            continue;
        }
        if existing.is_none() {
            out.providers.push(ProviderRecord {
                id: entry.id.clone(),
                source: CONFIG_SOURCE.into(),
                catalog_id: Some(entry.id.clone()),
                name: None,
                format: None,
                base_url: base_url.as_deref().map(|u| clean_base_url(&entry.id, u)).transpose()?,
                auth: None,
                headers: Default::default(),
                chat_path: None,
                api_version: None,
                models: Vec::new(),
                enabled: true,
            });
        }
        if let Some(key) = key {
            let priority = out.connections.iter().filter(|c| c.provider_id == entry.id).count() as i64;
            out.connections.push(ConnectionRecord {
                id: format!("{}:env", entry.id),
                provider_id: entry.id.clone(),
                source: CONFIG_SOURCE.into(),
                name: "env".into(),
                api_key: Some(key),
                priority,
                enabled: true,
            });
        }
    }
    Ok(out)
}

fn declare_file_provider(
    p: &FileProvider,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut DeclaredConfig,
) -> Result<(), DeclareError> {
    let catalog_entry = find_catalog_provider(&p.id);
    let id = match catalog_entry {
        Some(entry) => entry.id.clone(),
        None => validate_id(&p.id)?,
    };
    if out.providers.iter().any(|existing| existing.id == id) {
        return Err(DeclareError(format!("provider '{id}' is declared twice")));
    }
    let format = p
        .format
        .as_deref()
        .map(|f| f.parse::<WireFormat>().map_err(|e| DeclareError(format!("provider '{id}': {e}"))))
        .transpose()?;
    let auth = p
        .auth
        .as_deref()
        .map(|a| a.parse::<AuthScheme>().map_err(|e| DeclareError(format!("provider '{id}': {e}"))))
        .transpose()?;
    if catalog_entry.is_none() && p.base_url.is_none() {
        return Err(DeclareError(format!(
            "provider '{id}' is not in the built-in catalog, so it needs `base_url` (and usually `format = \"openai-chat\"`)"
        )));
    }
    out.providers.push(ProviderRecord {
        id: id.clone(),
        source: CONFIG_SOURCE.into(),
        catalog_id: catalog_entry.map(|e| e.id.clone()),
        name: p.name.clone(),
        format,
        base_url: p.base_url.as_deref().map(|u| clean_base_url(&id, u)).transpose()?,
        auth,
        headers: p.headers.clone(),
        chat_path: p.chat_path.clone(),
        api_version: p.api_version.clone(),
        models: p.models.clone(),
        enabled: p.enabled.unwrap_or(true),
    });
    for (index, account) in p.accounts.iter().enumerate() {
        out.connections.push(declare_account(&id, index, account, env)?);
    }
    Ok(())
}

fn declare_account(
    provider_id: &str,
    index: usize,
    account: &FileAccount,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectionRecord, DeclareError> {
    let name = account.name.clone().unwrap_or_else(|| format!("account-{}", index + 1));
    let api_key = match (&account.api_key, &account.api_key_env) {
        (Some(_), Some(_)) => {
            return Err(DeclareError(format!(
                "account '{name}' of provider '{provider_id}': set `api_key` or `api_key_env`, not both"
            )));
        }
        (Some(key), None) => Some(key.clone()),
        (None, Some(var)) => Some(non_empty(env(var)).ok_or_else(|| {
            DeclareError(format!("account '{name}' of provider '{provider_id}': environment variable {var} is not set"))
        })?),
        (None, None) => None,
    };
    Ok(ConnectionRecord {
        id: format!("{provider_id}:{name}"),
        provider_id: provider_id.to_owned(),
        source: CONFIG_SOURCE.into(),
        name,
        api_key,
        priority: account.priority.unwrap_or(index as i64),
        enabled: account.enabled.unwrap_or(true),
    })
}

fn validate_id(id: &str) -> Result<String, DeclareError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(DeclareError(format!("provider id '{id}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")))
    }
}

fn clean_base_url(provider_id: &str, url: &str) -> Result<String, DeclareError> {
    let url = url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(DeclareError(format!("provider '{provider_id}': base_url must start with http:// or https://")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn an_api_key_env_var_alone_registers_the_catalog_provider() {
        let env = env_of(&[("GROQ_API_KEY", "gsk-1"), ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")]);
        let declared = declare(None, &env).unwrap();
        assert_eq!(declared.providers.len(), 1, "OPENAI_BASE_URL alone must not register OpenAI");
        assert_eq!(declared.providers[0].id, "groq");
        assert_eq!(declared.connections[0].api_key.as_deref(), Some("gsk-1"));
    }

    #[test]
    fn base_url_env_overrides_and_registers_keyless_providers() {
        let env = env_of(&[("OLLAMA_BASE_URL", "http://127.0.0.1:11434/")]);
        let declared = declare(None, &env).unwrap();
        assert_eq!(declared.providers[0].id, "ollama");
        assert_eq!(declared.providers[0].base_url.as_deref(), Some("http://127.0.0.1:11434"));
        assert!(declared.connections.is_empty());
    }

    #[test]
    fn file_accounts_take_keys_by_value_or_env_name() {
        let file = FileConfig::parse(
            r#"
            [[providers]]
            id = "oai"
              [[providers.accounts]]
              name = "a"
              api_key = "sk-a"
              [[providers.accounts]]
              name = "b"
              api_key_env = "KEY_B"
            "#,
        )
        .unwrap();
        let declared = declare(Some(&file), &env_of(&[("KEY_B", "sk-b"), ("OPENAI_API_KEY", "sk-env")])).unwrap();
        assert_eq!(declared.providers.len(), 1);
        assert_eq!(declared.providers[0].id, "openai", "aliases resolve to the catalog id");
        let keys: Vec<_> = declared.connections.iter().map(|c| c.api_key.clone().unwrap()).collect();
        assert_eq!(keys, ["sk-a", "sk-b", "sk-env"]);
        assert_eq!(declared.connections[1].id, "openai:b");
    }

    #[test]
    fn missing_env_var_and_custom_without_base_url_are_clear_errors() {
        let file =
            FileConfig::parse("[[providers]]\nid = \"openai\"\n[[providers.accounts]]\napi_key_env = \"NOPE\"\n")
                .unwrap();
        let err = declare(Some(&file), &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("NOPE is not set"), "{err}");
        let file = FileConfig::parse("[[providers]]\nid = \"mycorp\"\n").unwrap();
        let err = declare(Some(&file), &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("needs `base_url`"), "{err}");
    }
}
