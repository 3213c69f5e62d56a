//! OpenAI Responses: `POST /v1/responses` answering a `response` object, or the documented SSE
//! sequence (`response.created` … `response.completed`), with Bearer auth and OpenAI errors.
//! Every answer has ids of its own (`resp_mock_<n>`, `msg_mock_<n>`, …), as the API mints them.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::agent::Wire;
use super::openai_chat::{
    account_refusal, context_too_long, error_body, invalid_value, json_response, refuse_tool_types,
};
use super::{
    Early, MOCK_SIGNATURE, MOCK_THINKING, MOCK_USAGE, MockState, Reply, ToolCall, bearer, html, named_event, plan,
    stream_response, text_fragments,
};

/// The ids of one answer.
struct Ids {
    response: String,
    message: String,
    call: String,
    reasoning: String,
}

impl Ids {
    fn next() -> Ids {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Ids {
            response: format!("resp_mock_{n}"),
            message: format!("msg_mock_{n}"),
            call: format!("fc_mock_{n}"),
            reasoning: format!("rs_mock_{n}"),
        }
    }
}

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
    if let Some(refusal) = account_refusal(Some(key)) {
        return refusal;
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
        Err(Early::TooLong) => return context_too_long(true),
    };
    let tools = request.get("tools").cloned().unwrap_or_else(|| json!([]));
    let ids = Ids::next();
    let answer = Writer { ids: &ids, model: &model, tools: &tools };
    let reasoning = matches!(plan.reply, Reply::ThinkingCall(_));
    if request["stream"].as_bool().unwrap_or(false) {
        let events = match plan.reply.call() {
            Some(call) => answer.tool_events(call, reasoning),
            None => answer.text_events(plan.reply.text()),
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
    let mut output = Vec::new();
    if reasoning {
        output.push(answer.reasoning_item(true));
    }
    output.push(match plan.reply.call() {
        Some(call) => answer.call_item("completed", call, &call.arguments_text()),
        None => answer.message_item("completed", Some(plan.reply.text())),
    });
    json_response(200, plan.shape(answer.response_object("completed", output)))
}

fn usage() -> Value {
    json!({
        "input_tokens": MOCK_USAGE.0, "input_tokens_details": { "cached_tokens": 0 },
        "output_tokens": MOCK_USAGE.1, "output_tokens_details": { "reasoning_tokens": 0 },
        "total_tokens": MOCK_USAGE.0 + MOCK_USAGE.1
    })
}

/// One answer being written: its ids, model and the request's tools (echoed).
struct Writer<'a> {
    ids: &'a Ids,
    model: &'a str,
    tools: &'a Value,
}

