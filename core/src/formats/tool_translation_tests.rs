//! The tools coding agents send, through every provider format: Codex's `namespace` tools
//! flattened into functions (and the namespace restored on the calls that come back, whole or
//! streamed), hosted tools kept only for a provider of the client's own format.

use serde_json::{Value, json};

use super::test_support::{ALL_FORMATS, encode_all, json_of, sse_json};
use super::{
    StreamFraming, answer_stream_encoder, decode_request, decode_response, encode_answer, encode_request,
    encode_response, stream_decoder, stream_encoder,
};
use crate::hub::{ChatRequest, ChatResponse, ContentBlock, FinishReason, Namespaces, response_events};
use crate::providers::WireFormat;

/// What Codex 0.169 sends on a second turn: its shell function, a namespace of MCP tools, the
/// hosted web search, and the history of a call to a namespaced function.
const CODEX: &str = r#"{
    "model": "m", "instructions": "You are Codex.", "stream": true, "store": false,
    "tools": [
        {"type": "function", "name": "shell", "description": "Runs a shell command.", "strict": false,
         "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}, "required": ["command"]}},
        {"type": "namespace", "name": "mcp__docs__", "description": "Tools in the mcp__docs__ namespace.",
         "tools": [
            {"type": "function", "name": "search", "description": "Searches the docs.", "strict": false,
             "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
            {"type": "function", "name": "fetch", "strict": false, "parameters": {"type": "object", "properties": {}}}
         ]},
        {"type": "web_search", "external_web_access": false}
    ],
    "tool_choice": "auto", "parallel_tool_calls": false,
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Find the install docs"}]},
        {"type": "function_call", "call_id": "call_1", "namespace": "mcp__docs__", "name": "search", "arguments": "{\"query\":\"install\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "install.md"}
    ]
}"#;

const FLAT: [&str; 3] = ["shell", "mcp__docs__search", "mcp__docs__fetch"];

fn codex() -> ChatRequest {
    decode_request(WireFormat::OpenaiResponses, CODEX.as_bytes()).unwrap()
}

/// The request as the pipeline sends it to `provider`: another format's extras and hosted tools
/// are dropped.
fn for_provider(mut req: ChatRequest, client: WireFormat, provider: WireFormat) -> Value {
    if provider != client {
        req.drop_extras();
    }
    json_of(&encode_request(provider, &req).unwrap())
}

/// The function names a provider body offers.
fn offered(provider: WireFormat, body: &Value) -> Vec<String> {
    let names: Vec<&Value> = match provider {
        WireFormat::OpenaiChat | WireFormat::Ollama => {
            body["tools"].as_array().into_iter().flatten().map(|t| &t["function"]["name"]).collect()
        }
        WireFormat::Anthropic => body["tools"].as_array().into_iter().flatten().map(|t| &t["name"]).collect(),
        WireFormat::Gemini => {
            body["tools"][0]["functionDeclarations"].as_array().into_iter().flatten().map(|d| &d["name"]).collect()
        }
        WireFormat::OpenaiResponses => unreachable!("regrouped, see below"),
    };
    names.into_iter().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// The name of the call in a provider body's history.
fn history_call(provider: WireFormat, body: &Value) -> Option<String> {
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    match provider {
        WireFormat::OpenaiChat | WireFormat::Ollama => list(&body["messages"])
            .iter()
            .find_map(|m| m["tool_calls"][0]["function"]["name"].as_str().map(str::to_owned)),
        WireFormat::Anthropic => list(&body["messages"])
            .iter()
            .flat_map(|m| list(&m["content"]))
            .find(|b| b["type"] == "tool_use")
            .and_then(|b| b["name"].as_str().map(str::to_owned)),
        WireFormat::Gemini => list(&body["contents"])
            .iter()
            .flat_map(|c| list(&c["parts"]))
            .find_map(|p| p["functionCall"]["name"].as_str().map(str::to_owned)),
        WireFormat::OpenaiResponses => {
            unreachable!("see a_responses_provider_gets_the_namespace_and_the_hosted_tool_back")
        }
    }
}

#[test]
fn namespace_tools_are_flattened_for_every_other_format() {
    let hub = codex();
    assert_eq!(hub.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), FLAT);
    assert_eq!(hub.hosted_tools.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(), ["web_search"]);
    for provider in ALL_FORMATS.into_iter().filter(|f| *f != WireFormat::OpenaiResponses) {
        let body = for_provider(hub.clone(), WireFormat::OpenaiResponses, provider);
        assert_eq!(offered(provider, &body), FLAT, "{provider:?}\n{body}");
        assert_eq!(history_call(provider, &body).as_deref(), Some("mcp__docs__search"), "{provider:?}\n{body}");
        let text = body.to_string();
        assert!(!text.contains("web_search") && !text.contains("namespace"), "{provider:?}: {text}");
    }
}

#[test]
fn a_responses_provider_gets_the_namespace_and_the_hosted_tool_back() {
    let body = for_provider(codex(), WireFormat::OpenaiResponses, WireFormat::OpenaiResponses);
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 3, "{body}");
    assert_eq!((tools[0]["type"].as_str(), tools[0]["name"].as_str()), (Some("function"), Some("shell")));
    assert_eq!(tools[1]["type"], "namespace");
    assert_eq!(tools[1]["name"], "mcp__docs__");
    assert_eq!(tools[1]["description"], "Tools in the mcp__docs__ namespace.");
    let members: Vec<&str> = tools[1]["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(members, ["search", "fetch"]);
    assert_eq!(tools[2], json!({"type": "web_search", "external_web_access": false}));
    let call = body["input"].as_array().unwrap().iter().find(|i| i["type"] == "function_call").unwrap();
    assert_eq!((call["namespace"].as_str(), call["name"].as_str()), (Some("mcp__docs__"), Some("search")));
}

/// An answer calling a flattened function and a plain one.
fn provider_answer() -> ChatResponse {
    ChatResponse {
        id: "resp_1".into(),
        model: "m".into(),
        created: Some(1),
        content: vec![
            ContentBlock::ToolCall {
                id: "call_a".into(),
                name: "mcp__docs__search".into(),
                arguments: "{\"query\":\"x\"}".into(),
            },
            ContentBlock::ToolCall {
                id: "call_b".into(),
                name: "shell".into(),
                arguments: "{\"command\":[\"ls\"]}".into(),
            },
        ],
        finish_reason: Some(FinishReason::ToolCalls),
        usage: None,
        extra: Default::default(),
    }
}

/// The function calls of a Responses output list: (namespace, name, call id).
fn calls(output: &Value) -> Vec<(Option<String>, String, String)> {
    output
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == "function_call")
        .map(|i| {
            let text = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (i["namespace"].as_str().map(str::to_owned), text("name"), text("call_id"))
        })
        .collect()
}

