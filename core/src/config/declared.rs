//! Turns the config file and `<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL` env vars into the
//! records that get synced into the store, routing included, and validates the result. Env
//! vars are read through a closure so a Worker can pass its bindings.

use crate::config::file::{
    BreakerSection, CacheSection, FileAccount, FileConfig, FileProvider, TimeoutsSection, UsageSection,
};
use crate::config::records::{
    AliasRecord, BreakerSettings, ComboRecord, ComboSettings, ConnectionRecord, DeclaredConfig, ProviderRecord,
    RoutingSettings, TimeoutOverrides,
};
use crate::config::settings::{CacheSettings, UsageSettings, keys};
use crate::config::validate::{combo_targets, validate_declared};
use crate::providers::{AuthScheme, WireFormat, catalog, find_catalog_provider};

/// The source tag of everything declared by file and env.
pub const CONFIG_SOURCE: &str = "config";

/// A declaration that cannot be applied; names the provider and field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeclareError(pub String);

/// Builds the declared providers, accounts, aliases, combos and routing settings from an
/// optional file and the environment, and checks them (see [`crate::config::validate`]).
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
                base_url: base_url.as_deref().map(|u| clean_base_url(&entry.id, u)).transpose()?,
                ..ProviderRecord::bare(&entry.id, CONFIG_SOURCE, Some(&entry.id))
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
    if let Some(file) = file {
        declare_routing(file, &mut out)?;
        if let Some(cache) = &file.cache {
            let value = serde_json::to_value(cache_settings(cache)?).map_err(|e| DeclareError(e.to_string()))?;
            out.settings.insert(keys::CACHE.into(), value);
        }
        if let Some(usage) = &file.usage {
            let value = serde_json::to_value(usage_settings(usage)?).map_err(|e| DeclareError(e.to_string()))?;
            out.settings.insert(keys::USAGE.into(), value);
        }
    }
    validate_declared(&out).map_err(|e| DeclareError(e.to_string()))?;
    Ok(out)
}

/// `[cache]` over the defaults, checked; errors name the file's key (`cache.semantic.threshold`).
fn cache_settings(section: &CacheSection) -> Result<CacheSettings, DeclareError> {
    let mut settings = CacheSettings::default();
    settings.enabled = section.enabled.unwrap_or(settings.enabled);
    settings.ttl_ms = section.ttl_ms.unwrap_or(settings.ttl_ms);
    settings.max_entries = section.max_entries.unwrap_or(settings.max_entries);
    settings.max_bytes = section.max_bytes.unwrap_or(settings.max_bytes);
    let (file, semantic) = (&section.semantic, &mut settings.semantic);
    semantic.embedding_model.clone_from(&file.embedding_model);
    semantic.threshold = file.threshold.unwrap_or(semantic.threshold);
    semantic.max_entries = file.max_entries.unwrap_or(semantic.max_entries);
    semantic.timeout_ms = file.timeout_ms.unwrap_or(semantic.timeout_ms);
    settings.check().map_err(|e| DeclareError(format!("cache.{}: {}", snake_case(e.field), e.message)))?;
    Ok(settings)
}

/// `[usage]` over the defaults, checked as the usage settings API checks them.
fn usage_settings(section: &UsageSection) -> Result<UsageSettings, DeclareError> {
    /// Ten years, as the API allows; longer is what 0 means.
    const MAX_DAYS: u32 = 3650;
    let mut settings = UsageSettings::default();
    for (key, days) in
        [("retention_days", section.retention_days), ("responses_retention_days", section.responses_retention_days)]
    {
        if days.is_some_and(|d| d > MAX_DAYS) {
            return Err(DeclareError(format!("usage.{key}: at most {MAX_DAYS}")));
        }
    }
    settings.retention_days = section.retention_days.unwrap_or(settings.retention_days);
    settings.request_logging = section.request_logging.unwrap_or(settings.request_logging);
    settings.responses_retention_days = section.responses_retention_days.unwrap_or(settings.responses_retention_days);
    Ok(settings)
}

