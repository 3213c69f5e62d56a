//! The global system prompt, prepended: it goes before the client's own system prompt, which is
//! kept (agents and apps depend on theirs). Where the client's system prompt is one text, the
//! two are joined by a blank line; where it is a list of parts, ours is a part of its own.

use serde_json::{Value, json};

use crate::error::GatewayError;
use crate::hub::{ChatRequest, ContentBlock, Message, Role};
use crate::providers::WireFormat;
use crate::rewrite::raw_json::{RawObject, raw_array, raw_elements, raw_value};

/// Between the gateway's prompt and the client's.
pub const SEPARATOR: &str = "\n\n";

fn joined(prompt: &str, client: &str) -> String {
    format!("{prompt}{SEPARATOR}{client}")
}

/// Translated requests: into the hub's first system (or developer) message, else a new one.
pub fn prepend_to_hub(req: &mut ChatRequest, prompt: &str) {
    match req.messages.first_mut() {
        Some(first) if matches!(first.role, Role::System | Role::Developer) => match first.content.first_mut() {
            Some(ContentBlock::Text { text }) => *text = joined(prompt, text),
            _ => first.content.insert(0, ContentBlock::text(prompt)),
        },
        _ => req.messages.insert(
            0,
            Message {
                role: Role::System,
                content: vec![ContentBlock::text(prompt)],
                name: None,
                extra: Default::default(),
            },
        ),
    }
}

/// Passthrough bodies, in the format's own place for a system prompt.
pub fn prepend_to_body(format: WireFormat, body: &mut RawObject, prompt: &str) -> Result<(), GatewayError> {
    match format {
        WireFormat::OpenaiChat => prepend_to_messages(body, prompt, &["system", "developer"]),
        WireFormat::Ollama => prepend_to_messages(body, prompt, &["system"]),
        WireFormat::OpenaiResponses => match body.get("instructions") {
            Some(Value::String(own)) => body.set("instructions", &json!(joined(prompt, &own))),
            None => body.set("instructions", &json!(prompt)),
            // Not a string: the upstream says what is wrong with it.
            Some(_) => Ok(()),
        },
        WireFormat::Anthropic => match body.get("system") {
            Some(Value::String(own)) => body.set("system", &json!(joined(prompt, &own))),
            Some(Value::Array(mut blocks)) => {
                blocks.insert(0, json!({ "type": "text", "text": prompt }));
                body.set("system", &Value::Array(blocks))
            }
            None => body.set("system", &json!(prompt)),
            Some(_) => Ok(()),
        },
        WireFormat::Gemini => {
            let key = body.key_of(&["systemInstruction", "system_instruction"]).unwrap_or("systemInstruction");
            let part = json!({ "text": prompt });
            match body.get(key) {
                Some(Value::Object(mut content)) => {
                    let parts = match content.remove("parts") {
                        Some(Value::Array(mut parts)) => {
                            parts.insert(0, part);
                            parts
                        }
                        // The API takes a single part where it means a list of one.
                        Some(single @ Value::Object(_)) => vec![part, single],
                        _ => vec![part],
                    };
                    content.insert("parts".into(), Value::Array(parts));
                    body.set(key, &Value::Object(content))
                }
                None => body.set(key, &json!({ "parts": [part] })),
                Some(_) => Ok(()),
            }
        }
    }
}

/// OpenAI-style `messages`: merged into a leading system message, else a new one first.
fn prepend_to_messages(body: &mut RawObject, prompt: &str, system_roles: &[&str]) -> Result<(), GatewayError> {
    let Some(mut messages) = body.raw("messages").and_then(raw_elements) else {
        // Not an array: the request path refuses it before anything is sent.
        return Ok(());
    };
    let first: Option<Value> = messages.first().and_then(|m| serde_json::from_str(m.get()).ok());
    let merged = first.and_then(|mut first| {
        let role = first.get("role").and_then(Value::as_str)?;
        if !system_roles.contains(&role) {
            return None;
        }
        let content = match first.get_mut("content") {
            Some(Value::String(own)) => json!(joined(prompt, own)),
            Some(Value::Array(parts)) => {
                let mut parts = std::mem::take(parts);
                parts.insert(0, json!({ "type": "text", "text": prompt }));
                Value::Array(parts)
            }
            None | Some(Value::Null) => json!(prompt),
            Some(_) => return None,
        };
        first["content"] = content;
        Some(first)
    });
    match merged {
        Some(first) => messages[0] = raw_value(&first)?,
        None => messages.insert(0, raw_value(&json!({ "role": "system", "content": prompt }))?),
    }
    body.set_raw("messages", raw_array(&messages)?);
    Ok(())
}

#[cfg(test)]
#[path = "system_prompt_tests.rs"]
mod tests;
