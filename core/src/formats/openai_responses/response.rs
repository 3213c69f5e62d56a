//! Responses `response` object ⇄ hub response. Output items map to blocks in order: message
//! parts → Text, `function_call` → ToolCall (a namespaced one by its flat name, and back), `reasoning` → Thinking (summary as text,
//! `encrypted_content` as signature); other items travel as `Unknown`. `status` and
//! `incomplete_details` carry the finish reason; a completed answer with calls is ToolCalls.

use bytes::Bytes;
use serde_json::{Value, json};

use super::request::{decode_part, decode_reasoning};
use super::{
    ITEM_FORMAT, PART_FORMAT, client_response_id, created_from_wire, finish_from_wire, finish_to_wire, item_id,
    usage_from_wire, usage_to_wire,
};
use crate::error::GatewayError;
use crate::formats::json_body::{unavailable, upstream_object};
use crate::hub::{ChatResponse, ContentBlock, FinishReason, Namespaces, Usage, flat_name};

/// Parses an upstream's Responses `response` object.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let value = Value::Object(upstream_object(body)?);
    let status = value.get("status").and_then(Value::as_str).unwrap_or("completed");
    if status == "failed" {
        let message = value.pointer("/error/message").and_then(Value::as_str).unwrap_or("no error message given");
        return Err(unavailable(format!("upstream response failed: {message}")));
    }
    let mut content = Vec::new();
    for item in value.get("output").and_then(Value::as_array).into_iter().flatten() {
        decode_output_item(item, &mut content);
    }
    let called_tools = content.iter().any(|b| matches!(b, ContentBlock::ToolCall { .. }));
    Ok(ChatResponse {
        id: value.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
        model: value.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
        created: created_from_wire(value.get("created_at")),
        content,
        finish_reason: Some(finish_of(&value, called_tools)),
        usage: value.get("usage").and_then(usage_from_wire),
        extra: Default::default(),
    })
}

/// One output item → hub blocks.
pub(crate) fn decode_output_item(item: &Value, out: &mut Vec<ContentBlock>) {
    match item.get("type").and_then(Value::as_str) {
        Some("message") => {
            out.extend(item.get("content").and_then(Value::as_array).into_iter().flatten().cloned().map(decode_part));
        }
        Some("function_call") => out.push(ContentBlock::ToolCall {
            id: item.get("call_id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            name: call_name(item),
            arguments: item.get("arguments").and_then(Value::as_str).unwrap_or("{}").to_owned(),
        }),
        Some("reasoning") => out.extend(decode_reasoning(item, true)),
        _ => out.push(ContentBlock::Unknown { format: ITEM_FORMAT.into(), value: item.clone() }),
    }
}

/// A `function_call` item's hub name: its `name`, or for a call to a namespaced function the
/// flat name Codex gives it (`namespace__name`).
pub(crate) fn call_name(item: &Value) -> String {
    let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
    match item.get("namespace").and_then(Value::as_str).filter(|ns| !ns.is_empty()) {
        Some(namespace) => flat_name(namespace, name),
        None => name.to_owned(),
    }
}

/// Writes a hub response as a Responses `response` object.
pub fn encode_response(resp: &ChatResponse) -> Bytes {
    encode_response_for(resp, &Namespaces::default())
}

/// Writes a hub response as a Responses `response` object for a client whose request had the
/// namespaced functions `names`: calls to them name their namespace again.
pub fn encode_response_for(resp: &ChatResponse, names: &Namespaces) -> Bytes {
    let id = client_response_id(&resp.id);
    let (status, incomplete) = finish_to_wire(resp.finish_reason.as_ref());
    let item_status = if status == "incomplete" { "incomplete" } else { "completed" };
    let mut output: Vec<Value> = Vec::new();
    let mut parts: Vec<Value> = Vec::new();
    let flush = |parts: &mut Vec<Value>, output: &mut Vec<Value>| {
        if !parts.is_empty() {
            let index = output.len();
            output.push(message_item(&item_id("msg", &id, index), item_status, std::mem::take(parts)));
        }
    };
    for block in &resp.content {
        let item = match block {
            ContentBlock::Text { text } => {
                parts.push(output_text(text));
                None
            }
            ContentBlock::Unknown { format, value } if format == PART_FORMAT => {
                parts.push(value.clone());
                None
            }
            ContentBlock::ToolCall { id: call_id, name, arguments } => {
                Some(("fc", function_call_item(call_id, name, arguments, names)))
            }
            ContentBlock::Thinking { text, signature } => Some(("rs", reasoning_item(text, signature.as_deref()))),
            ContentBlock::Unknown { format, value } if format == ITEM_FORMAT => Some(("", value.clone())),
            // Redacted thinking, media and other formats' parts have no place in `output`.
            _ => None,
        };
        if let Some((prefix, mut item)) = item {
            flush(&mut parts, &mut output);
            if !prefix.is_empty() {
                item["id"] = json!(item_id(prefix, &id, output.len()));
            }
            output.push(item);
        }
    }
    flush(&mut parts, &mut output);
    let body = response_object(&ResponseHead {
        id: &id,
        model: &resp.model,
        created: resp.created.unwrap_or(0),
        status,
        incomplete,
        error: Value::Null,
        output,
        usage: resp.usage.as_ref(),
    });
    Bytes::from(body.to_string())
}

/// An `output_text` part.
pub(crate) fn output_text(text: &str) -> Value {
    json!({ "type": "output_text", "text": text, "annotations": [] })
}

pub(crate) fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({ "type": "message", "id": id, "status": status, "role": "assistant", "content": content })
}

