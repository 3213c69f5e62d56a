use http::{HeaderMap, Method, Request};

use super::*;
use crate::auth::tokens::sha256_hex;
use crate::config::settings::{SecuritySettings, keys};
use crate::config::{AdminSession, StoredConfig};

const NOW: u64 = 1_800_000_000_000;

/// A key with no policy (other tests build on it).
pub(crate) fn key(id: &str, secret: &str, role: KeyRole) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        name: id.into(),
        prefix: secret[..4].into(),
        hash: sha256_hex(secret),
        role,
        created_ms: 0,
        expires_ms: None,
        active: true,
        allowed_models: vec![],
        allowed_providers: vec![],
        requests_per_minute: None,
        requests_per_day: None,
        no_log: false,
        no_cache: false,
        strict_parameters: false,
        budget: None,
    }
}

fn index(security: SecuritySettings) -> AccessIndex {
    let mut stored = StoredConfig {
        api_keys: vec![
            key("user", "sk-user", KeyRole::User),
            key("admin", "sk-admin", KeyRole::Admin),
            ApiKeyRecord { active: false, ..key("revoked", "sk-revoked", KeyRole::Admin) },
            ApiKeyRecord { expires_ms: Some(NOW - 1), ..key("expired", "sk-expired", KeyRole::User) },
        ],
        sessions: vec![
            AdminSession { token_hash: sha256_hex("live"), created_ms: 0, expires_ms: NOW + 1000 },
            AdminSession { token_hash: sha256_hex("old"), created_ms: 0, expires_ms: NOW - 1 },
        ],
        ..Default::default()
    };
    stored.settings.insert(keys::SECURITY.into(), serde_json::to_value(security).unwrap());
    AccessIndex::build(&stored)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    map
}

fn parts(method: Method, pairs: &[(&str, &str)]) -> Parts {
    let mut request = Request::builder().method(method).uri("/api/keys").body(()).unwrap();
    *request.headers_mut() = headers(pairs);
    request.into_parts().0
}

fn key_id(caller: Result<Caller, GatewayError>) -> String {
    match caller {
        Ok(Caller::Key(k)) => k.id.clone(),
        Ok(Caller::Session) => "session".into(),
        Ok(Caller::Anonymous) => "anonymous".into(),
        Err(e) => format!("{}", e.status().as_u16()),
    }
}

#[test]
fn inference_keys_wherever_each_sdk_sends_them() {
    let open = index(SecuritySettings::default());
    let run = |pairs: &[(&str, &str)], query: Option<&str>, required: bool| {
        key_id(inference(&open, &headers(pairs), query, required, NOW))
    };
    assert_eq!(run(&[], None, false), "anonymous");
    assert_eq!(run(&[], None, true), "401");
    assert_eq!(run(&[("authorization", "Bearer sk-user")], None, true), "user");
    assert_eq!(run(&[("authorization", "bearer   sk-user ")], None, true), "user");
    assert_eq!(run(&[("x-api-key", "sk-user")], None, true), "user");
    assert_eq!(run(&[("x-goog-api-key", "sk-user")], None, true), "user");
    assert_eq!(run(&[], Some("alt=sse&key=sk-user"), true), "user");
    // A provider's own key from an SDK is ignored unless keys are required.
    assert_eq!(run(&[("authorization", "Bearer sk-openai-123")], None, false), "anonymous");
    assert_eq!(run(&[("authorization", "Bearer sk-openai-123")], None, true), "401");
    // A gateway key that was revoked or expired is refused even when keys are optional.
    assert_eq!(run(&[("authorization", "Bearer sk-revoked")], None, false), "401");
    assert_eq!(run(&[("x-api-key", "sk-expired")], None, false), "401");
}

#[test]
fn management_needs_a_session_or_an_admin_key() {
    let rules = index(SecuritySettings::default());
    let run = |method: Method, pairs: &[(&str, &str)]| key_id(management(&rules, &parts(method, pairs), NOW));
    assert_eq!(run(Method::GET, &[]), "401");
    assert_eq!(run(Method::GET, &[("authorization", "Bearer nope")]), "401");
    assert_eq!(run(Method::GET, &[("authorization", "Bearer sk-user")]), "403", "wrong role");
    assert_eq!(run(Method::GET, &[("authorization", "Bearer sk-admin")]), "admin");
    assert_eq!(run(Method::GET, &[("authorization", "Bearer sk-revoked")]), "401");
    assert_eq!(run(Method::GET, &[("cookie", "theme=dark; auth_token=live")]), "session");
    assert_eq!(run(Method::GET, &[("cookie", "auth_token=old")]), "401", "expired session");
    assert_eq!(run(Method::GET, &[("cookie", "auth_token=forged")]), "401");

    let open = index(SecuritySettings { require_login: false, ..Default::default() });
    assert_eq!(key_id(management(&open, &parts(Method::POST, &[]), NOW)), "anonymous");
    assert_eq!(
        key_id(management(&open, &parts(Method::GET, &[("authorization", "Bearer sk-user")]), NOW)),
        "403",
        "a user key never gets in, even with login off"
    );
}

