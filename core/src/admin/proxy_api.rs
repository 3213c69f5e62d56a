//! `/api/settings/proxy` (GET, PUT) and `/api/settings/proxy/test` (POST): the outbound proxy
//! for upstream calls (`http://`, `https://`, `socks5://`, `socks5h://`). Stored in the `proxy`
//! settings document; the gateway hands it to the HttpClient on the next snapshot refresh, so
//! it applies without a restart. Credentials in the URL are masked wherever it is shown. On
//! runtimes whose HttpClient has no proxy support (Cloudflare Workers) it cannot be enabled.

use http::Response;
use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit};
use crate::admin::json::{invalid, mask_secret, ok, parse};
use crate::admin::provider_probe::{ProbeOutcome, send_probe};
use crate::admin::provider_rows::{is_masked, private_upstreams_allowed};
use crate::auth::ssrf;
use crate::body::Body;
use crate::config::ConfigChange;
use crate::config::settings::ProxySettings;
use crate::config::settings::keys::PROXY;
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::ports::{OutboundProxy, ProxyError};

/// The proxy setting as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProxyView {
    pub enabled: bool,
    /// With any password (or a lone user token) masked: `http://user:****word@proxy:3128`.
    pub url: String,
    pub no_proxy: String,
    /// Whether this runtime can send upstream calls through a proxy.
    pub supported: bool,
}

/// `PUT`: absent fields keep their value. A URL sent back masked as shown keeps the stored
/// credentials.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProxyInput {
    pub enabled: Option<bool>,
    pub url: Option<String>,
    pub no_proxy: Option<String>,
}

/// `POST /api/settings/proxy/test`: a proxy (default: the saved one) and a URL to fetch
/// through it (default: the first provider's base URL).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProxyTestInput {
    pub url: Option<String>,
    pub no_proxy: Option<String>,
    pub target_url: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProxyTestReport {
    /// The target answered through the proxy (any HTTP status proves the path works).
    pub success: bool,
    pub proxy: String,
    pub target_url: String,
    #[serde(flatten)]
    pub outcome: ProbeOutcome,
}

const PROXY_SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

/// `url` with its credentials masked.
pub fn masked_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return if url.is_empty() { String::new() } else { "****".into() };
    };
    let user = parsed.username().to_owned();
    match parsed.password().map(str::to_owned) {
        Some(password) => {
            let _ = parsed.set_password(Some(&mask_secret(&password)));
        }
        None if !user.is_empty() => {
            let _ = parsed.set_username(&mask_secret(&user));
        }
        None => {}
    }
    let text = parsed.to_string();
    text.strip_suffix('/').map(str::to_owned).unwrap_or(text)
}

