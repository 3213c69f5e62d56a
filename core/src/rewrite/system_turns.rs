//! An Anthropic body passed through with system turns inside `messages` (Claude Code sends its
//! environment so): the turns move, in order, to the end of the top-level `system`, because
//! Anthropic's models before Opus 4.8 refuse them (`role 'system' is not supported on this
//! model`). Only such bodies are parsed (the probe notices them while it counts the
//! conversation); every other field keeps its bytes, and so does every other message.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::raw_json::{RawObject, raw_array, raw_elements};
use crate::error::GatewayError;

/// Just a message's role, borrowed from the body when it has no escapes.
#[derive(Deserialize)]
struct RoleOnly<'a> {
    #[serde(borrow)]
    role: Option<Cow<'a, str>>,
}

/// The body with its `system` messages removed from `messages` and their text blocks appended to
/// `system` (a string `system` becomes a text block first); the body as it was when there is
/// nothing to move or `system` is neither a string nor blocks (the upstream says what is wrong).
pub fn lift_into_system(body: &[u8]) -> Result<Bytes, GatewayError> {
    let unchanged = || Ok(Bytes::copy_from_slice(body));
    let mut object = RawObject::parse(body)?;
    let Some(messages) = object.raw("messages").and_then(raw_elements) else { return unchanged() };
    let mut kept = Vec::with_capacity(messages.len());
    let mut lifted: Vec<Value> = Vec::new();
    let mut moved = false;
    for message in messages {
        let role = serde_json::from_str::<RoleOnly<'_>>(message.get()).ok().and_then(|m| m.role);
        if role.as_deref() != Some("system") {
            kept.push(message);
            continue;
        }
        moved = true;
        let message: Value = serde_json::from_str(message.get())
            .map_err(|e| GatewayError::InvalidRequest(format!("a system message is not valid JSON: {e}")))?;
        match message.get("content") {
            Some(Value::String(text)) => lifted.push(json!({ "type": "text", "text": text })),
            // Blocks as they came, `cache_control` included.
            Some(Value::Array(blocks)) => lifted.extend(blocks.iter().cloned()),
            _ => {}
        }
    }
    if !moved {
        return unchanged();
    }
    // Anthropic refuses empty text blocks.
    lifted.retain(|b| b.get("type").and_then(Value::as_str) != Some("text") || b["text"] != "");
    let system = match object.get("system") {
        None if lifted.is_empty() => None,
        None => Some(Value::Array(lifted)),
        Some(Value::String(own)) => {
            let mut blocks = vec![json!({ "type": "text", "text": own })];
            blocks.extend(lifted);
            Some(Value::Array(blocks))
        }
        Some(Value::Array(mut blocks)) => {
            blocks.extend(lifted);
            Some(Value::Array(blocks))
        }
        Some(_) => return unchanged(),
    };
    object.set_raw("messages", raw_array(&kept)?);
    if let Some(system) = system {
        object.set("system", &system)?;
    }
    Ok(object.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lift(body: &str) -> Value {
        serde_json::from_slice(&lift_into_system(body.as_bytes()).unwrap()).unwrap()
    }

    /// Claude Code's shape: its environment as a system turn right after the first user turn.
    #[test]
    fn system_turns_join_the_system_prompt_in_order() {
        let body = r#"{"model":"claude","system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
            "messages":[{"role":"user","content":"hi"},
                        {"role":"system","content":"<env>cwd: /tmp</env>"},
                        {"role":"assistant","content":"hello"},
                        {"role":"system","content":[{"type":"text","text":"Be brief."},{"type":"text","text":""}]},
                        {"role":"user","content":"go"}],
            "max_tokens":32000}"#;
        let out = lift(body);
        assert_eq!(
            out["system"],
            json!([
                {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "<env>cwd: /tmp</env>"},
                {"type": "text", "text": "Be brief."}
            ])
        );
        let roles: Vec<&str> =
            out["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(out["max_tokens"], 32000);
    }

    #[test]
    fn a_string_system_prompt_becomes_the_first_block_and_untouched_bytes_stay() {
        let out = lift(r#"{"system":"S","messages":[{"role":"system","content":"T"},{"role":"user","content":"u"}]}"#);
        assert_eq!(out["system"], json!([{"type": "text", "text": "S"}, {"type": "text", "text": "T"}]));
        let out = lift(r#"{"messages":[{"role":"user","content":"u"},{"role":"system","content":"T"}]}"#);
        assert_eq!(out["system"], json!([{"type": "text", "text": "T"}]));
        let body = r#"{"model":"m",  "messages":[{"role":"user","content":"1.0e2"}]}"#;
        assert_eq!(lift_into_system(body.as_bytes()).unwrap(), body.as_bytes(), "nothing to move: the same bytes");
    }
}
