//! Responses `tools` and `tool_choice` → hub. Function tools are hub functions; a `namespace`
//! tool (Codex sends one for its MCP and agent tools) becomes one function per member, named
//! `namespace__name` as Codex itself flattens them, made unique among the request's tools; the
//! API's own tools (web search, file search, code interpreter, computer use, image generation,
//! MCP, shell, custom…) are kept as hosted tools, which only a Responses provider gets; any other
//! `type` is refused with the API's own wording.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::error::GatewayError;
use crate::formats::json_body::invalid;
use crate::hub::tools::unique_name;
use crate::hub::{HostedTool, ToolChoice, ToolDefinition, ToolNamespace, flat_name};

/// Every tool `type` the Responses API defines (its OpenAPI `Tool` union), in its order.
pub(super) const TOOL_TYPES: &[&str] = &[
    "function",
    "file_search",
    "computer",
    "computer_use_preview",
    "web_search",
    "web_search_2025_08_26",
    "mcp",
    "code_interpreter",
    "programmatic_tool_calling",
    "image_generation",
    "local_shell",
    "shell",
    "custom",
    "namespace",
    "tool_search",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "apply_patch",
];

/// What a namespace may hold.
const NAMESPACE_MEMBER_TYPES: &[&str] = &["function", "custom"];

/// OpenAI's refusal of a value outside an enum: `Invalid value: 'x'. Supported values are: 'a',
/// 'b', and 'c'.`, about `param`.
fn invalid_value(param: String, value: &str, supported: &[&str]) -> GatewayError {
    let quoted: Vec<String> = supported.iter().map(|v| format!("'{v}'")).collect();
    let list = match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first, second] => format!("{first} and {second}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    };
    GatewayError::InvalidValue { param, message: format!("Invalid value: '{value}'. Supported values are: {list}.") }
}

/// A tool's `type`, required.
fn type_of<'t>(tool: &'t Value, param: &str) -> Result<&'t str, GatewayError> {
    match tool.get("type") {
        Some(Value::String(kind)) => Ok(kind),
        None | Some(Value::Null) => Err(invalid(format!("Missing required parameter: '{param}'."))),
        Some(other) => Err(GatewayError::InvalidValue {
            param: param.to_owned(),
            message: format!("Invalid type for '{param}': expected a string, but got {other} instead."),
        }),
    }
}

/// The request's tools: functions (namespace members flattened) and hosted tools.
pub(super) fn decode_tools(tools: Option<Value>) -> Result<(Vec<ToolDefinition>, Vec<HostedTool>), GatewayError> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok((Vec::new(), Vec::new())),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(invalid("`tools` must be an array")),
    };
    let mut functions = Vec::new();
    let mut hosted = Vec::new();
    for (i, tool) in tools.into_iter().enumerate() {
        match type_of(&tool, &format!("tools[{i}].type"))? {
            "function" => functions.push(decode_function(&format!("tools[{i}]"), &tool, None)?),
            "namespace" => decode_namespace(i, &tool, &mut functions, &mut hosted)?,
            kind if TOOL_TYPES.contains(&kind) => hosted.push(HostedTool { kind: kind.to_owned(), value: tool }),
            other => return Err(invalid_value(format!("tools[{i}].type"), other, TOOL_TYPES)),
        }
    }
    name_namespaced(&mut functions);
    Ok((functions, hosted))
}

/// A namespace's function members, each a hub function that remembers its namespace (its flat
/// name is given once every plain function is known); its custom members are hosted tools.
fn decode_namespace(
    i: usize,
    tool: &Value,
    functions: &mut Vec<ToolDefinition>,
    hosted: &mut Vec<HostedTool>,
) -> Result<(), GatewayError> {
    let namespace = tool
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("Missing required parameter: 'tools[{i}].name'.")))?;
    let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
    let members = match tool.get("tools") {
        Some(Value::Array(members)) => members,
        _ => return Err(invalid(format!("Missing required parameter: 'tools[{i}].tools'."))),
    };
    for (j, member) in members.iter().enumerate() {
        let path = format!("tools[{i}].tools[{j}]");
        match type_of(member, &format!("{path}.type"))? {
            "function" => {
                let inner = ToolNamespace {
                    namespace: namespace.to_owned(),
                    description: description.to_owned(),
                    name: String::new(),
                };
                functions.push(decode_function(&path, member, Some(inner))?);
            }
            "custom" => hosted.push(HostedTool { kind: "custom".into(), value: member.clone() }),
            other => return Err(invalid_value(format!("{path}.type"), other, NAMESPACE_MEMBER_TYPES)),
        }
    }
    Ok(())
}

/// One function tool, flat as this API defines it (a chat-style nested `function` is accepted
/// too). A namespace member keeps its own name in its namespace and gets its flat name later.
fn decode_function(path: &str, tool: &Value, namespace: Option<ToolNamespace>) -> Result<ToolDefinition, GatewayError> {
    let def = match tool.get("function") {
        Some(function) if tool.get("name").is_none() => function,
        _ => tool,
    };
    let name = def
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("Missing required parameter: '{path}.name'.")))?;
    Ok(ToolDefinition {
        name: name.to_owned(),
        description: def.get("description").and_then(Value::as_str).map(str::to_owned),
        parameters: match def.get("parameters") {
            None | Some(Value::Null) => json!({ "type": "object", "properties": {} }),
            Some(schema) => schema.clone(),
        },
        strict: def.get("strict").and_then(Value::as_bool),
        namespace: namespace.map(|ns| ToolNamespace { name: name.to_owned(), ..ns }),
    })
}

