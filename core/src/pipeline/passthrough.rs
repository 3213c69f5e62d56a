//! The passthrough body edit: read just `model` and `stream` from a chat body (any format) and
//! rewrite the model in place, leaving every other byte as the client sent it.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::GatewayError;
use crate::pipeline::content_count::Conversation;
use crate::pipeline::endpoint::ChatEndpoint;
use crate::providers::WireFormat;
use crate::rewrite::RequestEdits;

/// What the hot path needs from a chat body, borrowed from the bytes.
#[derive(Debug)]
pub struct ChatProbe {
    pub model: String,
    pub stream: bool,
    /// Byte range of the `model` value (quotes included) in the body; none when the model
    /// is in the URL (Gemini).
    model_span: Option<(usize, usize)>,
    /// Messages (contents, items) and the content blocks (parts) inside them.
    pub items: usize,
    /// `store` (the Responses API keeps the response unless told `false`).
    pub store: bool,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    messages: Option<Conversation>,
    input: Option<Conversation>,
    contents: Option<Conversation>,
    stream: Option<serde_json::Value>,
    store: Option<serde_json::Value>,
}

/// Validates the JSON and finds `model` (body or URL) and `stream`; a clear 400 for
/// anything malformed.
pub fn probe(endpoint: &ChatEndpoint, body: &[u8]) -> Result<ChatProbe, GatewayError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| GatewayError::InvalidRequest("request body is not valid UTF-8".into()))?;
    let (required, must_be_array) = match endpoint.format {
        WireFormat::OpenaiResponses => ("input", false),
        WireFormat::Gemini => ("contents", true),
        _ => ("messages", true),
    };
    let probe: Probe<'_> = serde_json::from_str(text).map_err(|e| {
        GatewayError::InvalidRequest(if e.is_data() {
            format!("request body must be a JSON object with `{required}`")
        } else {
            format!("request body is not valid JSON: {e}")
        })
    })?;
    let content = match endpoint.format {
        WireFormat::OpenaiResponses => probe.input,
        WireFormat::Gemini => probe.contents,
        _ => probe.messages,
    };
    let items = match content {
        Some(value) if !must_be_array || value.is_array => value.items,
        _ if must_be_array => {
            return Err(GatewayError::InvalidRequest(format!("`{required}` is required and must be an array")));
        }
        _ => return Err(GatewayError::InvalidRequest(format!("`{required}` is required"))),
    };
    let (model, model_span) = match &endpoint.path_model {
        Some(model) => (model.clone(), None),
        None => {
            let raw = probe.model.ok_or_else(|| GatewayError::InvalidRequest("`model` is required".into()))?;
            let model: String = serde_json::from_str(raw.get())
                .map_err(|_| GatewayError::InvalidRequest("`model` must be a string".into()))?;
            // The raw value borrows from `text`, so its offset is its address minus the body's.
            let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            (model, Some((start, start + raw.get().len())))
        }
    };
    if model.is_empty() {
        return Err(GatewayError::InvalidRequest("`model` must not be empty".into()));
    }
    // Ollama streams unless told not to; the others only when asked.
    let default_stream = endpoint.format == WireFormat::Ollama;
    let stream = match (endpoint.path_stream, probe.stream) {
        (Some(stream), _) => stream,
        (None, None | Some(serde_json::Value::Null)) => default_stream,
        (None, Some(serde_json::Value::Bool(stream))) => stream,
        (None, Some(_)) => return Err(GatewayError::InvalidRequest("`stream` must be a boolean".into())),
    };
    // Only an explicit `false` turns storing off, as the Responses API reads it.
    let store = match probe.store {
        Some(serde_json::Value::Bool(store)) => store,
        None | Some(serde_json::Value::Null) => true,
        Some(_) if endpoint.format == WireFormat::OpenaiResponses => {
            return Err(GatewayError::InvalidRequest("`store` must be a boolean".into()));
        }
        Some(_) => true,
    };
    Ok(ChatProbe { model, stream, model_span, items, store })
}

