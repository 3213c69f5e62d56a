//! CORS for browser clients of the inference endpoints (never the management API): the
//! origins in `SecuritySettings.cors_origins` (`*` for any; empty turns CORS off). Preflights
//! are answered before any credential check (browsers send none with them); answers to allowed
//! origins carry `Access-Control-Allow-Origin` and expose the gateway's own headers.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::Body;

/// Asked when a preflight names no headers: what the SDKs send.
const DEFAULT_HEADERS: &str = "authorization, content-type, x-api-key, x-goog-api-key, anthropic-version, anthropic-beta, \
     idempotency-key, x-request-id, x-session-id";
/// Response headers a browser script may read.
const EXPOSED: &str = "x-request-id, x-omniroute-provider, x-omniroute-model, x-omniroute-attempts, x-omniroute-cache, \
     x-omniroute-latency-ms, x-omniroute-tokens-in, x-omniroute-tokens-out, x-omniroute-response-cost, \
     x-omniroute-session-id, x-omniroute-idempotent, x-omniroute-dropped-tools, retry-after";
/// How long a browser may reuse a preflight answer (seconds).
const MAX_AGE: &str = "600";

/// The `Access-Control-Allow-Origin` value for this request, if its origin is allowed.
fn allowed_origin(origins: &[String], request: &HeaderMap) -> Option<HeaderValue> {
    let origin = request.get(ORIGIN)?;
    if origins.iter().any(|o| o == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    let text = origin.to_str().ok()?;
    origins.iter().any(|o| o.eq_ignore_ascii_case(text)).then(|| origin.clone())
}

/// Caches must keep answers per origin when the allowed origin is echoed.
fn vary_origin(origins: &[String], headers: &mut HeaderMap) {
    if !origins.is_empty() && !origins.iter().any(|o| o == "*") {
        headers.append(VARY, HeaderValue::from_static("origin"));
    }
}

/// `OPTIONS` on an inference path that takes `methods`: 204, with the CORS headers when the
/// origin is allowed.
pub fn preflight(origins: &[String], methods: &'static str, request: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(Body::Full(Default::default()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    let allow = HeaderValue::from_str(&format!("{methods}, OPTIONS")).unwrap_or(HeaderValue::from_static(methods));
    headers.insert(http::header::ALLOW, allow);
    vary_origin(origins, headers);
    if let Some(origin) = allowed_origin(origins, request) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
        // Whatever the browser asks to send (SDKs add their own `x-stainless-*` and the like).
        let asked = request.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned();
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.unwrap_or(HeaderValue::from_static(DEFAULT_HEADERS)));
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    }
    response
}

/// An inference answer (success or error) to a cross-origin request.
pub fn add_headers(origins: &[String], request: &HeaderMap, response: &mut HeaderMap) {
    vary_origin(origins, response);
    if let Some(origin) = allowed_origin(origins, request) {
        response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        response.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED));
    }
}

/// A configured origin, as stored: `*`, or `scheme://host[:port]` in lowercase.
pub fn normalize_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text == "*" {
        return Ok(text.to_owned());
    }
    let lower = text.trim_end_matches('/').to_ascii_lowercase();
    let (scheme, host) = lower.split_once("://").ok_or("must be `*` or an origin such as https://app.example.com")?;
    let scheme_ok = !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let host_ok =
        !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']) && host.chars().all(|c| c.is_ascii_graphic());
    if scheme_ok && host_ok {
        Ok(lower)
    } else {
        Err("must be `*` or an origin (scheme://host[:port], no path)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, origin.parse().unwrap());
        headers
    }

    #[test]
    fn listed_origins_are_echoed_and_others_get_nothing() {
        let origins = vec!["https://app.example.com".to_owned()];
        let ok = preflight(&origins, "POST", &request("https://APP.example.com"));
        assert_eq!(
            (
                ok.headers()[http::header::ALLOW].to_str().unwrap(),
                ok.headers()[ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap()
            ),
            ("POST, OPTIONS", "POST")
        );
        assert_eq!(ok.status(), 204);
        assert_eq!(ok.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "https://APP.example.com");
        assert_eq!(ok.headers()[VARY], "origin");
        assert!(ok.headers()[ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().contains("authorization"));
        let other = preflight(&origins, "POST", &request("https://evil.example"));
        assert!(other.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let mut response = HeaderMap::new();
        add_headers(&[], &request("https://app.example.com"), &mut response);
        assert!(response.is_empty(), "CORS off: nothing added");
    }

    #[test]
    fn a_star_allows_any_origin_and_asked_headers_are_echoed() {
        let mut asked = request("http://localhost:3000");
        asked.insert(ACCESS_CONTROL_REQUEST_HEADERS, "x-stainless-os, authorization".parse().unwrap());
        let ok = preflight(&["*".to_owned()], "GET", &asked);
        assert_eq!(ok.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(ok.headers()[ACCESS_CONTROL_ALLOW_HEADERS], "x-stainless-os, authorization");
        assert!(ok.headers().get(VARY).is_none());
    }

    #[test]
    fn origins_are_checked_and_normalized() {
        assert_eq!(normalize_origin("https://App.Example.com/").unwrap(), "https://app.example.com");
        assert_eq!(normalize_origin("http://localhost:3000").unwrap(), "http://localhost:3000");
        assert_eq!(normalize_origin("*").unwrap(), "*");
        for bad in ["app.example.com", "https://a.com/path", "https://", "https://a b.com", ""] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }
}
