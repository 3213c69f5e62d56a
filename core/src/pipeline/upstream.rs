//! Builds the HTTP requests to a provider (chat calls, model lists): URL shape, auth scheme,
//! default headers.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};

use crate::error::GatewayError;
use crate::pipeline::dispatch::Call;
use crate::providers::AuthScheme;
use crate::snapshot::{ResolvedConnection, ResolvedProvider};

/// The request for one attempt against one account.
pub fn build_request(call: &Call<'_>, connection: &ResolvedConnection) -> Result<http::Request<Bytes>, GatewayError> {
    let accept = if call.stream { "text/event-stream" } else { "application/json" };
    let path = call.path.replace("{model}", call.model);
    upstream_request(call.provider, connection, &path, accept, call.headers, Some(call.body.clone()))
}

/// A `GET` of `path` under the provider's base URL, with its auth and headers (model lists).
pub fn build_get(
    provider: &ResolvedProvider,
    connection: &ResolvedConnection,
    path: &str,
) -> Result<http::Request<Bytes>, GatewayError> {
    upstream_request(provider, connection, path, "application/json", &[], None)
}

/// `POST` with `body`, else `GET`: the base URL and path (`{api_version}` filled in), the
/// key where the provider's auth scheme puts it, its default headers, then `extra` ones.
fn upstream_request(
    provider: &ResolvedProvider,
    connection: &ResolvedConnection,
    path: &str,
    accept: &'static str,
    extra: &[(HeaderName, HeaderValue)],
    body: Option<Bytes>,
) -> Result<http::Request<Bytes>, GatewayError> {
    let path = path.replace("{api_version}", provider.api_version.as_deref().unwrap_or(""));
    let mut url = format!("{}{}", provider.base_url, path);
    let key = connection.api_key.as_deref();
    if let (AuthScheme::Query, Some(key)) = (provider.auth, key) {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("key=");
        url.push_str(&percent_encode(key));
    }
    let mut builder = match body {
        Some(_) => http::Request::post(url).header(CONTENT_TYPE, "application/json"),
        None => http::Request::get(url),
    };
    builder = builder.header(ACCEPT, accept);
    for (name, value) in &provider.headers {
        if !extra.iter().any(|(client, _)| client.as_str().eq_ignore_ascii_case(name)) {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    for (name, value) in extra {
        builder = builder.header(name, value);
    }
    if let Some(key) = key {
        let (name, value) = match provider.auth {
            AuthScheme::Bearer => ("authorization", format!("Bearer {key}")),
            AuthScheme::XApiKey => ("x-api-key", key.to_owned()),
            AuthScheme::XGoogApiKey => ("x-goog-api-key", key.to_owned()),
            AuthScheme::ApiKey => ("api-key", key.to_owned()),
            AuthScheme::Query | AuthScheme::None => ("", String::new()),
        };
        if !name.is_empty() {
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                GatewayError::InvalidRequest(format!(
                    "the API key of account '{}' contains characters not allowed in a header",
                    connection.id
                ))
            })?;
            value.set_sensitive(true);
            builder = builder.header(HeaderName::from_static(name), value);
        }
    }
    // Header names/values come from config, validated when the request is built.
    builder.body(body.unwrap_or_default()).map_err(|_| {
        GatewayError::InvalidRequest(format!("provider '{}' has an invalid base URL or header", provider.id))
    })
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::WireFormat;

    fn provider(auth: AuthScheme, chat_path: &str) -> ResolvedProvider {
        ResolvedProvider {
            id: "p".into(),
            name: "P".into(),
            format: WireFormat::OpenaiChat,
            base_url: "https://example.com/v1".into(),
            auth,
            headers: vec![("anthropic-version".into(), "2023-06-01".into())],
            chat_path: chat_path.into(),
            stream_chat_path: None,
            api_version: Some("2024-10-21".into()),
            models_path: None,
            models: vec![],
            hidden_models: vec![],
            discovers: false,
            discovered_models: vec![],
            connections: vec![],
            selection: Default::default(),
            sticky_window: 1,
            timeouts: Default::default(),
        }
    }

    fn conn() -> ResolvedConnection {
        ResolvedConnection { id: "p:a".into(), name: "a".into(), api_key: Some("k+1".into()) }
    }

    fn build(auth: AuthScheme, path: &str, model: &str, stream: bool) -> http::Request<Bytes> {
        let provider = provider(auth, path);
        let call = Call {
            provider: &provider,
            path,
            model,
            body: Bytes::new(),
            headers: &[],
            stream,
            first_byte_timeout: std::time::Duration::from_secs(1),
            max_response_bytes: 1,
        };
        build_request(&call, &conn()).unwrap()
    }

    #[test]
    fn each_auth_scheme_puts_the_key_in_its_place() {
        let req = build(AuthScheme::Bearer, "/chat/completions", "m", false);
        assert_eq!(req.uri(), "https://example.com/v1/chat/completions");
        assert_eq!(req.headers()["authorization"], "Bearer k+1");
        assert_eq!(req.headers()["anthropic-version"], "2023-06-01");
        let req = build(
            AuthScheme::ApiKey,
            "/openai/deployments/{model}/chat/completions?api-version={api_version}",
            "gpt-4o",
            true,
        );
        assert_eq!(
            req.uri(),
            "https://example.com/v1/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(req.headers()["api-key"], "k+1");
        assert_eq!(req.headers()["accept"], "text/event-stream");
        let req = build(AuthScheme::Query, "/x", "m", false);
        assert_eq!(req.uri(), "https://example.com/v1/x?key=k%2B1");
        assert!(req.headers().get("authorization").is_none());
    }

    #[test]
    fn client_headers_override_the_providers_defaults() {
        let provider = provider(AuthScheme::XApiKey, "/messages");
        let headers = [(http::HeaderName::from_static("anthropic-version"), HeaderValue::from_static("2024-01-01"))];
        let call = Call {
            provider: &provider,
            path: "/messages",
            model: "m",
            body: Bytes::new(),
            headers: &headers,
            stream: false,
            first_byte_timeout: std::time::Duration::from_secs(1),
            max_response_bytes: 1,
        };
        let req = build_request(&call, &conn()).unwrap();
        assert_eq!(req.headers().get_all("anthropic-version").iter().collect::<Vec<_>>(), ["2024-01-01"]);
        assert_eq!(req.headers()["x-api-key"], "k+1");
    }
}