/// The body with the settings' edits (system prompt, thinking budget) in its own format, and
/// its probe (the model's place moved with the edit).
pub fn edited(endpoint: &ChatEndpoint, edits: &RequestEdits, body: &Bytes) -> Result<(Bytes, ChatProbe), GatewayError> {
    let edited = edits.apply_to_body(endpoint.format, body)?;
    let probed = probe(endpoint, &edited)?;
    Ok((edited, probed))
}

impl ChatProbe {
    /// Refuses a conversation of more than `max_items` messages and content blocks before
    /// anything expands it (see [`crate::pipeline::content_count`]).
    pub fn check_items(&self, max_items: usize) -> Result<(), GatewayError> {
        if self.items > max_items {
            return Err(GatewayError::InvalidRequest(format!(
                "the conversation has {} messages and content blocks; this gateway accepts at most {max_items} \
                 ([limits] max_message_items)",
                self.items
            )));
        }
        Ok(())
    }

    /// The body with `model` replaced by `upstream_model`; nothing else changes.
    pub fn rewrite_model(&self, body: &Bytes, upstream_model: &str) -> Bytes {
        let Some((start, end)) = self.model_span else { return body.clone() };
        let quoted = serde_json::Value::String(upstream_model.to_owned()).to_string();
        let mut out = BytesMut::with_capacity(body.len() + quoted.len());
        out.extend_from_slice(&body[..start]);
        out.extend_from_slice(quoted.as_bytes());
        out.extend_from_slice(&body[end..]);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openai() -> ChatEndpoint {
        ChatEndpoint {
            format: WireFormat::OpenaiChat,
            path_model: None,
            path_stream: None,
            framing: Default::default(),
            provider: None,
        }
    }

    #[test]
    fn rewrites_only_the_model() {
        let body = Bytes::from_static(br#"{ "messages":[{"role":"user","content":"\"model\": x"}],  "model" : "openai/gpt-4o", "x_unknown": {"model": 1}, "stream":true}"#);
        let probe = probe(&openai(), &body).unwrap();
        assert_eq!(probe.model, "openai/gpt-4o");
        assert!(probe.stream);
        let out = probe.rewrite_model(&body, "gpt-4o");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{ "messages":[{"role":"user","content":"\"model\": x"}],  "model" : "gpt-4o", "x_unknown": {"model": 1}, "stream":true}"#
        );
    }

    #[test]
    fn escaped_model_names_decode() {
        let body = Bytes::from_static(br#"{"model":"a\/b","messages":[]}"#);
        assert_eq!(probe(&openai(), &body).unwrap().model, "a/b");
    }

    #[test]
    fn malformed_bodies_are_400s() {
        for body in [
            &b"{"[..],
            b"[1]",
            b"{\"messages\":[]}",
            b"{\"model\":3,\"messages\":[]}",
            b"{\"model\":\"a/b\"}",
            b"{\"model\":\"a/b\",\"messages\":[],\"stream\":\"yes\"}",
            b"\xff",
        ] {
            let err = probe(&openai(), body).unwrap_err();
            assert_eq!(err.status(), 400, "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn each_format_has_its_content_field_and_stream_default() {
        let endpoint = |format| ChatEndpoint { format, ..openai() };
        let ollama = probe(&endpoint(WireFormat::Ollama), br#"{"model":"m","messages":[]}"#).unwrap();
        assert!(ollama.stream, "Ollama streams by default");
        let responses = probe(&endpoint(WireFormat::OpenaiResponses), br#"{"model":"m","input":"hi"}"#).unwrap();
        assert!(!responses.stream);
        assert!(probe(&endpoint(WireFormat::OpenaiResponses), br#"{"model":"m"}"#).is_err());
        let gemini = ChatEndpoint {
            format: WireFormat::Gemini,
            path_model: Some("g/m".into()),
            path_stream: Some(true),
            framing: Default::default(),
            provider: None,
        };
        let body = Bytes::from_static(br#"{"contents":[]}"#);
        let probed = probe(&gemini, &body).unwrap();
        assert_eq!((probed.model.as_str(), probed.stream), ("g/m", true));
        assert_eq!(probed.rewrite_model(&body, "m"), body);
    }
}
