//! What the provider endpoints share: naming a provider by configured
//! id or catalog id/alias, the read-only rule for config-file rows, field checks (base URL with
//! the SSRF guard, headers, paths) and masking of secret-looking header values.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::admin::json::{invalid, mask_secret};
use crate::auth::ssrf;
use crate::config::settings::{self, ProviderModelsSettings};
use crate::config::{API_SOURCE, ConnectionRecord, ProviderRecord, StoredConfig};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::providers::{CatalogProvider, find_catalog_provider};
use crate::snapshot::{ConfigSnapshot, ResolvedProvider};

/// A provider as a request names it: a configured row, or a catalog entry not configured yet.
pub enum ProviderRef<'a> {
    Configured(&'a ProviderRecord),
    Catalog(&'static CatalogProvider),
}

impl ProviderRef<'_> {
    pub fn id(&self) -> &str {
        match self {
            ProviderRef::Configured(p) => &p.id,
            ProviderRef::Catalog(e) => &e.id,
        }
    }
}

/// Finds a provider by configured id, or by catalog id or alias.
pub fn find_provider<'a>(stored: &'a StoredConfig, name: &str) -> Option<ProviderRef<'a>> {
    let by_id = |id: &str| stored.providers.iter().find(|p| p.id.eq_ignore_ascii_case(id));
    if let Some(record) = by_id(name) {
        return Some(ProviderRef::Configured(record));
    }
    let entry = find_catalog_provider(name)?;
    Some(match by_id(&entry.id) {
        Some(record) => ProviderRef::Configured(record),
        None => ProviderRef::Catalog(entry),
    })
}

/// A new row for a catalog provider configured over the API: the catalog's defaults throughout.
pub fn catalog_record(entry: &CatalogProvider) -> ProviderRecord {
    new_record(&entry.id, Some(&entry.id))
}

/// A new API row with nothing overridden.
pub fn new_record(id: &str, catalog_id: Option<&str>) -> ProviderRecord {
    ProviderRecord::bare(id, API_SOURCE, catalog_id)
}

/// `provider` as the gateway would call it, enabled, with only `connection` as its account
/// (or its implicit keyless one), whatever their stored `enabled` flags say. Built the same way
/// as the live snapshot, so a probe calls exactly what traffic would.
pub fn resolve_for_probe(
    stored: &StoredConfig,
    provider: &ProviderRecord,
    connection: Option<&ConnectionRecord>,
) -> Option<Arc<ResolvedProvider>> {
    let mini = StoredConfig {
        providers: vec![ProviderRecord { enabled: true, ..provider.clone() }],
        connections: connection.map(|c| ConnectionRecord { enabled: true, ..c.clone() }).into_iter().collect(),
        settings: stored
            .settings
            .get(settings::keys::PROVIDER_MODELS)
            .map(|v| (settings::keys::PROVIDER_MODELS.to_owned(), v.clone()))
            .into_iter()
            .collect(),
        discovered: stored.discovered.get(&provider.id).map(|d| (provider.id.clone(), d.clone())).into_iter().collect(),
        ..Default::default()
    };
    ConfigSnapshot::build(&mini).provider(&provider.id).cloned()
}

/// The `provider_models` settings document as stored.
pub fn provider_models(stored: &StoredConfig) -> ProviderModelsSettings {
    crate::config::settings::setting_or_default(stored, settings::keys::PROVIDER_MODELS)
}

/// Whether base URLs set over the API may point at private addresses.
pub fn private_upstreams_allowed(gateway: &Gateway) -> bool {
    gateway.snapshot().access.security.allow_private_upstreams
}

/// A base URL set over the API, checked (scheme, no credentials, SSRF guard) and trimmed.
pub fn check_base_url(gateway: &Gateway, field: &str, url: &str) -> Result<String, GatewayError> {
    ssrf::check_base_url(url, private_upstreams_allowed(gateway)).map_err(|e| invalid(field, e))
}

/// Header names that may carry a credential: their values are masked wherever they are shown.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "cookie", "password", "signature"].iter().any(|word| name.contains(word))
}

