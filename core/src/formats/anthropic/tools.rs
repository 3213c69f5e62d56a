//! Anthropic `tools` ⇄ hub tools. Custom tools (no `type`, or `custom`) are hub functions.
//! Anthropic's versioned tools — the server tools it runs itself (`web_search_20250305`,
//! `web_fetch_…`, `code_execution_…`, tool search) and the schema-less client tools only its
//! models are trained on (`bash_…`, `text_editor_…`, `computer_…`, `memory_…`) — are kept as hub
//! hosted tools: written back to Anthropic, dropped for any other provider. A `type` that is
//! neither is refused the way the Messages API refuses it.

use serde_json::{Map, Value, json};

use crate::error::GatewayError;
use crate::formats::json_body::invalid;
use crate::hub::{ChatRequest, HostedTool, ToolChoice, ToolDefinition};

/// Families of Anthropic's versioned tool types (`<family>_<YYYYMMDD>`).
const FAMILIES: &[&str] = &[
    "bash",
    "browser_toolset",
    "code_execution",
    "computer",
    "computer_toolset",
    "mcp_toolset",
    "memory",
    "text_editor",
    "tool_search_tool_bm25",
    "tool_search_tool_regex",
    "web_fetch",
    "web_search",
];

/// The tags the Messages API lists when it refuses a tool `type` (as its SDK types them).
const EXPECTED_TAGS: &[&str] = &[
    "bash_20250124",
    "browser_toolset_20260801",
    "code_execution_20250522",
    "code_execution_20250825",
    "code_execution_20260120",
    "code_execution_20260521",
    "computer_toolset_20260801",
    "custom",
    "memory_20250818",
    "text_editor_20250124",
    "text_editor_20250429",
    "text_editor_20250728",
    "tool_search_tool_bm25",
    "tool_search_tool_bm25_20251119",
    "tool_search_tool_regex",
    "tool_search_tool_regex_20251119",
    "web_fetch_20250910",
    "web_fetch_20260209",
    "web_fetch_20260309",
    "web_fetch_20260318",
    "web_search_20250305",
    "web_search_20260209",
    "web_search_20260318",
];

/// Whether `kind` is one of Anthropic's own tool types: a known family with a date version (a
/// newer version of a known tool is still that tool), or tool search's undated aliases.
pub(crate) fn is_anthropic_tool_type(kind: &str) -> bool {
    if matches!(kind, "tool_search_tool_bm25" | "tool_search_tool_regex") {
        return true;
    }
    kind.rsplit_once('_').is_some_and(|(family, date)| {
        FAMILIES.contains(&family) && date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Custom tools become hub functions, Anthropic's own tools hub hosted tools; `tool_choice`
/// becomes the hub's choice.
pub(crate) fn decode_tools(obj: &mut Map<String, Value>, req: &mut ChatRequest) -> Result<(), GatewayError> {
    match obj.remove("tools") {
        None | Some(Value::Null) => {}
        Some(Value::Array(tools)) => {
            for (i, tool) in tools.into_iter().enumerate() {
                decode_tool(i, tool, req)?;
            }
        }
        Some(_) => return Err(invalid("`tools` must be an array")),
    }
    match obj.remove("tool_choice") {
        None | Some(Value::Null) => {}
        Some(choice) => {
            req.tool_choice = Some(match choice.get("type").and_then(Value::as_str) {
                Some("auto") => ToolChoice::Auto,
                Some("any") => ToolChoice::Required,
                Some("none") => ToolChoice::None,
                Some("tool") => match choice.get("name").and_then(Value::as_str) {
                    Some(name) => ToolChoice::Tool(name.to_owned()),
                    None => return Err(invalid("`tool_choice` of type `tool` needs a `name`")),
                },
                _ => return Err(invalid("`tool_choice.type` must be one of auto, any, tool, none")),
            });
            req.parallel_tool_calls = choice.get("disable_parallel_tool_use").and_then(Value::as_bool).map(|d| !d);
        }
    }
    Ok(())
}

fn decode_tool(i: usize, tool: Value, req: &mut ChatRequest) -> Result<(), GatewayError> {
    match tool.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "custom" => {}
        Some(Value::String(kind)) if is_anthropic_tool_type(kind) => {
            req.hosted_tools.push(HostedTool { kind: kind.clone(), value: tool });
            return Ok(());
        }
        Some(other) => {
            let tag = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            let expected = EXPECTED_TAGS.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
            return Err(invalid(format!(
                "tools.{i}: Input tag '{tag}' found using 'type' does not match any of the expected tags: {expected}"
            )));
        }
    }
    let name =
        tool.get("name").and_then(Value::as_str).ok_or_else(|| invalid(format!("tools[{i}] needs a string `name`")))?;
    req.tools.push(ToolDefinition {
        name: name.to_owned(),
        description: tool.get("description").and_then(Value::as_str).map(str::to_owned),
        parameters: tool
            .get("input_schema")
            .cloned()
            .ok_or_else(|| invalid(format!("tools[{i}] needs an `input_schema`")))?,
        strict: tool.get("strict").and_then(Value::as_bool),
        namespace: None,
    });
    Ok(())
}

/// The request's tools as Anthropic's `tools`: functions as custom tools, then the hosted tools
/// that are Anthropic's own (a hub request from another format has none left by now).
pub(crate) fn encode_tools(req: &ChatRequest) -> Vec<Value> {
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let schema = if t.parameters.is_object() {
                t.parameters.clone()
            } else {
                json!({ "type": "object", "properties": {} })
            };
            let mut tool = json!({ "name": t.name, "input_schema": schema });
            if let Some(description) = &t.description {
                tool["description"] = json!(description);
            }
            tool
        })
        .collect();
    tools.extend(
        req.hosted_tools
            .iter()
            .filter(|t| is_anthropic_tool_type(&t.kind) && t.value.get("name").is_some())
            .map(|t| t.value.clone()),
    );
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_tool_types_are_recognised_by_family_and_date() {
        for kind in ["web_search_20250305", "bash_20250124", "text_editor_20250728", "web_fetch_20991231"] {
            assert!(is_anthropic_tool_type(kind), "{kind}");
        }
        assert!(is_anthropic_tool_type("tool_search_tool_regex"));
        for kind in ["function", "web_search", "custom", "bash_2025", "teleport_20250101"] {
            assert!(!is_anthropic_tool_type(kind), "{kind}");
        }
    }

    #[test]
    fn hosted_tools_are_kept_and_unknown_types_refused_in_anthropics_words() {
        let mut obj = serde_json::from_str::<Map<String, Value>>(
            r#"{"tools": [
                {"name": "get_weather", "input_schema": {"type": "object"}},
                {"type": "custom", "name": "f", "input_schema": {"type": "object"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
            ]}"#,
        )
        .unwrap();
        let mut req = ChatRequest::default();
        decode_tools(&mut obj, &mut req).unwrap();
        assert_eq!(req.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["get_weather", "f"]);
        assert_eq!(req.hosted_tools.len(), 1);
        assert_eq!(req.hosted_tools[0].kind, "web_search_20250305");
        let written = encode_tools(&req);
        assert_eq!(written[2], json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5}));

        let mut obj =
            serde_json::from_str::<Map<String, Value>>(r#"{"tools": [{"type": "function", "name": "f"}]}"#).unwrap();
        let err = decode_tools(&mut obj, &mut ChatRequest::default()).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "tools.0: Input tag 'function' found using 'type' does not match any of the expected tags: 'bash_20250124', "
            ),
            "{err}"
        );
        assert!(err.contains("'custom'") && err.ends_with("'web_search_20260318'"), "{err}");
    }
}
