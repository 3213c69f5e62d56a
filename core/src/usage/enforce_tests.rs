//! Budgets at the guard: a key at its limit is refused in the client's format before any
//! upstream call, the warning header shows from the warning share, and a new period lets it in.

use bytes::Bytes;
use futures_executor::block_on;
use http::Request;

use crate::body::Body;
use crate::config::{ApiKeyRecord, BudgetPeriod, ConfigChange, KeyBudget, KeyRole};
use crate::pipeline::test_support::memory_gateway;
use crate::ports::ConfigStore;

const DAY_MS: u64 = 86_400_000;
const SECRET: &str = "sk-omni-budget-test";

fn key() -> ApiKeyRecord {
    let budget = KeyBudget { limit_usd: 1.0, period: BudgetPeriod::Daily, warn_ratio: 0.5 };
    ApiKeyRecord {
        name: "tiny".into(),
        budget: Some(budget),
        ..crate::auth::guard::tests::key("key_b", SECRET, KeyRole::User)
    }
}

fn chat(path: &str, body: &'static str) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {SECRET}"))
        .header("x-api-key", SECRET)
        .body(Body::Full(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

async fn body_json(response: http::Response<Body>) -> serde_json::Value {
    let bytes = response.into_body().collect(1 << 20).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_spent_budget_refuses_in_the_clients_format_until_the_period_ends() {
    let now = 100 * DAY_MS + 10;
    let (gateway, ports) = memory_gateway(now);
    block_on(ports.config.apply(vec![ConfigChange::PutApiKey(key())], None)).unwrap();
    block_on(gateway.refresh()).unwrap();
    const OPENAI: &str = r#"{"model":"nowhere/m","messages":[{"role":"user","content":"hi"}]}"#;
    const ANTHROPIC: &str = r#"{"model":"nowhere/m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;

    // Under the warning share: no header (and the request goes on to routing: 400 here).
    let response = block_on(gateway.handle(chat("/v1/chat/completions", OPENAI)));
    assert_ne!(response.status(), 402);
    assert!(response.headers().get("x-omniroute-budget-warning").is_none());

    gateway.budgets.add("key_b", now, 0.6);
    let response = block_on(gateway.handle(chat("/v1/chat/completions", OPENAI)));
    assert_ne!(response.status(), 402);
    let warning = response.headers()["x-omniroute-budget-warning"].to_str().unwrap().to_owned();
    assert_eq!(warning, "used=60%; spent=0.6; limit=1; period=daily");

    gateway.budgets.add("key_b", now, 0.4);
    let response = block_on(gateway.handle(chat("/v1/chat/completions", OPENAI)));
    assert_eq!(response.status(), 402, "spent == limit refuses");
    let body = block_on(body_json(response));
    assert_eq!(body["error"]["code"], "budget_exceeded", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("resets at 1970-04-12T00:00:00Z"), "{body}");
    let response = block_on(gateway.handle(chat("/v1/messages", ANTHROPIC)));
    assert_eq!(response.status(), 402);
    let body = block_on(body_json(response));
    assert_eq!((body["type"].as_str(), body["error"]["type"].as_str()), (Some("error"), Some("billing_error")));

    ports.clock.advance(DAY_MS);
    let response = block_on(gateway.handle(chat("/v1/chat/completions", OPENAI)));
    assert_ne!(response.status(), 402, "a new day, a new budget");
}
