//! Resolution (chains, missing links, other scopes, item references), keeping answers (whole and
//! streamed) and the input-item list, over a gateway on memory ports.

use bytes::Bytes;
use futures_executor::block_on;
use futures_util::StreamExt;
use http::Response;
use serde_json::{Value, json};

use super::api::{ListQuery, listed_items};
use super::resolve::{check_chain, resolved_input};
use super::*;
use crate::body::{Body, BodyError};
use crate::config::settings::UsageSettings;
use crate::gateway::Gateway;
use crate::pipeline::test_support::{TestPorts, memory_gateway};
use crate::ports::{ResponseStore, StoredResponse};

const NOW: u64 = 1_700_000_000_000;

fn stored(scope: &str, id: &str, previous: Option<&str>) -> StoredResponse {
    StoredResponse {
        scope: scope.into(),
        id: id.into(),
        model: "m".into(),
        created_ms: NOW,
        expires_ms: NOW + 60_000,
        previous_response_id: previous.map(str::to_owned),
        input: vec![json!({"role": "user", "content": format!("asked {id}")})],
        response: json!({"id": id, "status": "completed", "output": [
            {"type": "reasoning", "id": format!("rs_{id}"), "summary": [], "encrypted_content": format!("sig_{id}")},
            {"type": "function_call", "id": format!("fc_{id}"), "call_id": format!("call_{id}"), "name": "f", "arguments": "{}"},
        ]}),
    }
}

fn gateway_with(responses: &[StoredResponse]) -> (Gateway, TestPorts) {
    let (gateway, ports) = memory_gateway(NOW);
    for response in responses {
        block_on(ports.responses.put(response.clone())).unwrap();
    }
    (gateway, ports)
}

fn resolve_body(gateway: &Gateway, scope: &str, body: Value) -> Result<Option<Resolved>, GatewayError> {
    block_on(resolve(gateway, scope, &Bytes::from(body.to_string())))
}

fn texts(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item.get("id").or_else(|| item.get("content")).map(ToString::to_string).unwrap_or_default())
        .collect()
}

#[test]
fn bodies_that_name_nothing_are_left_alone() {
    let (gateway, _) = gateway_with(&[]);
    assert!(!names_stored_state(br#"{"model":"m","input":"previous_response_id is a word here"}"#));
    for body in
        [json!({"model": "m", "input": "hi"}), json!({"model": "m", "input": "hi", "previous_response_id": null})]
    {
        assert_eq!(resolve_body(&gateway, "anonymous", body).unwrap(), None);
    }
    // Not JSON: the probe refuses it in the client's words.
    assert_eq!(
        block_on(resolve(&gateway, "anonymous", &Bytes::from_static(b"{\"previous_response_id\""))).unwrap(),
        None
    );
}

#[test]
fn previous_response_id_prepends_the_whole_chain_oldest_first() {
    let (gateway, _) = gateway_with(&[stored("key:a", "resp_1", None), stored("key:a", "resp_2", Some("resp_1"))]);
    let body = json!({"model": "m", "input": "and now?", "previous_response_id": "resp_2", "instructions": "be brief"});
    let resolved = resolve_body(&gateway, "key:a", body).unwrap().expect("resolved");
    assert_eq!(resolved.previous_response_id.as_deref(), Some("resp_2"));
    assert_eq!(
        texts(&resolved_input(&resolved)),
        [
            "\"asked resp_1\"",
            "\"rs_resp_1\"",
            "\"fc_resp_1\"",
            "\"asked resp_2\"",
            "\"rs_resp_2\"",
            "\"fc_resp_2\"",
            "[{\"text\":\"and now?\",\"type\":\"input_text\"}]"
        ]
    );
    assert_eq!(
        resolved.input,
        [json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "and now?"}]})]
    );
    let sent: Value = serde_json::from_slice(&resolved.body).unwrap();
    assert!(sent.get("previous_response_id").is_none(), "the upstream never sees the id");
    assert_eq!(sent["instructions"], "be brief", "the rest of the request is kept");
}

