//! OpenAI Responses: `POST /v1/responses` answering a `response` object, or the documented SSE
//! sequence (`response.created` … `response.completed`), with Bearer auth and OpenAI errors.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::agent::Wire;
use super::openai_chat::{error_body, invalid_value, json_response, refuse_tool_types};
use super::{Early, MOCK_USAGE, MockState, ToolCall, bearer, html, named_event, plan, stream_response, text_fragments};

const MESSAGE_ID: &str = "msg_mock";
const CALL_ITEM_ID: &str = "fc_mock1";

/// The tool types the Responses API defines (its OpenAPI `Tool` union).
const TOOL_TYPES: [&str; 18] = [
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

/// A tool type the API does not define, or a namespace member that is not a function or a
/// custom tool, refused as the API refuses it.
fn refuse_tools(tools: &Value) -> Option<Response> {
    if let Some(refusal) = refuse_tool_types(tools, &TOOL_TYPES) {
        return Some(refusal);
    }
    tools.as_array()?.iter().enumerate().filter(|(_, t)| t["type"] == "namespace").find_map(|(i, namespace)| {
        namespace["tools"].as_array()?.iter().enumerate().find_map(|(j, member)| {
            let kind = member["type"].as_str().unwrap_or_default();
            (!["function", "custom"].contains(&kind))
                .then(|| invalid_value(&format!("tools[{i}].tools[{j}].type"), kind, &["function", "custom"]))
        })
    })
}

pub(super) async fn create(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    state.record(&uri, &headers, &body);
    let Some(key) = bearer(&headers) else {
        return json_response(
            401,
            json!({ "error": {
                "message": "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "type": "invalid_request_error", "param": null, "code": null
            }}),
        );
    };
    if key == "sk-bad" {
        return json_response(500, error_body(500, "The server had an error while processing your request."));
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return json_response(400, error_body(400, "We could not parse the JSON body of your request."));
    };
    if let Some(refusal) = super::model_limits::responses_refusal(&request) {
        return json_response(400, refusal);
    }
    if let Some(refusal) = refuse_tools(&request["tools"]) {
        return refusal;
    }
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let plan = match plan(&model, Some((Wire::Responses, &request))).await {
        Ok(plan) => plan,
        Err(Early::Status(status)) => {
            return json_response(status, error_body(status, &format!("mock upstream error {status}")));
        }
        Err(Early::Html(status)) => return html(status),
    };
    let tools = request.get("tools").cloned().unwrap_or_else(|| json!([]));
    if request["stream"].as_bool().unwrap_or(false) {
        let events = match plan.reply.call() {
            Some(call) => tool_events(&model, &tools, call),
            None => text_events(&model, &tools, plan.reply.text()),
        };
        let frames = events
            .into_iter()
            .enumerate()
            .map(|(sequence, (name, data))| {
                let mut event = serde_json::Map::new();
                event.insert("type".into(), json!(name));
                event.insert("sequence_number".into(), json!(sequence));
                event.extend(data.as_object().cloned().unwrap_or_default());
                named_event(name, &plan.shape(Value::Object(event)))
            })
            .collect();
        // Cut after the first text delta: created, in_progress, item added, part added, delta.
        return stream_response("text/event-stream; charset=utf-8", frames, plan.cut.then_some(5), plan.gap);
    }
    let output = match plan.reply.call() {
        Some(call) => call_item("completed", call, &call.arguments_text()),
        None => message_item("completed", Some(plan.reply.text())),
    };
    json_response(200, plan.shape(response_object(&model, &tools, "completed", vec![output])))
}

fn usage() -> Value {
    json!({
        "input_tokens": MOCK_USAGE.0, "input_tokens_details": { "cached_tokens": 0 },
        "output_tokens": MOCK_USAGE.1, "output_tokens_details": { "reasoning_tokens": 0 },
        "total_tokens": MOCK_USAGE.0 + MOCK_USAGE.1
    })
}

/// The `response` object; usage and `completed_at` only once it is complete.
fn response_object(model: &str, tools: &Value, status: &str, output: Vec<Value>) -> Value {
    let done = status == "completed";
    json!({
        "id": "resp_mock", "object": "response", "created_at": 1_700_000_000,
        "status": status, "completed_at": if done { json!(1_700_000_001) } else { Value::Null },
        "background": false, "error": null, "incomplete_details": null, "instructions": null,
        "max_output_tokens": null, "model": model, "output": output, "parallel_tool_calls": true,
        "previous_response_id": null, "reasoning": { "effort": null, "summary": null }, "store": true,
        "temperature": 1.0, "text": { "format": { "type": "text" } }, "tool_choice": "auto", "tools": tools,
        "top_p": 1.0, "truncation": "disabled", "usage": if done { usage() } else { Value::Null },
        "user": null, "metadata": {}
    })
}

fn text_part(text: &str) -> Value {
    json!({ "type": "output_text", "text": text, "annotations": [], "logprobs": [] })
}

fn message_item(status: &str, text: Option<&str>) -> Value {
    let content: Vec<Value> = text.map(text_part).into_iter().collect();
    json!({ "id": MESSAGE_ID, "type": "message", "status": status, "role": "assistant", "content": content })
}

/// A `function_call` item; a namespaced function's call names its `namespace`.
fn call_item(status: &str, call: &ToolCall, arguments: &str) -> Value {
    let mut item = json!({
        "id": CALL_ITEM_ID, "type": "function_call", "status": status,
        "arguments": arguments, "call_id": "call_mock1", "name": call.name
    });
    if let Some(namespace) = &call.namespace {
        item["namespace"] = json!(namespace);
    }
    item
}

type Events = Vec<(&'static str, Value)>;

fn opening(model: &str, tools: &Value) -> Events {
    let response = response_object(model, tools, "in_progress", vec![]);
    vec![
        ("response.created", json!({ "response": response })),
        ("response.in_progress", json!({ "response": response })),
    ]
}

fn text_events(model: &str, tools: &Value, text: &str) -> Events {
    let at = |extra: Value| {
        let mut event = json!({ "item_id": MESSAGE_ID, "output_index": 0, "content_index": 0 });
        event.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        event
    };
    let mut events = opening(model, tools);
    events
        .push(("response.output_item.added", json!({ "output_index": 0, "item": message_item("in_progress", None) })));
    events.push(("response.content_part.added", at(json!({ "part": text_part("") }))));
    for fragment in text_fragments(text) {
        events.push(("response.output_text.delta", at(json!({ "delta": fragment, "logprobs": [] }))));
    }
    events.push(("response.output_text.done", at(json!({ "text": text, "logprobs": [] }))));
    events.push(("response.content_part.done", at(json!({ "part": text_part(text) }))));
    events.push((
        "response.output_item.done",
        json!({ "output_index": 0, "item": message_item("completed", Some(text)) }),
    ));
    let response = response_object(model, tools, "completed", vec![message_item("completed", Some(text))]);
    events.push(("response.completed", json!({ "response": response })));
    events
}

fn tool_events(model: &str, tools: &Value, call: &ToolCall) -> Events {
    let arguments = call.arguments_text();
    let mut events = opening(model, tools);
    events
        .push(("response.output_item.added", json!({ "output_index": 0, "item": call_item("in_progress", call, "") })));
    for fragment in call.fragments() {
        events.push((
            "response.function_call_arguments.delta",
            json!({ "item_id": CALL_ITEM_ID, "output_index": 0, "delta": fragment }),
        ));
    }
    events.push((
        "response.function_call_arguments.done",
        json!({ "item_id": CALL_ITEM_ID, "output_index": 0, "name": call.name, "arguments": arguments }),
    ));
    let done = call_item("completed", call, &arguments);
    events.push(("response.output_item.done", json!({ "output_index": 0, "item": done })));
    events.push(("response.completed", json!({ "response": response_object(model, tools, "completed", vec![done]) })));
    events
}