/// `semantic.embeddingModel` → `semantic.embedding_model`: the API's names in the file's spelling.
fn snake_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn declare_routing(file: &FileConfig, out: &mut DeclaredConfig) -> Result<(), DeclareError> {
    out.aliases = file
        .aliases
        .iter()
        .map(|a| AliasRecord { pattern: a.pattern.clone(), target: a.target.clone(), source: CONFIG_SOURCE.into() })
        .collect();
    for c in &file.combos {
        out.combos.push(ComboRecord {
            name: c.name.clone(),
            source: CONFIG_SOURCE.into(),
            strategy: c.strategy,
            targets: combo_targets(&c.name, &c.targets, c.weights.as_deref()).map_err(DeclareError)?,
            settings: ComboSettings {
                retries: c.retries.unwrap_or(0),
                retry_delay_ms: c.retry_delay_ms.unwrap_or(0),
                attempt_timeout_ms: c.attempt_timeout_ms,
                first_byte_ms: c.first_byte_ms,
                idle_ms: c.idle_ms,
                total_ms: c.total_ms,
            },
        });
    }
    if file.routing.is_none() && file.resilience.is_none() {
        return Ok(());
    }
    let mut settings = RoutingSettings::default();
    if let Some(r) = &file.routing {
        settings.default_model = r.default_model.clone();
        if let Some(statuses) = &r.retryable_statuses {
            settings.retryable_statuses = statuses.clone();
        }
        settings.max_wait_ms = r.max_wait_ms.unwrap_or(settings.max_wait_ms);
    }
    if let Some(r) = &file.resilience {
        // `[resilience.model]` wins over the top-level keys, which keep their old meaning.
        let m = &r.model;
        let model = BreakerSection {
            failure_threshold: m.failure_threshold.or(r.failure_threshold),
            window_ms: m.window_ms.or(r.window_ms),
            open_ms: m.open_ms.or(r.open_ms),
            half_open_probes: m.half_open_probes.or(r.half_open_probes),
        };
        settings.breaker = breaker(&model, BreakerSettings::default());
        settings.local_breaker = breaker(&r.local, BreakerSettings::local_default());
        settings.endpoint_breaker = breaker(&r.endpoint, BreakerSettings::ENDPOINT);
        settings.rate_limit_cooldown_ms = m.cooldown_ms.unwrap_or(settings.rate_limit_cooldown_ms);
        settings.account_cooldown_ms = r.account.cooldown_ms.unwrap_or(settings.account_cooldown_ms);
    }
    out.routing = Some(settings);
    Ok(())
}

fn breaker(section: &BreakerSection, defaults: BreakerSettings) -> BreakerSettings {
    BreakerSettings {
        failure_threshold: section.failure_threshold.unwrap_or(defaults.failure_threshold),
        window_ms: section.window_ms.unwrap_or(defaults.window_ms),
        open_ms: section.open_ms.unwrap_or(defaults.open_ms),
        half_open_probes: section.half_open_probes.unwrap_or(defaults.half_open_probes),
    }
}

