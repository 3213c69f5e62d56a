//! The response cache end to end: a deterministic request is answered once by the upstream,
//! then from the cache (as JSON, or replayed as a stream in the client's format); bypass and
//! non-deterministic requests always reach the upstream.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use omniroute_tests::sse::{data_events, streamed_text};
use serde_json::{Value, json};

async fn ask(gw: &TestGateway, body: &Value, headers: &[(&str, &str)]) -> (String, String) {
    let mut request = reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cache = response.headers().get("x-omniroute-cache").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (cache, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deterministic_requests_cost_one_upstream_call() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start("", &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &mock.base_url())]).await;
    let question = json!([{ "role": "user", "content": "What is 2+2?" }]);
    let deterministic = json!({ "model": "openai/gpt-mock", "temperature": 0, "messages": question });

    let (cache, first) = ask(&gw, &deterministic, &[]).await;
    assert_eq!(cache, "MISS");
    assert_eq!(mock.requests().len(), 1);
    // The answer is stored off the request path: wait until it is served from the cache.
    let mut hit = None;
    for _ in 0..50 {
        let (cache, body) = ask(&gw, &deterministic, &[]).await;
        if cache == "HIT" {
            hit = Some(body);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let hit: Value = serde_json::from_str(&hit.expect("the answer was cached")).unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(hit["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]);
    assert_eq!(hit["usage"]["prompt_tokens"], 12, "{hit}");
    let calls = mock.requests().len();

    // The same request streamed is replayed as a stream, in the client's format.
    let mut streamed = deterministic.clone();
    streamed["stream"] = json!(true);
    let (cache, body) = ask(&gw, &streamed, &[]).await;
    assert_eq!(cache, "HIT");
    assert_eq!(streamed_text(&body), MOCK_TEXT);
    assert_eq!(data_events(&body).last().map(String::as_str), Some("[DONE]"));
    // Unset temperature reads the cache too; nothing so far reached the upstream.
    let unset = json!({ "model": "openai/gpt-mock", "messages": question });
    assert_eq!(ask(&gw, &unset, &[]).await.0, "HIT");
    assert_eq!(mock.requests().len(), calls);

    // Bypass, and non-deterministic requests, always reach the upstream.
    assert_eq!(ask(&gw, &deterministic, &[("x-omniroute-no-cache", "true")]).await.0, "");
    let creative = json!({ "model": "openai/gpt-mock", "temperature": 0.9, "messages": question });
    assert_eq!(ask(&gw, &creative, &[]).await.0, "");
    assert_eq!(mock.requests().len(), calls + 2);
    // The cache reports itself in the seed's shape, and can be cleared.
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    assert_eq!(stats["semanticCache"]["memorySize"], 1, "{stats}");
    assert!(stats["semanticCache"]["hitRate"].as_f64().unwrap() > 0.0, "{stats}");
    assert_eq!(stats["idempotency"]["windowMs"], 5000, "{stats}");
    let cleared = gw.admin().delete(gw.url("/api/cache")).send().await.unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(ask(&gw, &deterministic, &[]).await.0, "MISS");
    // A different question is a miss.
    let other =
        json!({ "model": "openai/gpt-mock", "temperature": 0, "messages": [{ "role": "user", "content": "3+3?" }] });
    assert_eq!(ask(&gw, &other, &[]).await.0, "MISS");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_reach_the_upstream_once() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start("", &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &mock.base_url())]).await;
    let http = reqwest::Client::new();
    for (stream, key) in [(false, "order-1"), (true, "order-2")] {
        let body =
            json!({ "model": "openai/slow-300", "stream": stream, "messages": [{ "role": "user", "content": "hi" }] });
        let before = mock.requests().len();
        let answers = futures_util::future::join_all((0..50).map(|_| {
            let request = http.post(gw.url("/v1/chat/completions")).header("idempotency-key", key).json(&body);
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let duplicate = response.headers().contains_key("x-omniroute-idempotent");
                (status, duplicate, response.text().await.unwrap())
            }
        }))
        .await;
        assert_eq!(mock.requests().len(), before + 1, "stream={stream}: one upstream call");
        assert!(answers.iter().all(|(status, _, _)| *status == 200));
        assert_eq!(answers.iter().filter(|(_, duplicate, _)| *duplicate).count(), 49, "stream={stream}");
        let first = &answers[0].2;
        assert!(answers.iter().all(|(_, _, text)| text == first), "stream={stream}: identical answers");
        let text = if stream { streamed_text(first) } else { first.clone() };
        assert!(text.contains(MOCK_TEXT), "{text}");
    }
    // After completion, within the window: the stored answer, still one upstream call.
    let body =
        json!({ "model": "openai/slow-300", "stream": false, "messages": [{ "role": "user", "content": "hi" }] });
    let calls = mock.requests().len();
    let again = http
        .post(gw.url("/v1/chat/completions"))
        .header("idempotency-key", "order-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["x-omniroute-idempotent"], "true");
    assert_eq!(mock.requests().len(), calls);
    // The same key with another body is refused.
    let other = json!({ "model": "openai/slow-300", "messages": [{ "role": "user", "content": "something else" }] });
    let conflict = http
        .post(gw.url("/v1/chat/completions"))
        .header("idempotency-key", "order-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status(), 400);
    gw.stop().await;
}
