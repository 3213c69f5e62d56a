//! The passthrough body edit: read just `model` and `stream` from an OpenAI chat body and
//! rewrite the model in place, leaving every other byte as the client sent it.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::GatewayError;

/// What the hot path needs from a chat body, borrowed from the bytes.
#[derive(Debug)]
pub struct ChatProbe {
    pub model: String,
    pub stream: bool,
    /// Byte range of the `model` value (quotes included) in the body.
    model_span: (usize, usize),
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
    stream: Option<serde_json::Value>,
}

/// Validates the JSON and finds `model`; a clear 400 for anything malformed.
pub fn probe(body: &[u8]) -> Result<ChatProbe, GatewayError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| GatewayError::InvalidRequest("request body is not valid UTF-8".into()))?;
    let probe: Probe<'_> = serde_json::from_str(text).map_err(|e| {
        GatewayError::InvalidRequest(if e.is_data() {
            "request body must be a JSON object with `model` and `messages`".to_owned()
        } else {
            format!("request body is not valid JSON: {e}")
        })
    })?;
    let raw_model = probe.model.ok_or_else(|| GatewayError::InvalidRequest("`model` is required".into()))?;
    let model: String = serde_json::from_str(raw_model.get())
        .map_err(|_| GatewayError::InvalidRequest("`model` must be a string".into()))?;
    if model.is_empty() {
        return Err(GatewayError::InvalidRequest("`model` must not be empty".into()));
    }
    match probe.messages {
        Some(messages) if messages.get().starts_with('[') => {}
        _ => return Err(GatewayError::InvalidRequest("`messages` is required and must be an array".into())),
    }
    let stream = match probe.stream {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(stream)) => stream,
        Some(_) => return Err(GatewayError::InvalidRequest("`stream` must be a boolean".into())),
    };
    // The raw value borrows from `text`, so its offset is its address minus the body's.
    let start = raw_model.get().as_ptr() as usize - text.as_ptr() as usize;
    Ok(ChatProbe { model, stream, model_span: (start, start + raw_model.get().len()) })
}

impl ChatProbe {
    /// The body with `model` replaced by `upstream_model`; nothing else changes.
    pub fn rewrite_model(&self, body: &Bytes, upstream_model: &str) -> Bytes {
        let (start, end) = self.model_span;
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

    #[test]
    fn rewrites_only_the_model() {
        let body = Bytes::from_static(br#"{ "messages":[{"role":"user","content":"\"model\": x"}],  "model" : "openai/gpt-4o", "x_unknown": {"model": 1}, "stream":true}"#);
        let probe = probe(&body).unwrap();
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
        assert_eq!(probe(&body).unwrap().model, "a/b");
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
            let err = probe(body).unwrap_err();
            assert_eq!(err.status(), 400, "{:?}", String::from_utf8_lossy(body));
        }
    }
}