fn timeouts(section: &TimeoutsSection) -> TimeoutOverrides {
    TimeoutOverrides {
        connect_ms: section.connect_ms,
        first_byte_ms: section.first_byte_ms,
        idle_ms: section.idle_ms,
        total_ms: section.total_ms,
    }
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
        selection: p.selection.unwrap_or_default(),
        sticky_window: p.sticky_window,
        timeouts: timeouts(&p.timeouts),
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
    fn the_usage_section_becomes_the_usage_settings_document() {
        let file = FileConfig::parse("[usage]\nresponses_retention_days = 7\n").unwrap();
        let declared = declare(Some(&file), &|_| None).unwrap();
        let usage: UsageSettings = serde_json::from_value(declared.settings["usage"].clone()).unwrap();
        assert_eq!(usage.responses_retention_days, 7);
        assert_eq!(usage.retention_days, UsageSettings::default().retention_days, "unset keys keep their defaults");
        let too_long = FileConfig::parse("[usage]\nresponses_retention_days = 4000\n").unwrap();
        let error = declare(Some(&too_long), &|_| None).unwrap_err().to_string();
        assert!(error.starts_with("usage.responses_retention_days: "), "{error}");
        assert!(FileConfig::parse("[usage]\nretention = 5\n").is_err(), "unknown keys are refused");
    }

    #[test]
    fn the_cache_section_becomes_the_cache_settings_document() {
        let file = FileConfig::parse(
            "[cache]\nttl_ms = 5000\n[cache.semantic]\nembedding_model = \"openai/text-embedding-3-small\"\nthreshold = 0.9\n",
        )
        .unwrap();
        let declared = declare(Some(&file), &|_| None).unwrap();
        let cache: CacheSettings = serde_json::from_value(declared.settings["cache"].clone()).unwrap();
        assert_eq!(cache.ttl_ms, 5000);
        assert_eq!(cache.max_entries, CacheSettings::default().max_entries, "unset keys keep their defaults");
        assert_eq!(cache.semantic.embedding_model.as_deref(), Some("openai/text-embedding-3-small"));
        assert_eq!(cache.semantic.threshold, 0.9);
        assert!(declare(Some(&FileConfig::parse("").unwrap()), &|_| None).unwrap().settings.is_empty());

        let out_of_range = FileConfig::parse("[cache.semantic]\nthreshold = 1.5\n").unwrap();
        let error = declare(Some(&out_of_range), &|_| None).unwrap_err().to_string();
        assert!(error.starts_with("cache.semantic.threshold: "), "{error}");
        let zero_ttl = FileConfig::parse("[cache]\nttl_ms = 0\n").unwrap();
        assert!(declare(Some(&zero_ttl), &|_| None).unwrap_err().to_string().starts_with("cache.ttl_ms: "));
        assert!(
            FileConfig::parse("[cache]\nttl = 5\n").unwrap_err().to_string().contains("ttl"),
            "unknown keys are refused"
        );
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
    fn routing_sections_become_records_with_defaults_filled() {
        let file = FileConfig::parse(
            r#"
            [routing]
            retryable_statuses = [429]
            [resilience]
            failure_threshold = 2
            [resilience.local]
            window_ms = 500
            [[providers]]
            id = "groq"
            selection = "random"
            [providers.timeouts]
            idle_ms = 700
            [[aliases]]
            pattern = "fast-*"
            target = "fast"
            [[combos]]
            name = "fast"
            strategy = "round-robin"
            targets = ["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"]
            retries = 1
            "#,
        )
        .unwrap();
        let declared = declare(Some(&file), &env_of(&[])).unwrap();
        let routing = declared.routing.unwrap();
        assert_eq!(routing.retryable_statuses, [429]);
        assert_eq!(routing.max_wait_ms, 0);
        assert_eq!(routing.breaker.failure_threshold, 2);
        assert_eq!(routing.breaker.open_ms, BreakerSettings::default().open_ms);
        assert_eq!(routing.local_breaker.window_ms, 500);
        assert_eq!(routing.local_breaker.open_ms, BreakerSettings::local_default().open_ms);
        assert_eq!(declared.aliases[0].source, CONFIG_SOURCE);
        let combo = &declared.combos[0];
        assert_eq!((combo.name.as_str(), combo.settings.retries, combo.targets.len()), ("fast", 1, 2));
        assert!(combo.targets.iter().all(|t| t.weight == 1));
        let groq = &declared.providers[0];
        assert_eq!(groq.selection, crate::config::policy::AccountSelection::Random);
        assert_eq!(groq.timeouts.idle_ms, Some(700));
        let bare = declare(Some(&FileConfig::parse("").unwrap()), &env_of(&[])).unwrap();
        assert_eq!(bare.routing, None, "no section, no stored settings");
    }

    #[test]
    fn the_documented_example_declares_cleanly() {
        let doc = include_str!("../../../docs/configuration.md");
        let start = doc.find("```toml\n[server]").map(|i| i + "```toml\n".len()).unwrap();
        let block = &doc[start..start + doc[start..].find("```").unwrap()];
        let file = FileConfig::parse(block).unwrap();
        let env = env_of(&[
            ("TEAM_OPENAI_KEY", "k"),
            ("MYCORP_KEY", "k"),
            ("OPENAI_API_KEY", "k"),
            ("AZURE_OPENAI_API_KEY", "k"),
        ]);
        let declared = declare(Some(&file), &env).unwrap();
        assert_eq!(declared.combos.len(), 2);
        assert_eq!(declared.aliases.len(), 2);
        let routing = declared.routing.unwrap();
        assert_eq!(routing.breaker, BreakerSettings::default(), "the README shows the defaults");
        assert_eq!(routing.local_breaker, BreakerSettings::local_default());
        assert_eq!(routing.endpoint_breaker, BreakerSettings::ENDPOINT);
        assert_eq!(
            routing,
            RoutingSettings { default_model: routing.default_model.clone(), ..RoutingSettings::default() }
        );
        let usage: UsageSettings = serde_json::from_value(declared.settings["usage"].clone()).unwrap();
        assert_eq!(usage, UsageSettings::default(), "the docs show the usage defaults");
    }

    #[test]
    fn invalid_routing_stops_the_declaration_with_the_reason() {
        let cycle = "[[combos]]\nname = \"a\"\ntargets = [\"b\"]\n[[combos]]\nname = \"b\"\ntargets = [\"combo/a\"]\n";
        let err = declare(Some(&FileConfig::parse(cycle).unwrap()), &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("combos form a cycle: a → b → a"), "{err}");
        let weights = "[[combos]]\nname = \"w\"\ntargets = [\"openai/gpt-4o\"]\nweights = [1, 2]\n";
        let err = declare(Some(&FileConfig::parse(weights).unwrap()), &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("`weights` has 2 entries but `targets` has 1"), "{err}");
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