#[test]
fn cookie_writes_must_come_from_our_own_origin() {
    let rules = index(SecuritySettings::default());
    let run = |method: Method, pairs: &[(&str, &str)]| key_id(management(&rules, &parts(method, pairs), NOW));
    let cookie = ("cookie", "auth_token=live");
    let host = ("host", "gw.example.com:20128");
    assert_eq!(run(Method::POST, &[cookie, host, ("origin", "https://evil.example")]), "403");
    assert_eq!(run(Method::POST, &[cookie, host, ("origin", "http://gw.example.com:20128")]), "session");
    assert_eq!(run(Method::DELETE, &[cookie, host, ("sec-fetch-site", "cross-site")]), "403");
    assert_eq!(run(Method::PUT, &[cookie, host, ("sec-fetch-site", "same-origin")]), "session");
    assert_eq!(run(Method::POST, &[cookie, host]), "session", "non-browser clients send neither");
    assert_eq!(run(Method::GET, &[cookie, host, ("origin", "https://evil.example")]), "session", "reads are safe");
    // Admin keys are not ambient credentials: no Origin check.
    assert_eq!(run(Method::POST, &[("authorization", "Bearer sk-admin"), ("origin", "https://evil.example")]), "admin");
}

#[test]
fn ip_filter_and_forwarded_addresses() {
    let mut stored = StoredConfig::default();
    stored.settings.insert(
        keys::IP_FILTER.into(),
        serde_json::json!({"enabled": true, "allow": ["10.0.0.0/8"], "block": ["10.6.6.6"]}),
    );
    let rules = AccessIndex::build(&stored);
    let addr = |text: &str| Some(text.parse().unwrap());
    assert!(check_ip(&rules, addr("10.1.2.3")).is_ok());
    assert_eq!(check_ip(&rules, addr("10.6.6.6")).unwrap_err().status(), 403);
    assert_eq!(check_ip(&rules, addr("192.168.0.1")).unwrap_err().status(), 403);

    let parts = |forwarded: &[&str]| {
        let mut request = Request::builder().uri("/v1/models").body(()).unwrap();
        request.extensions_mut().insert(ClientAddr("127.0.0.1".parse().unwrap()));
        for value in forwarded {
            request.headers_mut().append("x-forwarded-for", value.parse().unwrap());
        }
        request.into_parts().0
    };
    // The client wrote 6.6.6.6; the one trusted proxy appended the address it saw.
    let spoofed = parts(&["6.6.6.6, 203.0.113.7"]);
    assert_eq!(client_addr(&spoofed, 0), addr("127.0.0.1"), "X-Forwarded-For is untrusted by default");
    assert_eq!(client_addr(&spoofed, 1), addr("203.0.113.7"), "the rightmost entry, not the client's");
    // Two trusted proxies (CDN, then a load balancer): the CDN's entry is second from the right.
    let chain = parts(&["6.6.6.6, 203.0.113.7", "198.51.100.2"]);
    assert_eq!(client_addr(&chain, 2), addr("203.0.113.7"), "header lines join in order");
    assert_eq!(client_addr(&parts(&["203.0.113.7"]), 3), addr("203.0.113.7"), "a shorter chain: the leftmost");
    assert_eq!(client_addr(&parts(&["203.0.113.7:4711"]), 1), addr("203.0.113.7"));
    assert_eq!(client_addr(&parts(&["[2001:db8::1]:4711"]), 1), addr("2001:db8::1"));
    assert_eq!(client_addr(&parts(&["unknown"]), 1), addr("127.0.0.1"), "garbage falls back to the peer");
    assert_eq!(client_addr(&parts(&[]), 1), addr("127.0.0.1"));
}

#[test]
fn browser_inference_from_another_origin_needs_cors() {
    let host = ("host", "127.0.0.1:20128");
    let check = |pairs: &[(&str, &str)], origins: &[&str]| {
        let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
        check_inference_origin(&parts(Method::POST, pairs), &origins).map_err(|e| e.status().as_u16())
    };
    // A text/plain form post from any web page: refused unless the operator allowed it.
    assert_eq!(check(&[host, ("origin", "https://evil.example")], &[]), Err(403));
    assert_eq!(check(&[host, ("sec-fetch-site", "cross-site")], &[]), Err(403));
    assert_eq!(check(&[host, ("origin", "https://app.example")], &["https://app.example"]), Ok(()));
    assert_eq!(check(&[host, ("origin", "https://evil.example")], &["https://app.example"]), Err(403));
    assert_eq!(check(&[host, ("origin", "https://evil.example")], &["*"]), Ok(()));
    // Our own pages, and the SDKs and agents (no Origin), are not browsers elsewhere.
    assert_eq!(check(&[host, ("origin", "http://127.0.0.1:20128")], &[]), Ok(()));
    assert_eq!(check(&[host], &[]), Ok(()));
    let get = check_inference_origin(&parts(Method::GET, &[host, ("origin", "https://evil.example")]), &[]);
    assert!(get.is_ok(), "a read has no effect and its answer is not readable cross-origin");
}

#[test]
fn a_loopback_gateway_answers_to_loopback_names_only() {
    let allowed: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect();
    let check = |host: &str, allowed: &[String]| {
        check_host(&parts(Method::POST, &[("host", host)]), allowed).map_err(|e| e.status().as_u16())
    };
    for host in ["127.0.0.1:20128", "localhost:20128", "LOCALHOST", "[::1]:20128", "app.localhost:3000"] {
        assert_eq!(check(host, &allowed), Ok(()), "{host}");
    }
    for host in ["evil.example", "evil.example:20128", "127.0.0.1.evil.example", "localhost.evil.example"] {
        assert_eq!(check(host, &allowed), Err(403), "{host}");
    }
    assert_eq!(check("evil.example", &[]), Ok(()), "no allowlist: any host");
    assert_eq!(check("evil.example", &["*".to_string()]), Ok(()));
    let no_host = Request::builder().method(Method::POST).uri("/v1/models").body(()).unwrap().into_parts().0;
    assert!(check_host(&no_host, &allowed).is_ok(), "HTTP/1.0 without Host is no browser");
}
