//! Access rules, checked before a request reaches its endpoint: the IP filter; gateway API keys
//! on the inference endpoints (wherever each SDK puts them); a login session or an admin key on
//! the management API, with an Origin check on cookie-authenticated writes.

use std::net::IpAddr;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, Method};

use crate::auth::access_index::AccessIndex;
use crate::config::{ApiKeyRecord, KeyRole};
use crate::error::GatewayError;

/// The admin session cookie.
pub const SESSION_COOKIE: &str = "auth_token";

/// The peer address of a request, set by the runtime as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Who is calling.
#[derive(Debug, Clone, Default)]
pub enum Caller {
    /// No gateway credential (allowed where none is required).
    #[default]
    Anonymous,
    /// A gateway API key.
    Key(Arc<ApiKeyRecord>),
    /// An admin logged in with the password (session cookie).
    Session,
}

impl Caller {
    /// The key whose policy applies, if any.
    pub fn key(&self) -> Option<&Arc<ApiKeyRecord>> {
        match self {
            Caller::Key(key) => Some(key),
            _ => None,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".into(),
            Caller::Key(key) => format!("key:{}", key.id),
            Caller::Session => "admin".into(),
        }
    }
}

/// The client's address: the runtime's peer address, or, behind `hops` trusted proxies (0:
/// trust none), the `X-Forwarded-For` entry the outermost trusted proxy appended.
///
/// Proxies append the address they saw to the right of what the client sent, so only the last
/// `hops` entries were written by someone we trust: the client controls everything left of
/// them. The entry `hops` places from the right is the address the outermost trusted proxy
/// saw, as nginx's `real_ip_recursive` finds it. A shorter list means every entry was written
/// by a trusted proxy, so the leftmost is taken. Several header lines count as one list, in
/// order. An entry that is not an address (`unknown`, garbage) falls back to the peer.
pub fn client_addr(parts: &Parts, hops: u32) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ClientAddr>().map(|a| a.0);
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let Some(index) = entries.len().checked_sub(1) else {
        return peer;
    };
    let chosen = entries[index.saturating_sub(hops as usize - 1)];
    parse_forwarded_addr(chosen).or(peer)
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:5678`.
fn parse_forwarded_addr(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).and_then(|e| e.parse().ok()))
}

/// The IP filter, before anything else.
pub fn check_ip(access: &AccessIndex, addr: Option<IpAddr>) -> Result<(), GatewayError> {
    match &access.ip_filter {
        Some(filter) if !filter.admits(addr) => Err(GatewayError::Forbidden("your address is not allowed".into())),
        _ => Ok(()),
    }
}

/// The credential an inference client sent: `Authorization: Bearer`, `x-api-key` (Anthropic),
/// `x-goog-api-key` or `?key=` (Gemini).
fn presented_key<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    header("authorization")
        .and_then(bearer)
        .or_else(|| header("x-api-key"))
        .or_else(|| header("x-goog-api-key"))
        .or_else(|| {
            query.and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("key="))).filter(|k| !k.is_empty())
        })
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// A key that exists must be usable: active and not expired.
fn usable(key: &Arc<ApiKeyRecord>, now_ms: u64) -> Result<Caller, GatewayError> {
    if !key.active {
        return Err(GatewayError::Unauthorized("this API key has been revoked".into()));
    }
    if key.expires_ms.is_some_and(|at| at <= now_ms) {
        return Err(GatewayError::Unauthorized("this API key has expired".into()));
    }
    Ok(Caller::Key(key.clone()))
}

/// Inference endpoints. With keys required, a valid gateway key must come; without, a gateway
/// key is used for its policy and attribution and any other credential is ignored (SDKs always
/// send one, often the provider's own).
pub fn inference(
    access: &AccessIndex,
    headers: &HeaderMap,
    query: Option<&str>,
    require_key: bool,
    now_ms: u64,
) -> Result<Caller, GatewayError> {
    let presented = presented_key(headers, query);
    match presented.and_then(|secret| access.key_for_secret(secret)) {
        Some(key) => usable(key, now_ms),
        None if require_key => Err(GatewayError::Unauthorized(match presented {
            Some(_) => "invalid API key".into(),
            None => "an API key is required: send it as a Bearer token (or x-api-key / x-goog-api-key)".into(),
        })),
        None => Ok(Caller::Anonymous),
    }
}

/// The `auth_token` cookie's value, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

/// The management API: a live session cookie or an admin key. A user key is refused (403); no
/// valid credential is a 401 unless login is switched off.
pub fn management(access: &AccessIndex, parts: &Parts, now_ms: u64) -> Result<Caller, GatewayError> {
    if let Some(token) = session_cookie(&parts.headers)
        && access.session_valid(token, now_ms)
    {
        check_origin(parts)?;
        return Ok(Caller::Session);
    }
    let presented = presented_key(&parts.headers, None);
    if let Some(key) = presented.and_then(|secret| access.key_for_secret(secret)) {
        let caller = usable(key, now_ms)?;
        if key.role != KeyRole::Admin {
            return Err(GatewayError::Forbidden("this API key may not use the management API".into()));
        }
        return Ok(caller);
    }
    if !access.security.require_login {
        return Ok(Caller::Anonymous);
    }
    Err(GatewayError::Unauthorized("log in (POST /api/auth/login) or send an admin API key".into()))
}

/// CSRF: a cookie-authenticated write must come from the gateway's own origin.
fn check_origin(parts: &Parts) -> Result<(), GatewayError> {
    match cross_site_write(parts) {
        Some(_) => Err(GatewayError::Forbidden("cross-site request refused".into())),
        None => Ok(()),
    }
}

/// A write a browser sends for a page of another origin, by that origin (`""` when only
/// `Sec-Fetch-Site` tells). Browsers send `Origin` (or at least `Sec-Fetch-Site`) on every
/// cross-site write; other clients send neither and cannot be driven by a third-party page.
fn cross_site_write(parts: &Parts) -> Option<&str> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = header("origin") {
        let host = header("host").or_else(|| parts.uri.authority().map(|a| a.as_str())).unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
        return (host.is_empty() || !origin_host.eq_ignore_ascii_case(host)).then_some(origin);
    }
    match header("sec-fetch-site") {
        Some("same-origin" | "none") | None => None,
        Some(_) => Some(""),
    }
}

/// Inference from a browser page of another origin runs only when CORS allows that origin. A
/// form or `text/plain` POST needs no preflight, so without this any web page could spend the
/// operator's provider keys through a gateway that requires no API key.
pub fn check_inference_origin(parts: &Parts, cors_origins: &[String]) -> Result<(), GatewayError> {
    let Some(origin) = cross_site_write(parts) else { return Ok(()) };
    let allowed = cors_origins.iter().any(|o| o == "*" || (!origin.is_empty() && o.eq_ignore_ascii_case(origin)));
    if allowed {
        return Ok(());
    }
    let shown = if origin.is_empty() { "another site" } else { origin };
    Err(GatewayError::Forbidden(format!(
        "a browser request from {shown} is refused: add the origin to the corsOrigins setting to allow it"
    )))
}

/// DNS rebinding: a page on `evil.example`, re-pointed at 127.0.0.1, reaches a gateway bound to
/// loopback with `Host: evil.example`. With an allowlist (`allowed`, host names without port;
/// a leading `.` allows subdomains), only the listed names get in. Empty: any host.
pub fn check_host(parts: &Parts, allowed: &[String]) -> Result<(), GatewayError> {
    if allowed.is_empty() || allowed.iter().any(|name| name == "*") {
        return Ok(());
    }
    let host =
        parts.uri.host().or_else(|| parts.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).map(host_name));
    // No host at all (HTTP/1.0): not a browser, which always sends one.
    let Some(host) = host else { return Ok(()) };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let listed = allowed.iter().any(|name| {
        let name = name.trim_start_matches('[').trim_end_matches(']');
        match name.strip_prefix('.') {
            // `app.localhost` under `.localhost`: a dot, then the domain, compared in place.
            Some(domain) => {
                host.len() > domain.len() + 1 && {
                    let (sub, tail) = host.split_at(host.len() - domain.len());
                    sub.ends_with('.') && tail.eq_ignore_ascii_case(domain)
                }
            }
            None => host.eq_ignore_ascii_case(name),
        }
    });
    if listed {
        return Ok(());
    }
    Err(GatewayError::Forbidden(format!(
        "this gateway does not answer to the host name `{host}` (set ALLOWED_HOSTS to add it)"
    )))
}

/// `example.com:8080` → `example.com`; `[::1]:8080` → `[::1]`. By hand rather than through
/// `http::uri::Authority`, whose parse copies the value: this runs on every request.
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_once(']').map_or(authority, |(name, _)| &authority[..name.len() + 1]);
    }
    authority.rsplit_once(':').map_or(authority, |(name, _)| name)
}

/// The host names a gateway bound to loopback answers to by default.
pub const LOOPBACK_HOSTS: [&str; 4] = ["localhost", ".localhost", "127.0.0.1", "::1"];

#[cfg(test)]
#[path = "guard_tests.rs"]
pub(crate) mod tests;