/// Headers as views show them: secret-looking values masked to their last four characters.
pub fn shown_headers(headers: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    headers.iter().map(|(k, v)| (k.clone(), if is_secret_header(k) { mask_secret(v) } else { v.clone() })).collect()
}

/// Whether `value` is a masked secret sent back as it was shown (`****abcd`): it then means
/// "keep the stored one".
pub fn is_masked(value: &str) -> bool {
    value.starts_with("****")
}

const MAX_HEADERS: usize = 32;
/// Headers the HTTP client owns; a provider may not set them.
const RESERVED_HEADERS: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te"];

/// Checks headers to send upstream; a masked value of a header already stored keeps that value.
pub fn check_headers(
    field: &str,
    headers: BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, GatewayError> {
    if headers.len() > MAX_HEADERS {
        return Err(invalid(field, format!("at most {MAX_HEADERS} headers")));
    }
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        let at = format!("{field}.{name}");
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(invalid(&at, "is not a valid header name"));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(invalid(&at, "is set by the HTTP client itself"));
        }
        let value = match current.get(&name) {
            Some(stored) if is_masked(&value) && mask_secret(stored) == value => stored.clone(),
            _ => value,
        };
        if http::HeaderValue::from_str(&value).is_err() || value.len() > 8192 {
            return Err(invalid(&at, "is not a valid header value (visible ASCII, at most 8192 bytes)"));
        }
        out.insert(name, value);
    }
    Ok(out)
}

/// A path appended to the base URL (`/chat/completions`, `/models/{model}:generateContent`).
pub fn check_path(field: &str, path: &str) -> Result<String, GatewayError> {
    let ok = path.starts_with('/') && path.len() <= 512 && path.chars().all(|c| c.is_ascii_graphic());
    if ok { Ok(path.to_owned()) } else { Err(invalid(field, "must start with '/' and be visible ASCII (at most 512)")) }
}

/// A model id as upstreams name them (`gpt-4o`, `meta-llama/Llama-3-70b`, `ft:gpt-4o:org`).
pub fn check_model_id(field: &str, id: &str) -> Result<(), GatewayError> {
    let ok = !id.is_empty() && id.len() <= 256 && id.chars().all(|c| c.is_ascii_graphic() || !c.is_ascii());
    if ok { Ok(()) } else { Err(invalid(field, "must be 1-256 characters without blanks or control characters")) }
}

/// A display name: 1-100 characters, no control characters.
pub fn check_name(field: &str, name: &str) -> Result<String, GatewayError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid(field, "must be 1 to 100 characters without control characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked_and_masked_values_keep_the_stored_ones() {
        let current = BTreeMap::from([("Authorization".to_string(), "Bearer sk-secret-1234".to_string())]);
        let sent = BTreeMap::from([
            ("Authorization".to_string(), mask_secret("Bearer sk-secret-1234")),
            ("X-Team".to_string(), "ml".to_string()),
        ]);
        let kept = check_headers("headers", sent, &current).unwrap();
        assert_eq!(kept["Authorization"], "Bearer sk-secret-1234");
        assert_eq!(shown_headers(&kept)["Authorization"], "****1234");
        assert_eq!(shown_headers(&kept)["X-Team"], "ml");
        let field = |headers: BTreeMap<String, String>| match check_headers("headers", headers, &current) {
            Err(GatewayError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(BTreeMap::from([("Host".into(), "x".into())])), "headers.Host");
        assert_eq!(field(BTreeMap::from([("bad name".into(), "x".into())])), "headers.bad name");
        assert_eq!(field(BTreeMap::from([("X-A".into(), "line\nbreak".into())])), "headers.X-A");
    }

    #[test]
    fn providers_are_found_by_configured_id_catalog_id_or_alias() {
        let stored = StoredConfig {
            providers: vec![ProviderRecord {
                id: "mycorp".into(),
                ..catalog_record(find_catalog_provider("groq").unwrap())
            }],
            ..Default::default()
        };
        assert!(matches!(find_provider(&stored, "mycorp"), Some(ProviderRef::Configured(_))));
        assert!(matches!(find_provider(&stored, "claude"), Some(ProviderRef::Catalog(e)) if e.id == "anthropic"));
        assert!(find_provider(&stored, "nope").is_none());
    }
}
