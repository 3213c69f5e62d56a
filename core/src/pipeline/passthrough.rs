//! The passthrough body edit: read just `model` and `stream` from a chat body (any format) and
//! rewrite the model in place, leaving every other byte as the client sent it. A body that needs
//! more (the settings' edits, or an Anthropic body with system turns inside `messages`, which
//! the probe notices while it counts the conversation) is edited once, in its own format.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::GatewayError;
use crate::pipeline::content_count::Conversation;
use crate::pipeline::endpoint::ChatEndpoint;
use crate::providers::WireFormat;
use crate::rewrite::{RequestEdits, system_turns};

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
    /// A message of the conversation has the role `system`.
    pub system_turns: bool,
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
    let (items, system_turns) = match content {
        Some(value) if !must_be_array || value.is_array => (value.items, value.system_turns),
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
    Ok(ChatProbe { model, stream, model_span, items, system_turns, store })
}

/// Whether a body must be edited before it passes through: the settings' edits are on, or it
/// is an Anthropic body with system turns inside `messages`, which Anthropic's API refuses
/// (models before Opus 4.8: `role 'system' is not supported on this model`).
pub fn needs_edit(endpoint: &ChatEndpoint, edits: &RequestEdits, probe: &ChatProbe) -> bool {
    edits.is_active() || lifts_system_turns(endpoint, probe)
}

fn lifts_system_turns(endpoint: &ChatEndpoint, probe: &ChatProbe) -> bool {
    endpoint.format == WireFormat::Anthropic && probe.system_turns
}

/// The body with its system turns moved into `system` (Anthropic) and the settings' edits
/// (system prompt, thinking budget), in its own format, and its probe (the model's place moved
/// with the edit).
pub fn edited(
    endpoint: &ChatEndpoint,
    edits: &RequestEdits,
    probe_of_body: &ChatProbe,
    body: &Bytes,
) -> Result<(Bytes, ChatProbe), GatewayError> {
    let lifted;
    let body = if lifts_system_turns(endpoint, probe_of_body) {
        lifted = system_turns::lift_into_system(body)?;
        &lifted
    } else {
        body
    };
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

    /// Claude Code's body: a system turn at `messages[1]`. Only an Anthropic body with system
    /// turns is edited (Anthropic refuses them); every other body passes as it came.
    #[test]
    fn anthropic_system_turns_are_lifted_only_when_there_are_some() {
        let anthropic = ChatEndpoint { format: WireFormat::Anthropic, ..openai() };
        let edits = RequestEdits::default();
        assert!(!edits.is_active());
        let body = Bytes::from_static(
            br#"{"model":"anthropic/claude","system":"S","messages":[{"role":"user","content":"hi"},{"role":"system","content":"env"}],"max_tokens":5}"#,
        );
        let probed = probe(&anthropic, &body).unwrap();
        assert!(probed.system_turns && needs_edit(&anthropic, &edits, &probed));
        let (fixed, reprobed) = edited(&anthropic, &edits, &probed, &body).unwrap();
        assert!(!reprobed.system_turns);
        let sent: serde_json::Value = serde_json::from_slice(&reprobed.rewrite_model(&fixed, "claude")).unwrap();
        assert_eq!(sent["model"], "claude");
        assert_eq!(sent["system"], serde_json::json!([{"type": "text", "text": "S"}, {"type": "text", "text": "env"}]));
        assert_eq!(sent["messages"], serde_json::json!([{"role": "user", "content": "hi"}]));

        let chat = probe(&openai(), &body).unwrap();
        assert!(chat.system_turns && !needs_edit(&openai(), &edits, &chat), "OpenAI chat takes system turns");
        let plain = Bytes::from_static(br#"{"model":"a/c","messages":[{"role":"user","content":"system"}]}"#);
        assert!(!needs_edit(&anthropic, &edits, &probe(&anthropic, &plain).unwrap()));
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