/// A proxy URL, checked; a masked password matching the stored URL's keeps the stored one.
fn check_proxy_url(text: &str, stored: &str) -> Result<String, GatewayError> {
    let text = text.trim();
    let mut url = url::Url::parse(text).map_err(|e| invalid("url", format!("is not a valid URL ({e})")))?;
    if !PROXY_SCHEMES.contains(&url.scheme()) {
        return Err(invalid("url", "must start with http://, https://, socks5:// or socks5h://"));
    }
    if url.host().is_none() || url.port_or_known_default().is_none() {
        return Err(invalid("url", "needs a host and a port"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("url", "must be just scheme://[user:password@]host:port"));
    }
    if let Some(password) = url.password().filter(|p| is_masked(p)).map(str::to_owned)
        && let Ok(previous) = url::Url::parse(stored)
        && previous.username() == url.username()
        && previous.host() == url.host()
        && previous.password().map(mask_secret).as_deref() == Some(password.as_str())
    {
        let _ = url.set_password(previous.password());
    }
    let out = url.to_string();
    Ok(out.strip_suffix('/').map(str::to_owned).unwrap_or(out))
}

fn check_no_proxy(text: &str) -> Result<String, GatewayError> {
    if text.len() > 4096 || text.chars().any(char::is_control) {
        return Err(invalid("noProxy", "must be a comma-separated host list (at most 4096 characters)"));
    }
    Ok(text.trim().to_owned())
}

fn view(gateway: &Gateway, settings: &ProxySettings) -> ProxyView {
    ProxyView {
        enabled: settings.enabled,
        url: masked_url(&settings.url),
        no_proxy: settings.no_proxy.clone(),
        supported: gateway.ports.http.proxy_supported(),
    }
}

fn proxy_error(field: &str, err: ProxyError) -> GatewayError {
    invalid(field, err.to_string())
}

fn current(gateway: &Gateway) -> ProxySettings {
    gateway.snapshot().setting(PROXY)
}

/// `GET /api/settings/proxy`.
pub async fn get(call: Call<'_>) -> Answer {
    Ok(ok(&view(call.gateway, &current(call.gateway))))
}

/// `PUT`/`PATCH /api/settings/proxy`.
pub async fn update(mut call: Call<'_>) -> Answer {
    let input = parse(&call.body_bytes().await?)?;
    store(call.gateway, call.ctx, current(call.gateway), input).await
}

/// `POST /api/settings/proxy/test`: an empty body tests the stored proxy.
pub async fn test(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    let input = if body.iter().all(u8::is_ascii_whitespace) { ProxyTestInput::default() } else { parse(&body)? };
    try_proxy(call.gateway, current(call.gateway), input).await
}

async fn store(gateway: &Gateway, ctx: &RequestContext, current: ProxySettings, input: ProxyInput) -> Answer {
    let mut next = current.clone();
    if let Some(url) = input.url {
        next.url = if url.trim().is_empty() { String::new() } else { check_proxy_url(&url, &current.url)? };
    }
    if let Some(no_proxy) = input.no_proxy {
        next.no_proxy = check_no_proxy(&no_proxy)?;
    }
    if let Some(enabled) = input.enabled {
        next.enabled = enabled;
    }
    if next.enabled {
        if next.url.is_empty() {
            return Err(invalid("url", "is required to enable the proxy"));
        }
        // The client must accept it (and the runtime support proxies) before it is saved.
        let proxy = OutboundProxy { url: next.url.clone(), no_proxy: next.no_proxy.clone() };
        gateway.ports.http.through_proxy(&proxy).map_err(|e| match e {
            ProxyError::Unsupported => proxy_error("enabled", e),
            ProxyError::Invalid(_) => proxy_error("url", e),
        })?;
    }
    let before = serde_json::to_value(view(gateway, &current)).ok();
    let shown = view(gateway, &next);
    let after = serde_json::to_value(&shown).ok();
    let value =
        serde_json::to_value(&next).map_err(|e| GatewayError::internal("cannot encode the proxy settings", e))?;
    let changes = vec![ConfigChange::PutSetting { key: PROXY.into(), value }];
    commit(gateway, ctx, Change { action: "settings.proxy.update", target: PROXY.into(), before, after, changes })
        .await?;
    Ok(ok(&shown))
}

async fn try_proxy(
    gateway: &Gateway,
    current: ProxySettings,
    input: ProxyTestInput,
) -> Result<Response<Body>, GatewayError> {
    let url = match input.url {
        Some(url) => check_proxy_url(&url, &current.url)?,
        None if !current.url.is_empty() => current.url.clone(),
        None => return Err(invalid("url", "no proxy is saved; give the one to test")),
    };
    let no_proxy = match input.no_proxy {
        Some(no_proxy) => check_no_proxy(&no_proxy)?,
        None => current.no_proxy.clone(),
    };
    // A URL given here passes the SSRF guard; a provider's base URL was checked when it was set
    // (or comes from the operator's config file).
    let target = match input.target_url {
        Some(target) => {
            ssrf::check_url(&target, private_upstreams_allowed(gateway)).map_err(|e| invalid("targetUrl", e))?
        }
        None => {
            let base = gateway.snapshot().providers().first().map(|p| p.base_url.clone()).ok_or_else(|| {
                invalid("targetUrl", "no provider is configured; give a URL to fetch through the proxy")
            })?;
            url::Url::parse(&base).map_err(|_| invalid("targetUrl", "the first provider's base URL is not a URL"))?
        }
    };
    let client = gateway
        .ports
        .http
        .through_proxy(&OutboundProxy { url: url.clone(), no_proxy })
        .map_err(|e| proxy_error("url", e))?;
    let request = http::Request::get(target.as_str())
        .body(bytes::Bytes::new())
        .map_err(|_| invalid("targetUrl", "is not a URL the HTTP client takes"))?;
    let (outcome, _) = send_probe(gateway, client.as_ref(), request).await;
    Ok(ok(&ProxyTestReport {
        success: outcome.status.is_some(),
        proxy: masked_url(&url),
        target_url: target.to_string(),
        outcome,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_masked_and_kept_when_sent_back_masked() {
        assert_eq!(masked_url("http://alice:s3cret-pass@proxy.local:3128"), "http://alice:****pass@proxy.local:3128");
        assert_eq!(masked_url("socks5://tokenonly-abcdefgh@10.0.0.1:1080"), "socks5://****efgh@10.0.0.1:1080");
        assert_eq!(masked_url("http://proxy:3128"), "http://proxy:3128");
        let stored = "http://alice:s3cret-pass@proxy.local:3128";
        let kept = check_proxy_url("http://alice:****pass@proxy.local:3128/", stored).unwrap();
        assert_eq!(kept, stored);
        let replaced = check_proxy_url("http://alice:new-password@proxy.local:3128", stored).unwrap();
        assert_eq!(replaced, "http://alice:new-password@proxy.local:3128");
        for bad in ["ftp://proxy:21", "http://proxy:3128/path", "not a url", "http://proxy:3128?x=1"] {
            assert!(check_proxy_url(bad, "").is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
#[path = "proxy_api_tests.rs"]
mod gateway_tests;