/// Gives every namespace member its flat name, unique among the plain functions' names and
/// the flat names given before it.
fn name_namespaced(functions: &mut [ToolDefinition]) {
    let mut taken: HashSet<String> =
        functions.iter().filter(|f| f.namespace.is_none()).map(|f| f.name.clone()).collect();
    for function in functions.iter_mut() {
        let Some(ns) = &function.namespace else { continue };
        let flat = unique_name(flat_name(&ns.namespace, &ns.name), |n| taken.contains(n));
        taken.insert(flat.clone());
        function.name = flat;
    }
}

pub(super) fn decode_tool_choice(choice: Value) -> Result<Option<ToolChoice>, GatewayError> {
    Ok(match &choice {
        Value::Null => None,
        Value::String(s) if s == "auto" => Some(ToolChoice::Auto),
        Value::String(s) if s == "none" => Some(ToolChoice::None),
        Value::String(s) if s == "required" => Some(ToolChoice::Required),
        Value::Object(obj) if obj.get("type").and_then(Value::as_str) == Some("function") => {
            let name = obj.get("name").or_else(|| choice.pointer("/function/name")).and_then(Value::as_str);
            match name {
                Some(name) => Some(ToolChoice::Tool(name.to_owned())),
                None => return Err(invalid("`tool_choice` of type function needs a `name`")),
            }
        }
        Value::Object(obj) => {
            let kind = obj.get("type").and_then(Value::as_str).unwrap_or("(none)");
            return Err(invalid(format!(
                "`tool_choice` type '{kind}' is not supported through translation: use auto, none, required or {{\"type\":\"function\",\"name\":...}}"
            )));
        }
        _ => return Err(invalid("`tool_choice` must be auto, none, required or {\"type\":\"function\",\"name\":...}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(tools: Value) -> Result<(Vec<ToolDefinition>, Vec<HostedTool>), GatewayError> {
        decode_tools(Some(tools))
    }

    /// The tools Codex 0.169 sends: plain functions, a namespace of MCP tools, web search.
    #[test]
    fn codex_tools_become_functions_and_a_hosted_tool() {
        let (functions, hosted) = decode(json!([
            {"type": "function", "name": "shell", "description": "Runs a command", "strict": false,
             "parameters": {"type": "object", "properties": {"command": {"type": "array"}}}},
            {"type": "namespace", "name": "mcp__docs__", "description": "Tools in the mcp__docs__ namespace.",
             "tools": [
                {"type": "function", "name": "search", "description": "Search the docs", "strict": false,
                 "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
                {"type": "function", "name": "fetch", "strict": false, "parameters": {"type": "object"}}
             ]},
            {"type": "web_search", "external_web_access": false}
        ]))
        .unwrap();
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["shell", "mcp__docs__search", "mcp__docs__fetch"]);
        let ns = functions[1].namespace.as_ref().unwrap();
        assert_eq!(
            (ns.namespace.as_str(), ns.name.as_str(), ns.description.as_str()),
            ("mcp__docs__", "search", "Tools in the mcp__docs__ namespace.")
        );
        assert_eq!(functions[1].description.as_deref(), Some("Search the docs"));
        assert_eq!(functions[1].parameters["properties"]["q"]["type"], "string");
        assert!(functions[0].namespace.is_none());
        assert_eq!(
            hosted,
            [HostedTool {
                kind: "web_search".into(),
                value: json!({"type": "web_search", "external_web_access": false})
            }]
        );
    }

    #[test]
    fn flat_names_never_collide() {
        let (functions, _) = decode(json!([
            {"type": "namespace", "name": "crm", "description": "d", "tools": [{"type": "function", "name": "lookup"}]},
            {"type": "function", "name": "crm__lookup"},
            {"type": "namespace", "name": "crm_", "description": "d", "tools": [{"type": "function", "name": "lookup"}]}
        ]))
        .unwrap();
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["crm__lookup_2", "crm__lookup", "crm__lookup_3"]);
    }

    #[test]
    fn unknown_types_are_refused_in_openais_words() {
        let err = decode(json!([{"type": "function", "name": "f"}, {"type": "teleport"}])).unwrap_err();
        let GatewayError::InvalidValue { param, message } = &err else { panic!("{err:?}") };
        assert_eq!(param, "tools[1].type");
        assert!(message.starts_with("Invalid value: 'teleport'. Supported values are: 'function', 'file_search', "));
        assert!(message.ends_with(", and 'apply_patch'."), "{message}");
        assert_eq!(err.code(), "invalid_value");
        assert_eq!(err.status().as_u16(), 400);

        let err = decode(json!([{"type": "namespace", "name": "n", "tools": [{"type": "web_search"}]}])).unwrap_err();
        assert_eq!(
            err,
            GatewayError::InvalidValue {
                param: "tools[0].tools[0].type".into(),
                message: "Invalid value: 'web_search'. Supported values are: 'function' and 'custom'.".into(),
            }
        );
        assert_eq!(
            decode(json!([{"name": "f"}])).unwrap_err().to_string(),
            "Missing required parameter: 'tools[0].type'."
        );
        assert!(decode(json!([{"type": "namespace", "tools": []}])).unwrap_err().to_string().contains("tools[0].name"));
    }
}
