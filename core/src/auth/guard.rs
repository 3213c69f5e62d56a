//! Access rules, checked before a request reaches its endpoint: the IP filter; gateway API keys
//! on the inference endpoints (wherever each SDK puts them); a login session or an admin key on
//! the management API, with an Origin check on cookie-authenticated writes.

use std::net::IpAddr;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, Method};

use crate::auth::access::AccessIndex;
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

/// The client's address: the runtime's peer address, or the first `X-Forwarded-For` hop when
/// the settings say a trusted proxy sets it.
pub fn client_addr(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(first) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return Some(first);
    }
    parts.extensions.get::<ClientAddr>().map(|a| a.0)
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

/// CSRF: a cookie-authenticated write must come from the gateway's own origin. Browsers send
/// `Origin` (or at least `Sec-Fetch-Site`) on every cross-site write; other clients send neither
/// and cannot be driven by a third-party page.
fn check_origin(parts: &Parts) -> Result<(), GatewayError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let refused = || Err(GatewayError::Forbidden("cross-site request refused".into()));
    if let Some(origin) = header("origin") {
        let host = header("host").unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
        return if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) { Ok(()) } else { refused() };
    }
    match header("sec-fetch-site") {
        Some("same-origin" | "none") | None => Ok(()),
        Some(_) => refused(),
    }
}

#[cfg(test)]
#[path = "guard_tests.rs"]
pub(crate) mod tests;