/// A finished `function_call` item; a call to a flattened namespace function names the function
/// and its `namespace` as the client's tools did.
pub(crate) fn function_call_item(call_id: &str, name: &str, arguments: &str, names: &Namespaces) -> Value {
    let mut item = json!({
        "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments, "status": "completed",
    });
    restore_namespace(&mut item, name, names);
    item
}

/// Names the namespace of a call to a flattened function (`namespace` and the function's own
/// `name`, as the Responses API writes such a call).
pub(crate) fn restore_namespace(item: &mut Value, flat: &str, names: &Namespaces) {
    if let Some((namespace, name)) = names.split(flat) {
        item["namespace"] = json!(namespace);
        item["name"] = json!(name);
    }
}

/// A reasoning output item for a client (the signature, if any, as `encrypted_content`).
pub(crate) fn reasoning_item(text: &str, signature: Option<&str>) -> Value {
    let summary = if text.is_empty() { json!([]) } else { json!([{ "type": "summary_text", "text": text }]) };
    let mut item = json!({ "type": "reasoning", "summary": summary });
    if let Some(signature) = signature {
        item["encrypted_content"] = json!(super::signature_for_client(signature));
    }
    item
}

/// What a `response` object says beyond the defaults.
pub(crate) struct ResponseHead<'a> {
    pub id: &'a str,
    pub model: &'a str,
    pub created: u64,
    pub status: &'a str,
    pub incomplete: Value,
    pub error: Value,
    pub output: Vec<Value>,
    pub usage: Option<&'a Usage>,
}

/// A full `response` object, with every field the SDK's `Response` model requires (request
/// echoes the gateway does not know are written as their defaults).
pub(crate) fn response_object(head: &ResponseHead<'_>) -> Value {
    json!({
        "id": head.id,
        "object": "response",
        "created_at": head.created,
        "status": head.status,
        "error": head.error,
        "incomplete_details": head.incomplete,
        "instructions": null,
        "max_output_tokens": null,
        "model": head.model,
        "output": head.output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": { "effort": null, "summary": null },
        "store": false,
        "temperature": null,
        "text": { "format": { "type": "text" } },
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": head.usage.map(usage_to_wire),
        "user": null,
        "metadata": {},
    })
}