type Events = Vec<(&'static str, Value)>;

impl Writer<'_> {
    /// The `response` object; usage and `completed_at` only once it is complete.
    fn response_object(&self, status: &str, output: Vec<Value>) -> Value {
        let done = status == "completed";
        json!({
            "id": self.ids.response, "object": "response", "created_at": 1_700_000_000,
            "status": status, "completed_at": if done { json!(1_700_000_001) } else { Value::Null },
            "background": false, "error": null, "incomplete_details": null, "instructions": null,
            "max_output_tokens": null, "model": self.model, "output": output, "parallel_tool_calls": true,
            "previous_response_id": null, "reasoning": { "effort": null, "summary": null }, "store": true,
            "temperature": 1.0, "text": { "format": { "type": "text" } }, "tool_choice": "auto", "tools": self.tools,
            "top_p": 1.0, "truncation": "disabled", "usage": if done { usage() } else { Value::Null },
            "user": null, "metadata": {}
        })
    }

    fn message_item(&self, status: &str, text: Option<&str>) -> Value {
        let content: Vec<Value> = text.map(text_part).into_iter().collect();
        json!({ "id": self.ids.message, "type": "message", "status": status, "role": "assistant", "content": content })
    }

    /// A `function_call` item; a namespaced function's call names its `namespace`.
    fn call_item(&self, status: &str, call: &ToolCall, arguments: &str) -> Value {
        let mut item = json!({
            "id": self.ids.call, "type": "function_call", "status": status,
            "arguments": arguments, "call_id": "call_mock1", "name": call.name
        });
        if let Some(namespace) = &call.namespace {
            item["namespace"] = json!(namespace);
        }
        item
    }

    /// A reasoning item with its summary and `encrypted_content` (when `done`).
    fn reasoning_item(&self, done: bool) -> Value {
        let summary = if done { json!([{ "type": "summary_text", "text": MOCK_THINKING }]) } else { json!([]) };
        let mut item = json!({ "id": self.ids.reasoning, "type": "reasoning", "summary": summary });
        if done {
            item["encrypted_content"] = json!(MOCK_SIGNATURE);
        }
        item
    }

    fn opening(&self) -> Events {
        let response = self.response_object("in_progress", vec![]);
        vec![
            ("response.created", json!({ "response": response })),
            ("response.in_progress", json!({ "response": response })),
        ]
    }

    fn text_events(&self, text: &str) -> Events {
        let at = |extra: Value| {
            let mut event = json!({ "item_id": self.ids.message, "output_index": 0, "content_index": 0 });
            event.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
            event
        };
        let mut events = self.opening();
        let added = self.message_item("in_progress", None);
        events.push(("response.output_item.added", json!({ "output_index": 0, "item": added })));
        events.push(("response.content_part.added", at(json!({ "part": text_part("") }))));
        for fragment in text_fragments(text) {
            events.push(("response.output_text.delta", at(json!({ "delta": fragment, "logprobs": [] }))));
        }
        events.push(("response.output_text.done", at(json!({ "text": text, "logprobs": [] }))));
        events.push(("response.content_part.done", at(json!({ "part": text_part(text) }))));
        let done = self.message_item("completed", Some(text));
        events.push(("response.output_item.done", json!({ "output_index": 0, "item": done })));
        let response = self.response_object("completed", vec![done]);
        events.push(("response.completed", json!({ "response": response })));
        events
    }

    /// The reasoning item's events at output index 0: its summary part, streamed.
    fn reasoning_events(&self, events: &mut Events) {
        let at = json!({ "item_id": self.ids.reasoning, "output_index": 0, "summary_index": 0 });
        let with = |extra: Value| {
            let mut event = at.clone();
            event.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
            event
        };
        events.push(("response.output_item.added", json!({ "output_index": 0, "item": self.reasoning_item(false) })));
        let empty = json!({ "type": "summary_text", "text": "" });
        events.push(("response.reasoning_summary_part.added", with(json!({ "part": empty }))));
        let (first, second) = MOCK_THINKING.split_at(MOCK_THINKING.len() / 2);
        for delta in [first, second] {
            events.push(("response.reasoning_summary_text.delta", with(json!({ "delta": delta }))));
        }
        events.push(("response.reasoning_summary_text.done", with(json!({ "text": MOCK_THINKING }))));
        let part = json!({ "type": "summary_text", "text": MOCK_THINKING });
        events.push(("response.reasoning_summary_part.done", with(json!({ "part": part }))));
        events.push(("response.output_item.done", json!({ "output_index": 0, "item": self.reasoning_item(true) })));
    }

    /// The call's events, after a reasoning item when `reasoning`.
    fn tool_events(&self, call: &ToolCall, reasoning: bool) -> Events {
        let arguments = call.arguments_text();
        let mut events = self.opening();
        let mut output = Vec::new();
        if reasoning {
            self.reasoning_events(&mut events);
            output.push(self.reasoning_item(true));
        }
        let index = output.len();
        let id = &self.ids.call;
        let added = self.call_item("in_progress", call, "");
        events.push(("response.output_item.added", json!({ "output_index": index, "item": added })));
        for fragment in call.fragments() {
            let delta = json!({ "item_id": id, "output_index": index, "delta": fragment });
            events.push(("response.function_call_arguments.delta", delta));
        }
        events.push((
            "response.function_call_arguments.done",
            json!({ "item_id": id, "output_index": index, "name": call.name, "arguments": arguments }),
        ));
        let done = self.call_item("completed", call, &arguments);
        events.push(("response.output_item.done", json!({ "output_index": index, "item": done })));
        output.push(done);
        events.push(("response.completed", json!({ "response": self.response_object("completed", output) })));
        events
    }
}

fn text_part(text: &str) -> Value {
    json!({ "type": "output_text", "text": text, "annotations": [], "logprobs": [] })
}