fn restored(ids: [&str; 2]) -> Vec<(Option<String>, String, String)> {
    vec![(Some("mcp__docs__".into()), "search".into(), ids[0].into()), (None, "shell".into(), ids[1].into())]
}

#[test]
fn calls_to_flattened_functions_get_their_namespace_back() {
    let names = Namespaces::of(&codex().tools);
    for provider in ALL_FORMATS {
        let upstream = decode_response(provider, &encode_response(provider, &provider_answer())).unwrap();
        let ids: Vec<String> = upstream
            .content
            .iter()
            .filter_map(|b| if let ContentBlock::ToolCall { id, .. } = b { Some(id.clone()) } else { None })
            .collect();
        let answer = json_of(&encode_answer(WireFormat::OpenaiResponses, &upstream, &names));
        assert_eq!(calls(&answer["output"]), restored([&ids[0], &ids[1]]), "{provider:?}\n{answer}");
        // Without the request's namespaces (another client's request), nothing is renamed.
        let plain = json_of(&encode_answer(WireFormat::OpenaiResponses, &upstream, &Namespaces::default()));
        assert_eq!(calls(&plain["output"])[0].1, "mcp__docs__search");
    }
}

#[test]
fn streamed_calls_to_flattened_functions_get_their_namespace_back() {
    let names = Namespaces::of(&codex().tools);
    for provider in ALL_FORMATS {
        let mut upstream_encoder = stream_encoder(provider, StreamFraming::Default);
        let upstream = encode_all(upstream_encoder.as_mut(), &response_events(&provider_answer()));
        let mut decoder = stream_decoder(provider);
        let mut events = decoder.push(&upstream);
        events.extend(decoder.finish());
        let mut encoder = answer_stream_encoder(WireFormat::OpenaiResponses, StreamFraming::Default, &names);
        let sse = sse_json(&encode_all(encoder.as_mut(), &events));
        let items = |kind: &str| -> Value {
            Value::Array(sse.iter().filter(|(name, _)| name == kind).map(|(_, data)| data["item"].clone()).collect())
        };
        let completed = sse.iter().find(|(name, _)| name == "response.completed").map(|(_, d)| d.clone()).unwrap();
        let ids: Vec<String> = calls(&completed["response"]["output"]).into_iter().map(|(_, _, id)| id).collect();
        assert_eq!(ids.len(), 2, "{provider:?}: {sse:?}");
        let expected = restored([&ids[0], &ids[1]]);
        assert_eq!(calls(&items("response.output_item.added")), expected, "{provider:?}");
        assert_eq!(calls(&items("response.output_item.done")), expected, "{provider:?}");
        assert_eq!(calls(&completed["response"]["output"]), expected, "{provider:?}");
    }
}

/// A body with hosted tools in each client format that has them, and their kinds.
fn hosted_bodies() -> [(WireFormat, &'static str, Vec<&'static str>); 3] {
    [
        (WireFormat::OpenaiResponses, CODEX, vec!["web_search"]),
        (
            WireFormat::Anthropic,
            r#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[
                {"name":"get_weather","input_schema":{"type":"object"}},
                {"type":"web_search_20250305","name":"web_search","max_uses":3},
                {"type":"bash_20250124","name":"bash"}]}"#,
            vec!["web_search_20250305", "bash_20250124"],
        ),
        (
            WireFormat::Gemini,
            r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"tools":[
                {"functionDeclarations":[{"name":"get_weather"}]},{"googleSearch":{}},{"code_execution":{}}]}"#,
            vec!["googleSearch", "codeExecution"],
        ),
    ]
}

#[test]
fn hosted_tools_reach_only_a_provider_of_the_clients_format() {
    for (client, body, kinds) in hosted_bodies() {
        let mut hub = decode_request(client, body.as_bytes()).unwrap();
        hub.model = "m".into();
        assert_eq!(hub.hosted_tools.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(), kinds, "{client:?}");
        for provider in ALL_FORMATS {
            let wire = for_provider(hub.clone(), client, provider).to_string();
            for kind in &kinds {
                // Gemini writes its own camelCase name whatever the client's spelling.
                let needle = if provider == WireFormat::Gemini { kind.to_string() } else { format!("\"{kind}\"") };
                assert_eq!(wire.contains(&needle), provider == client, "{client:?} → {provider:?}: {kind}\n{wire}");
            }
            assert!(wire.contains("get_weather") || client == WireFormat::OpenaiResponses, "{client:?} → {provider:?}");
        }
    }
}
