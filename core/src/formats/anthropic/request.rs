//! Anthropic Messages request ⇄ hub request: system prompt, turns, thinking, sampling, metadata
//! (tools and tool choice in `tools.rs`). Unknown top-level fields go to `extra`; only
//! Anthropic-native ones are written back, since Anthropic rejects fields it does not know.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::content::{decode_block, decode_messages, encode_messages};
use super::tools::{decode_tools, encode_tools};
use crate::error::GatewayError;
use crate::formats::json_body::{client_object, invalid, string_list, take_f64, take_model, take_u64};
use crate::hub::{ChatRequest, ContentBlock, Message, ReasoningOptions, Role, ToolChoice, effort_budget};

/// `max_tokens` is required by Anthropic; this is sent when the hub request has none.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;

/// Top-level fields Anthropic has that the hub does not model; written back when present.
const NATIVE_EXTRAS: &[&str] =
    &["container", "context_management", "mcp_servers", "output_config", "output_format", "service_tier"];

/// Parses an Anthropic Messages request body (also a `count_tokens` body, which has no
/// `max_tokens`) into the hub.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let mut obj = client_object(body)?;
    let model = take_model(&mut obj)?;
    let mut messages = match obj.remove("system") {
        None | Some(Value::Null) => Vec::new(),
        Some(system) => vec![decode_system(system)?],
    };
    match obj.remove("messages") {
        Some(Value::Array(wire)) => messages.extend(decode_messages(wire)?),
        _ => return Err(invalid("`messages` is required and must be an array")),
    }
    let mut req = ChatRequest { model, messages, ..Default::default() };
    decode_tools(&mut obj, &mut req)?;
    let s = &mut req.sampling;
    s.max_tokens = take_u64(&mut obj, "max_tokens")?;
    s.temperature = take_f64(&mut obj, "temperature")?;
    s.top_p = take_f64(&mut obj, "top_p")?;
    s.top_k = take_u64(&mut obj, "top_k")?;
    s.stop = string_list(obj.remove("stop_sequences"), "stop_sequences")?;
    req.reasoning = decode_thinking(obj.remove("thinking"), obj.get("output_config"))?;
    req.user = match obj.remove("metadata") {
        Some(metadata) => metadata.get("user_id").and_then(Value::as_str).map(str::to_owned),
        None => None,
    };
    req.stream = match obj.remove("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => stream,
        Some(_) => return Err(invalid("`stream` must be a boolean")),
    };
    // An Anthropic stream always reports usage, so the client expects it.
    req.stream_usage = req.stream;
    req.extra.extend(obj);
    Ok(req)
}

