//! The `agent-tool-loop` model: one scripted coding-agent task in any wire format, so a real
//! agent CLI (Claude Code, Codex) can be driven through a full tool round trip.
//!
//! The prompt names the task with a marker, `[agent-task file=<absolute path> text=<text>]`
//! ([`agent_task_prompt`]). While the request holds no tool result, the answer is a call to
//! the agent's own tool for writing that file, picked by name from the tools the request
//! offers (Claude Code's `Write`, Codex's `exec_command`, …) with that tool's own argument
//! shape. Once the request holds a tool result, the answer is the text [`AGENT_DONE_TEXT`].

use serde_json::{Value, json};

use super::{Reply, ToolCall};

/// The scripted model's name.
pub const AGENT_MODEL: &str = "agent-tool-loop";
/// The final answer, once a tool result came back.
pub const AGENT_DONE_TEXT: &str = "The file is written, agent-tool-loop is done.";
const MARKER: &str = "[agent-task file=";

/// The wire format a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenaiChat,
    Responses,
    Anthropic,
    Gemini,
    Ollama,
}

/// A prompt asking to write `text` into `file` (an absolute path; neither may hold spaces,
/// quotes or `]`), carrying the marker the mock reads the task from.
pub fn agent_task_prompt(file: &str, text: &str) -> String {
    assert!(
        !format!("{file}{text}").contains([' ', '\'', '"', ']', '\\']),
        "the task's file and text must be plain words: {file:?} {text:?}"
    );
    format!(
        "Use one of your tools to write exactly the text {text} (no newline) into the file {file}, \
         then say that you are done. [agent-task file={file} text={text}]"
    )
}

/// What a file is to hold.
struct Task {
    file: String,
    text: String,
}

/// The tools the mock knows how to write a file with, in order of preference, and their
/// arguments: Claude Code's `Write`; Codex's `exec_command` (unified exec), `shell_command`
/// and `shell` (the older shapes).
fn arguments_for(tool: &str, task: &Task) -> Option<Value> {
    let command = format!("printf '%s' '{}' > '{}'", task.text, task.file);
    Some(match tool {
        "Write" => json!({ "file_path": task.file, "content": task.text }),
        "exec_command" => json!({ "cmd": command }),
        "shell_command" => json!({ "command": command }),
        "shell" => json!({ "command": ["bash", "-lc", command] }),
        _ => return None,
    })
}

const FILE_TOOLS: [&str; 4] = ["Write", "exec_command", "shell_command", "shell"];

/// The answer to one turn of the loop.
pub(crate) fn reply(wire: Wire, request: &Value) -> Reply {
    if carries_tool_result(wire, request) {
        return Reply::Text(AGENT_DONE_TEXT.into());
    }
    let Some(task) = find_task(request) else {
        return Reply::Text(format!("{AGENT_MODEL}: the request names no task ({MARKER}...])"));
    };
    let offered = tool_names(wire, request);
    let chosen = FILE_TOOLS.iter().find(|name| offered.iter().any(|o| o == *name));
    match chosen.and_then(|name| {
        Some(ToolCall { namespace: None, name: (*name).into(), arguments: arguments_for(name, &task)? })
    }) {
        Some(call) => Reply::Call(call),
        None => Reply::Text(format!("{AGENT_MODEL}: no file tool among the tools offered: {offered:?}")),
    }
}

/// The names of the function tools the request offers, read as the format defines them.
fn tool_names(wire: Wire, request: &Value) -> Vec<String> {
    let tools = request["tools"].as_array().cloned().unwrap_or_default();
    let names = tools.iter().flat_map(|tool| match wire {
        Wire::OpenaiChat | Wire::Ollama => vec![&tool["function"]["name"]],
        Wire::Responses => {
            if tool["type"] == "function" {
                vec![&tool["name"]]
            } else {
                vec![]
            }
        }
        Wire::Anthropic => vec![&tool["name"]],
        Wire::Gemini => {
            let declarations = tool.get("functionDeclarations").or_else(|| tool.get("function_declarations"));
            declarations.and_then(Value::as_array).map(|d| d.iter().map(|f| &f["name"]).collect()).unwrap_or_default()
        }
    });
    names.filter_map(Value::as_str).map(str::to_owned).collect()
}

/// Whether the conversation carries a tool's result, in the format's own shape.
pub fn carries_tool_result(wire: Wire, request: &Value) -> bool {
    let items = |key: &str| request[key].as_array().cloned().unwrap_or_default();
    match wire {
        Wire::OpenaiChat | Wire::Ollama => items("messages").iter().any(|m| m["role"] == "tool"),
        Wire::Responses => {
            items("input").iter().any(|i| i["type"] == "function_call_output" || i["type"] == "custom_tool_call_output")
        }
        Wire::Anthropic => items("messages")
            .iter()
            .any(|m| m["content"].as_array().is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"))),
        Wire::Gemini => items("contents").iter().any(|c| {
            c["parts"].as_array().is_some_and(|parts| parts.iter().any(|p| p.get("functionResponse").is_some()))
        }),
    }
}

/// The first `[agent-task file=… text=…]` in any text of the request.
fn find_task(value: &Value) -> Option<Task> {
    match value {
        Value::String(text) => {
            let rest = &text[text.find(MARKER)? + MARKER.len()..];
            let (file, rest) = rest.split_once(" text=")?;
            let (text, _) = rest.split_once(']')?;
            Some(Task { file: file.to_owned(), text: text.to_owned() })
        }
        Value::Array(items) => items.iter().find_map(find_task),
        Value::Object(map) => map.values().find_map(find_task),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_is_read_back_from_its_prompt() {
        let prompt = agent_task_prompt("/tmp/x/out.txt", "hello-42");
        let request = json!({ "messages": [{ "role": "user", "content": [{ "type": "text", "text": prompt }] }] });
        let task = find_task(&request).expect("a task");
        assert_eq!((task.file.as_str(), task.text.as_str()), ("/tmp/x/out.txt", "hello-42"));
    }

    #[test]
    fn the_call_uses_the_tool_the_request_offers_then_the_result_ends_the_loop() {
        let prompt = agent_task_prompt("/w/f.txt", "ok");
        let tools =
            json!([{ "type": "function", "name": "view_image" }, { "type": "function", "name": "exec_command" }]);
        let first = json!({ "input": [{ "type": "message", "role": "user", "content": prompt }], "tools": tools });
        let call = reply(Wire::Responses, &first).call().cloned().expect("a call");
        assert_eq!(call.name, "exec_command");
        assert_eq!(call.arguments["cmd"], "printf '%s' 'ok' > '/w/f.txt'");
        let mut second = first.clone();
        second["input"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "function_call_output", "call_id": "c", "output": "" }));
        assert_eq!(reply(Wire::Responses, &second), Reply::Text(AGENT_DONE_TEXT.into()));
    }
}
