//! Builds the HTTP request to a provider: URL shape, auth scheme, default headers.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};

use crate::config::{ResolvedConnection, ResolvedProvider};
use crate::error::GatewayError;
use crate::providers::AuthScheme;

/// The request for one attempt against one account.
pub fn build_request(
    provider: &ResolvedProvider,
    connection: &ResolvedConnection,
    path: &str,
    model: &str,
    body: Bytes,
    stream: bool,
) -> Result<http::Request<Bytes>, GatewayError> {
    let path = path.replace("{model}", model).replace("{api_version}", provider.api_version.as_deref().unwrap_or(""));
    let mut url = format!("{}{}", provider.base_url, path);
    let key = connection.api_key.as_deref();
    if let (AuthScheme::Query, Some(key)) = (provider.auth, key) {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("key=");
        url.push_str(&percent_encode(key));
    }
    let mut builder = http::Request::post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, if stream { "text/event-stream" } else { "application/json" });
    for (name, value) in &provider.headers {
        builder = builder.header(name.as_str(), value.as_str());
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
    builder.body(body).map_err(|_| {
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
            openai_chat_path: None,
            api_version: Some("2024-10-21".into()),
            models: vec![],
            connections: vec![],
        }
    }

    fn conn() -> ResolvedConnection {
        ResolvedConnection { id: "p:a".into(), name: "a".into(), api_key: Some("k+1".into()) }
    }

    #[test]
    fn each_auth_scheme_puts_the_key_in_its_place() {
        let req = build_request(
            &provider(AuthScheme::Bearer, "/chat/completions"),
            &conn(),
            "/chat/completions",
            "m",
            Bytes::new(),
            false,
        )
        .unwrap();
        assert_eq!(req.uri(), "https://example.com/v1/chat/completions");
        assert_eq!(req.headers()["authorization"], "Bearer k+1");
        assert_eq!(req.headers()["anthropic-version"], "2023-06-01");
        let req = build_request(
            &provider(AuthScheme::ApiKey, ""),
            &conn(),
            "/openai/deployments/{model}/chat/completions?api-version={api_version}",
            "gpt-4o",
            Bytes::new(),
            true,
        )
        .unwrap();
        assert_eq!(
            req.uri(),
            "https://example.com/v1/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(req.headers()["api-key"], "k+1");
        assert_eq!(req.headers()["accept"], "text/event-stream");
        let req = build_request(&provider(AuthScheme::Query, ""), &conn(), "/x", "m", Bytes::new(), false).unwrap();
        assert_eq!(req.uri(), "https://example.com/v1/x?key=k%2B1");
        assert!(req.headers().get("authorization").is_none());
    }
}