#[test]
fn another_scopes_or_a_missing_response_is_not_found_in_openais_words() {
    let (gateway, _) = gateway_with(&[stored("key:a", "resp_1", None), stored("key:a", "resp_3", Some("resp_gone"))]);
    let continuing = |scope: &str, id: &str| {
        resolve_body(&gateway, scope, json!({"model": "m", "input": "x", "previous_response_id": id})).unwrap_err()
    };
    for err in [continuing("key:b", "resp_1"), continuing("anonymous", "resp_1"), continuing("key:a", "resp_nope")] {
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(err.code(), "previous_response_not_found");
    }
    assert_eq!(continuing("key:b", "resp_1").to_string(), "Previous response with id 'resp_1' not found.");
    // A link deleted or expired in the middle is named, not skipped.
    assert_eq!(continuing("key:a", "resp_3").to_string(), "Previous response with id 'resp_gone' not found.");
    let bad =
        resolve_body(&gateway, "key:a", json!({"model": "m", "input": "x", "previous_response_id": 5})).unwrap_err();
    assert_eq!(bad.status().as_u16(), 400);
}

#[test]
fn expired_responses_are_gone() {
    let (gateway, ports) = gateway_with(&[stored("key:a", "resp_1", None)]);
    ports.clock.advance(60_000);
    let err = resolve_body(&gateway, "key:a", json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
    assert_eq!(err.unwrap_err().code(), "previous_response_not_found");
}

#[test]
fn item_references_become_the_stored_items() {
    let (gateway, _) = gateway_with(&[stored("key:a", "resp_1", None)]);
    let body = json!({"model": "m", "input": [
        {"role": "user", "content": "weather?"},
        {"type": "item_reference", "id": "rs_resp_1"},
        {"type": "item_reference", "id": "fc_resp_1"},
        {"type": "function_call_output", "call_id": "call_resp_1", "output": "sunny"},
    ]});
    let resolved = resolve_body(&gateway, "key:a", body.clone()).unwrap().expect("resolved");
    let input = resolved_input(&resolved);
    assert_eq!(input[1]["encrypted_content"], "sig_resp_1");
    assert_eq!(input[2]["call_id"], "call_resp_1");
    assert_eq!(input[3]["output"], "sunny");
    assert_eq!(resolved.input, input, "without previous_response_id the stored input is the whole input");
    assert_eq!(resolved.previous_response_id, None);

    let err = resolve_body(&gateway, "key:b", body).unwrap_err();
    assert_eq!((err.status().as_u16(), err.to_string()), (404, "Item with id 'rs_resp_1' not found.".to_owned()));
    let no_id = json!({"model": "m", "input": [{"type": "item_reference"}]});
    assert_eq!(resolve_body(&gateway, "key:a", no_id).unwrap_err().status().as_u16(), 400);
}

#[test]
fn chains_that_repeat_or_run_too_long_are_refused() {
    let looped = [
        stored("a", "resp_1", Some("resp_2")),
        stored("a", "resp_2", Some("resp_1")),
        stored("a", "resp_1", Some("resp_2")),
    ];
    assert!(check_chain("resp_1", &looped).unwrap_err().to_string().contains("repeats response 'resp_1'"));
    let long: Vec<StoredResponse> =
        (0..MAX_CHAIN).map(|i| stored("a", &format!("resp_{i}"), Some(&format!("resp_{}", i + 1)))).collect();
    assert!(check_chain("resp_0", &long).unwrap_err().to_string().contains("longer than"));
    assert!(check_chain("resp_1", &[stored("a", "resp_1", None)]).is_ok());
}

#[test]
fn retention_is_capped_by_the_usage_retention_and_zero_stores_nothing() {
    const DAY: u64 = 24 * 60 * 60 * 1000;
    let settings = |responses, usage| UsageSettings {
        responses_retention_days: responses,
        retention_days: usage,
        ..UsageSettings::default()
    };
    assert_eq!(UsageSettings::default().stored_response_ttl_ms(), Some(30 * DAY));
    assert_eq!(settings(30, 7).stored_response_ttl_ms(), Some(7 * DAY));
    assert_eq!(settings(30, 0).stored_response_ttl_ms(), Some(30 * DAY), "usage kept forever");
    assert_eq!(settings(0, 90).stored_response_ttl_ms(), None);
}

/// A spawner that drops its tasks: the write must then be driven by the answer that waits for
/// it. (The test gateway's own spawner runs tasks with `block_on`, which cannot nest inside
/// the `block_on` these tests run in.)
struct Dropping;

impl crate::ports::Spawner for Dropping {
    fn spawn(&self, _task: crate::maybe_send::BoxFuture<'static, ()>) {}
}

fn plan(gateway: &Gateway, resolved: Option<Resolved>, body: Bytes) -> StorePlan {
    let mut ports = gateway.ports.clone();
    ports.spawner = std::sync::Arc::new(Dropping);
    StorePlan::for_test(&ports, "anonymous", resolved, body, 1_000)
}

fn ok_json(body: &Value) -> Response<Body> {
    Response::new(Body::Full(Bytes::from(body.to_string())))
}

fn answer(id: &str, status: &str) -> Value {
    json!({"id": id, "object": "response", "status": status, "model": "gpt-mock", "store": false,
           "output": [{"type": "message", "id": format!("msg_{id}"), "role": "assistant", "content": []}]})
}

#[test]
fn a_whole_answer_is_stored_before_it_is_returned() {
    let (gateway, ports) = gateway_with(&[]);
    let body = Bytes::from(json!({"model": "m", "input": "hello"}).to_string());
    let response = block_on(plan(&gateway, None, body).keep(ok_json(&answer("resp_a", "completed"))));
    assert_eq!(response.status(), 200);
    let kept = block_on(ports.responses.get("anonymous", "resp_a", NOW)).unwrap().expect("stored");
    assert_eq!((kept.created_ms, kept.expires_ms), (NOW, NOW + 1_000));
    assert_eq!(kept.response["store"], true, "marked stored");
    assert_eq!(kept.input[0]["content"][0]["text"], "hello");
    assert_eq!(kept.output().len(), 1);

    // Failed answers, errors and other JSON are not kept.
    let plain = || plan(&gateway, None, Bytes::new());
    block_on(plain().keep(ok_json(&answer("resp_b", "failed"))));
    let mut refused = ok_json(&answer("resp_c", "completed"));
    *refused.status_mut() = http::StatusCode::BAD_REQUEST;
    block_on(plain().keep(refused));
    block_on(plain().keep(ok_json(&json!({"error": "x"}))));
    assert_eq!(ports.responses.len(), 1);
}

/// A stream of `chunks` through the tap; what the client got.
fn stream_through(store: StorePlan, chunks: Vec<String>) -> String {
    let stream = futures_util::stream::iter(chunks.into_iter().map(|c| Ok::<_, BodyError>(Bytes::from(c))));
    let response = block_on(store.keep(Response::new(Body::from_stream(stream))));
    let Body::Stream(stream) = response.into_body() else { panic!("still a stream") };
    let chunks: Vec<Bytes> = block_on(stream.map(|c| c.unwrap()).collect());
    chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect()
}

#[test]
fn a_stream_is_stored_from_what_the_client_got_at_its_terminal_event() {
    let (gateway, ports) = gateway_with(&[stored("anonymous", "resp_1", None)]);
    let resolved = Resolved {
        body: Bytes::new(),
        input: vec![json!({"role": "user", "content": "next"})],
        previous_response_id: Some("resp_1".into()),
    };
    let continuing = plan(&gateway, Some(resolved), Bytes::new());
    let item = json!({"type": "message", "id": "msg_s", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]});
    let mut finished = answer("resp_s", "completed");
    finished["output"] = json!([]);
    let events = format!(
        "event: response.created\ndata: {}\n\nevent: response.output_item.done\ndata: {}\n\nevent: response.completed\ndata: {}\n\n",
        json!({"type": "response.created", "response": {"id": "resp_s"}}),
        json!({"type": "response.output_item.done", "item": item}),
        json!({"type": "response.completed", "response": finished}),
    );
    // Split anywhere, the events are read whole.
    let (a, b) = events.split_at(37);
    let (b, c) = b.split_at(b.len() - 20);
    let got = stream_through(continuing, vec![a.into(), b.into(), c.into()]);
    assert_eq!(got, events, "the client gets every byte");
    let kept = block_on(ports.responses.get("anonymous", "resp_s", NOW)).unwrap().expect("stored");
    assert_eq!(kept.output(), [item], "the items the client saw done, when the terminal event has none");
    assert_eq!(kept.previous_response_id.as_deref(), Some("resp_1"));
    assert_eq!(kept.response["previous_response_id"], "resp_1");
    assert_eq!(kept.input, [json!({"role": "user", "content": "next"})]);

    // Data-only events (no `event:` line) are read by their type; a stream without a terminal
    // event (cut, or failed) keeps nothing.
    let data_only =
        format!("data: {}\n\n", json!({"type": "response.completed", "response": answer("resp_d", "completed")}));
    stream_through(plan(&gateway, None, Bytes::new()), vec![data_only]);
    assert!(block_on(ports.responses.get("anonymous", "resp_d", NOW)).unwrap().is_some());
    stream_through(
        plan(&gateway, None, Bytes::new()),
        vec![format!("event: response.failed\ndata: {}\n\n", json!({"response": answer("resp_f", "failed")}))],
    );
    assert!(block_on(ports.responses.get("anonymous", "resp_f", NOW)).unwrap().is_none());
}

#[test]
fn input_items_list_in_pages_both_ways() {
    let mut response = stored("a", "resp_1", None);
    response.input = vec![
        json!({"role": "user", "content": "one"}),
        json!({"type": "function_call_output", "call_id": "c", "output": "two"}),
        json!({"type": "message", "id": "msg_own", "role": "user", "content": "three"}),
    ];
    let items = listed_items(&response);
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["msg_1_in0", "item_1_in1", "msg_own"]);
    assert_eq!(items[0]["type"], "message");

    let page = |query: &str| ListQuery::parse(Some(query)).and_then(|q| q.page(items.clone()));
    let ids_of = |page: &Value| page["data"].as_array().unwrap().iter().map(|i| i["id"].clone()).collect::<Vec<_>>();
    let newest = page("").unwrap();
    assert_eq!(ids_of(&newest), ["msg_own", "item_1_in1", "msg_1_in0"], "newest first by default");
    assert_eq!((newest["object"].as_str(), newest["has_more"].as_bool()), (Some("list"), Some(false)));
    let first = page("order=asc&limit=2").unwrap();
    assert_eq!(ids_of(&first), ["msg_1_in0", "item_1_in1"]);
    assert_eq!(
        (first["first_id"].as_str(), first["last_id"].as_str(), first["has_more"].as_bool()),
        (Some("msg_1_in0"), Some("item_1_in1"), Some(true))
    );
    assert_eq!(ids_of(&page("order=asc&after=item_1_in1").unwrap()), ["msg_own"]);
    assert_eq!(ids_of(&page("order=asc&before=msg_own&include%5B%5D=x").unwrap()), ["msg_1_in0", "item_1_in1"]);
    let empty = page("after=msg_1_in0").unwrap();
    assert!(empty["first_id"].is_null() && empty["data"].as_array().unwrap().is_empty());
    for bad in ["limit=0", "limit=101", "limit=x", "order=up", "after=nope"] {
        assert_eq!(page(bad).unwrap_err().status().as_u16(), 400, "{bad}");
    }
}

#[test]
fn a_stream_replayed_whole_is_read_as_a_stream() {
    let (gateway, ports) = gateway_with(&[]);
    let events = format!("event: response.completed\ndata: {}\n\n", json!({"response": answer("resp_r", "completed")}));
    let replayed = Response::new(Body::Full(Bytes::from(events.clone())));
    let response = block_on(plan(&gateway, None, Bytes::new()).keep(replayed));
    let got = block_on(response.into_body().collect(1 << 20)).unwrap();
    assert_eq!(got, events.as_bytes());
    assert!(block_on(ports.responses.get("anonymous", "resp_r", NOW)).unwrap().is_some());
}