/// `system` is a string or an array of text blocks (their `cache_control` is not kept).
fn decode_system(system: Value) -> Result<Message, GatewayError> {
    let content = match system {
        Value::String(text) => vec![ContentBlock::Text { text }],
        Value::Array(blocks) => blocks
            .into_iter()
            .map(|block| match decode_block(block) {
                text @ ContentBlock::Text { .. } => Ok(text),
                _ => Err(invalid("`system` blocks must be text blocks")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid("`system` must be a string or an array of text blocks")),
    };
    Ok(Message { role: Role::System, content, name: None, extra: Default::default() })
}

/// `{"type":"enabled","budget_tokens":N}` → a budget; `{"type":"adaptive"}` → the effort in
/// `output_config.effort`, if any; `disabled` → none.
fn decode_thinking(
    thinking: Option<Value>,
    output_config: Option<&Value>,
) -> Result<Option<ReasoningOptions>, GatewayError> {
    let Some(thinking) = thinking.filter(|t| !t.is_null()) else {
        return Ok(None);
    };
    Ok(match thinking.get("type").and_then(Value::as_str) {
        Some("enabled") => Some(ReasoningOptions {
            effort: None,
            budget_tokens: Some(
                thinking
                    .get("budget_tokens")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| invalid("`thinking.budget_tokens` is required when thinking is enabled"))?,
            ),
        }),
        Some("adaptive") => Some(ReasoningOptions {
            effort: output_config.and_then(|c| c.get("effort")).and_then(Value::as_str).map(str::to_owned),
            budget_tokens: None,
        }),
        Some("disabled") => None,
        _ => return Err(invalid("`thinking.type` must be one of enabled, adaptive, disabled")),
    })
}

/// With thinking on, Anthropic requires the last assistant turn that calls tools to start with
/// its (signed) thinking block; history from another format cannot have one.
fn last_tool_turn_lacks_thinking(messages: &[Value]) -> bool {
    let Some(Value::Array(blocks)) =
        messages.iter().rev().find(|m| m["role"] == "assistant").and_then(|m| m.get("content"))
    else {
        return false;
    };
    let kind = |block: &Value| block.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    blocks.iter().any(|b| kind(b) == "tool_use")
        && !blocks.first().is_some_and(|b| matches!(kind(b).as_str(), "thinking" | "redacted_thinking"))
}

/// Writes a hub request as an Anthropic Messages request body.
///
/// Beyond the plain field mapping:
/// - `max_tokens` defaults to [`DEFAULT_MAX_TOKENS`] (raised above the thinking budget when
///   only the budget is known); `temperature` is clamped to Anthropic's 0–1.
/// - Thinking: `budget_tokens` as given, else from the effort (minimal 1024, low 2048, medium
///   8192, high 16384, xhigh 32000; `none` turns it off); kept below `max_tokens`, and dropped
///   when that leaves less than 1024 tokens, when a tool is forced (Anthropic rejects forced
///   tool use with thinking) or when the last assistant turn calls tools without a signed
///   thinking block first (history from another format; Anthropic rejects that too). With thinking on, `temperature` (unless 1) and `top_k` are
///   dropped and `top_p` is raised to at least 0.95, as Anthropic requires.
/// - Dropped, having no Anthropic equivalent: `response_format` (JSON mode and JSON schema),
///   `seed`, presence/frequency penalties, `stream_usage` (always on), tool `strict` flags and
///   message names.
pub fn encode_request(req: &ChatRequest) -> Result<Bytes, GatewayError> {
    let mut obj = Map::new();
    for (key, value) in &req.extra {
        let native = match key.as_str() {
            "service_tier" => matches!(value.as_str(), Some("auto" | "standard_only")),
            key => NATIVE_EXTRAS.contains(&key),
        };
        if native {
            obj.insert(key.clone(), value.clone());
        }
    }
    obj.insert("model".into(), json!(req.model));
    let (system, messages) = encode_messages(&req.messages)?;
    let unsigned_tool_turn = last_tool_turn_lacks_thinking(&messages);
    match system.as_slice() {
        [] => {}
        [single] => {
            obj.insert("system".into(), single["text"].clone());
        }
        _ => {
            obj.insert("system".into(), Value::Array(system));
        }
    }
    obj.insert("messages".into(), Value::Array(messages));

    let tools = encode_tools(req);
    let forced_tool = !tools.is_empty() && matches!(req.tool_choice, Some(ToolChoice::Required | ToolChoice::Tool(_)));
    if !tools.is_empty() {
        let disable_parallel = req.parallel_tool_calls.map(|parallel| !parallel);
        let choice = match &req.tool_choice {
            Some(ToolChoice::None) => Some(json!({ "type": "none" })),
            Some(ToolChoice::Auto) => Some(json!({ "type": "auto" })),
            Some(ToolChoice::Required) => Some(json!({ "type": "any" })),
            Some(ToolChoice::Tool(name)) => Some(json!({ "type": "tool", "name": name })),
            None => disable_parallel.filter(|d| *d).map(|_| json!({ "type": "auto" })),
        };
        if let Some(mut choice) = choice {
            if let Some(disable) = disable_parallel
                && choice["type"] != "none"
            {
                choice["disable_parallel_tool_use"] = json!(disable);
            }
            obj.insert("tool_choice".into(), choice);
        }
        obj.insert("tools".into(), Value::Array(tools));
    }

    let s = &req.sampling;
    let mut max_tokens = s.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    let mut budget = req
        .reasoning
        .as_ref()
        .and_then(|r| r.budget_tokens.or_else(|| effort_budget(r.effort.as_deref())))
        .filter(|_| !forced_tool && !unsigned_tool_turn);
    if let Some(b) = budget {
        if s.max_tokens.is_none() && b >= max_tokens {
            max_tokens = b + DEFAULT_MAX_TOKENS;
        }
        let b = b.min(max_tokens.saturating_sub(1));
        budget = (b >= MIN_THINKING_BUDGET).then_some(b);
    }
    obj.insert("max_tokens".into(), json!(max_tokens));
    if let Some(budget) = budget {
        obj.insert("thinking".into(), json!({ "type": "enabled", "budget_tokens": budget }));
    }
    let thinking = budget.is_some();
    if let Some(t) = s.temperature.map(|t| t.clamp(0.0, 1.0)).filter(|t| !thinking || *t == 1.0) {
        obj.insert("temperature".into(), json!(t));
    }
    if let Some(p) = s.top_p {
        obj.insert("top_p".into(), json!(if thinking { p.clamp(0.95, 1.0) } else { p }));
    }
    if let Some(k) = s.top_k.filter(|_| !thinking) {
        obj.insert("top_k".into(), json!(k));
    }
    if !s.stop.is_empty() {
        obj.insert("stop_sequences".into(), json!(s.stop));
    }
    if let Some(user) = &req.user {
        obj.insert("metadata".into(), json!({ "user_id": user }));
    }
    if req.stream {
        obj.insert("stream".into(), json!(true));
    }
    Ok(Bytes::from(Value::Object(obj).to_string()))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
