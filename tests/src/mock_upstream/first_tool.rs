//! The `first-tool` model: the `tools` answer's `{"city":"Paris"}` call, made to the first
//! function the request offers rather than to `get_weather`, read from the request's tools the
//! way its format defines them (as [`super::agent`] picks a tool from the request). For the
//! Responses API that may be a namespace's first member; the call then names its `namespace`.
//! A request that offers no function gets the `get_weather` call.

use serde_json::Value;

use super::ToolCall;
use super::agent::Wire;

/// The call `first-tool` answers `request` (in `wire`'s format) with.
pub(crate) fn call(wire: Wire, request: &Value) -> ToolCall {
    first_function(wire, request).unwrap_or_else(ToolCall::weather)
}

/// The first function `request` offers, as its format declares functions: Chat's first
/// `function` tool, Ollama's first tool, the Responses API's first `function` tool or
/// `namespace` (its first function member), Anthropic's first custom tool (no `type`, or
/// `custom`), Gemini's first function declaration.
fn first_function(wire: Wire, request: &Value) -> Option<ToolCall> {
    let tools = request["tools"].as_array()?;
    let name = |name: &Value| name.as_str().map(ToolCall::named);
    match wire {
        Wire::OpenaiChat => name(&tools.iter().find(|t| t["type"] == "function")?["function"]["name"]),
        Wire::Ollama => name(&tools.first()?["function"]["name"]),
        Wire::Responses => tools.iter().find_map(|tool| match tool["type"].as_str()? {
            "function" => name(&tool["name"]),
            "namespace" => {
                let member = tool["tools"].as_array()?.iter().find(|m| m["type"] == "function")?;
                let namespace = tool["name"].as_str().map(str::to_owned);
                Some(ToolCall { namespace, ..name(&member["name"])? })
            }
            _ => None,
        }),
        Wire::Anthropic => name(&tools.iter().find(|t| t["type"].is_null() || t["type"] == "custom")?["name"]),
        Wire::Gemini => {
            let declarations =
                tools.iter().find_map(|t| t.get("functionDeclarations").or_else(|| t.get("function_declarations")))?;
            name(&declarations[0]["name"])
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_namespace_member_is_called_with_its_namespace() {
        let request = json!({ "tools": [
            { "type": "web_search" },
            { "type": "namespace", "name": "mcp__weather__", "tools": [{ "type": "function", "name": "get_forecast" }] },
            { "type": "function", "name": "shell" }
        ]});
        let call = call(Wire::Responses, &request);
        assert_eq!((call.namespace.as_deref(), call.name.as_str()), (Some("mcp__weather__"), "get_forecast"));
        assert_eq!(call.arguments, json!({ "city": "Paris" }));
    }

    #[test]
    fn each_format_names_its_first_function_and_none_falls_back_to_get_weather() {
        let chat = json!({ "tools": [{ "type": "custom", "custom": { "name": "c" } }, { "type": "function", "function": { "name": "f" } }] });
        assert_eq!(call(Wire::OpenaiChat, &chat).name, "f");
        let anthropic =
            json!({ "tools": [{ "type": "web_search_20250305", "name": "web_search" }, { "name": "Bash" }] });
        assert_eq!(call(Wire::Anthropic, &anthropic).name, "Bash");
        let gemini = json!({ "tools": [{ "googleSearch": {} }, { "functionDeclarations": [{ "name": "g" }] }] });
        assert_eq!(call(Wire::Gemini, &gemini).name, "g");
        let ollama = json!({ "tools": [{ "type": "function", "function": { "name": "o" } }] });
        assert_eq!(call(Wire::Ollama, &ollama).name, "o");
        let none = call(Wire::Responses, &json!({ "input": "hi" }));
        assert_eq!((none.namespace, none.name.as_str()), (None, super::super::MOCK_TOOL_NAME));
    }
}