/// The finish reason of a finished response object (stream terminal events carry one too).
pub(crate) fn finish_of(response: &Value, called_tools: bool) -> FinishReason {
    let status = response.get("status").and_then(Value::as_str).unwrap_or("completed");
    let called = called_tools
        || response
            .get("output")
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|i| i.get("type").and_then(Value::as_str) == Some("function_call")));
    finish_from_wire(status, response.pointer("/incomplete_details/reason").and_then(Value::as_str), called)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::openai_responses::SIGNATURE_PREFIX;
    use crate::formats::test_support::{assert_upstream_errors, fixture};

    const TEXT: &str = fixture!("openai_responses", "response_text.json");
    const TOOL: &str = fixture!("openai_responses", "response_tool_call.json");
    const REASONING: &str = fixture!("openai_responses", "response_reasoning.json");
    const INCOMPLETE: &str = fixture!("openai_responses", "response_incomplete.json");

    #[test]
    fn decodes_a_text_response() {
        let resp = decode_response(TEXT.as_bytes()).unwrap();
        assert_eq!(resp.id, "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b");
        assert_eq!(resp.model, "gpt-4.1-2025-04-14");
        assert_eq!(resp.created, Some(1741476542));
        assert!(matches!(&resp.content[..], [ContentBlock::Text { text }] if text.starts_with("In a peaceful grove")));
        assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            resp.usage,
            Some(Usage {
                input_tokens: 36,
                output_tokens: 87,
                cached_input_tokens: Some(0),
                cache_creation_tokens: None,
                reasoning_tokens: Some(0)
            })
        );
    }

    #[test]
    fn decodes_a_tool_call_response() {
        let resp = decode_response(TOOL.as_bytes()).unwrap();
        assert_eq!(
            resp.content,
            [ContentBlock::ToolCall {
                id: "call_unLAR8MvFNptuiZK6K6HCy5k".into(),
                name: "get_current_weather".into(),
                arguments: "{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}".into(),
            }]
        );
        assert_eq!(resp.finish_reason, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn decodes_a_reasoning_response() {
        let resp = decode_response(REASONING.as_bytes()).unwrap();
        assert_eq!(
            resp.content[0],
            ContentBlock::Thinking {
                text: "**Answering a simple question**\n\nI'm looking at a straightforward question: the capital of France is Paris.\n\n**Double-checking**\n\nNothing tricky here — Paris it is.".into(),
                signature: Some(format!("{SIGNATURE_PREFIX}gAAAAABodnAXEXAMPLEENCRYPTEDREASONING==")),
            }
        );
        assert_eq!(resp.content[1], ContentBlock::text("The capital of France is Paris."));
        assert_eq!(resp.usage.and_then(|u| u.reasoning_tokens), Some(128));
    }

    #[test]
    fn decodes_an_incomplete_response_as_length() {
        let resp = decode_response(INCOMPLETE.as_bytes()).unwrap();
        assert_eq!(resp.finish_reason, Some(FinishReason::Length));
        assert!(matches!(&resp.content[..], [ContentBlock::Text { .. }]));
    }

    #[test]
    fn decode_encode_decode_is_stable() {
        for body in [TEXT, TOOL, REASONING, INCOMPLETE] {
            let first = decode_response(body.as_bytes()).unwrap();
            assert_eq!(decode_response(&encode_response(&first)).unwrap(), first);
        }
    }

    #[test]
    fn encodes_what_the_sdk_requires() {
        let resp = decode_response(REASONING.as_bytes()).unwrap();
        let body: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
        for key in ["id", "created_at", "model", "object", "output", "parallel_tool_calls", "tool_choice", "tools"] {
            assert!(body.get(key).is_some(), "{key} is required by the SDK's Response model");
        }
        assert_eq!(body["object"], "response");
        assert_eq!(body["status"], "completed");
        let reasoning = &body["output"][0];
        assert_eq!(reasoning["type"], "reasoning");
        assert!(reasoning["id"].as_str().unwrap().starts_with("rs_"));
        assert_eq!(
            reasoning["encrypted_content"], "gAAAAABodnAXEXAMPLEENCRYPTEDREASONING==",
            "unmarked for the client"
        );
        let message = &body["output"][1];
        assert_eq!(message["type"], "message");
        assert_eq!(message["role"], "assistant");
        assert_eq!(
            message["content"][0],
            json!({ "type": "output_text", "text": "The capital of France is Paris.", "annotations": [] })
        );
        assert_eq!(body["usage"]["input_tokens_details"]["cached_tokens"], 0);
        assert_eq!(body["usage"]["output_tokens_details"]["reasoning_tokens"], 128);
        assert_eq!(body["usage"]["total_tokens"], 172);
    }

    #[test]
    fn encodes_another_formats_response() {
        let resp = ChatResponse {
            content: vec![
                ContentBlock::Thinking { text: "hmm".into(), signature: None },
                ContentBlock::RedactedThinking { data: "opaque".into() },
                ContentBlock::text("Calling."),
                ContentBlock::text(" Twice."),
                ContentBlock::ToolCall { id: "toolu_1".into(), name: "f".into(), arguments: "{}".into() },
                ContentBlock::ToolCall { id: "toolu_2".into(), name: "g".into(), arguments: "{\"a\":1}".into() },
            ],
            finish_reason: Some(FinishReason::ContentFilter),
            ..Default::default()
        };
        let body: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
        assert!(body["id"].as_str().unwrap().starts_with("resp_"), "an id is invented");
        assert_eq!(body["status"], "incomplete");
        assert_eq!(body["incomplete_details"]["reason"], "content_filter");
        let types: Vec<&str> = body["output"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["reasoning", "message", "function_call", "function_call"]);
        assert_eq!(body["output"][1]["content"].as_array().unwrap().len(), 2);
        assert_eq!(body["output"][3]["call_id"], "toolu_2");
        assert!(body["usage"].is_null());
        let back = decode_response(&encode_response(&resp)).unwrap();
        assert_eq!(back.finish_reason, Some(FinishReason::ContentFilter));
        assert_eq!(back.content.len(), 5, "only the redacted thinking has no place");
    }

    #[test]
    fn bad_or_failed_upstream_bodies_are_upstream_errors() {
        assert_upstream_errors(
            decode_response,
            &[(r#"{"id":"r","status":"failed","error":{"code":"server_error","message":"boom"}}"#, "boom")],
        );
    }
}
