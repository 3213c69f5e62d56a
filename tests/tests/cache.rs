//! The response cache end to end: a deterministic request is answered once by the upstream,
//! then from the cache (as JSON, or replayed as a stream in the client's format); bypass and
//! non-deterministic requests always reach the upstream. Its settings (global, per key) apply
//! without a restart; the semantic cache answers a request of the same meaning; `/metrics`
//! counts what happened.

use std::time::{Duration, Instant};

use omniroute_storage::{Database, LibsqlUsageSink};
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream, bag_of_words, cosine};
use omniroute_tests::sse::{data_events, streamed_text};
use serde_json::{Value, json};

/// A chat answer: status, the cache headers and the body.
struct Answer {
    status: u16,
    cache: String,
    kind: String,
    similarity: Option<f64>,
    body: String,
}

async fn chat(gw: &TestGateway, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, cache, kind) = (
        response.status().as_u16(),
        header("x-omniroute-cache").unwrap_or_default(),
        header("x-omniroute-cache-type").unwrap_or_default(),
    );
    let similarity = header("x-omniroute-cache-similarity").map(|s| s.parse().unwrap());
    Answer { status, cache, kind, similarity, body: response.text().await.unwrap() }
}

/// Asks until the answer comes from the cache (answers are stored off the request path).
async fn until_hit(gw: &TestGateway, body: &Value, headers: &[(&str, &str)]) -> Answer {
    for _ in 0..100 {
        let answer = chat(gw, body, headers).await;
        if answer.cache == "HIT" {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never served from the cache: {body}");
}

/// Chat completions the mock received (embedding calls aside).
fn chat_calls(mock: &MockUpstream) -> usize {
    mock.requests().iter().filter(|r| r.path.ends_with("/chat/completions")).count()
}

fn question(text: &str) -> Value {
    json!({ "model": "openai/gpt-mock", "temperature": 0, "messages": [{ "role": "user", "content": text }] })
}

async fn put_settings(gw: &TestGateway, method: reqwest::Method, body: Value) -> (u16, Value) {
    let response = gw.admin().request(method, gw.url("/api/settings/cache")).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn openai_gateway(mock: &MockUpstream) -> TestGateway {
    TestGateway::start("", &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &mock.base_url())]).await
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_apply_to_the_running_cache() {
    let mock = MockUpstream::start();
    let gw = openai_gateway(&mock).await;
    let defaults: Value = gw.admin_get("/api/settings/cache").await;
    assert_eq!(
        defaults,
        json!({
            "enabled": true, "ttlMs": 3600000, "maxEntries": 500, "maxBytes": 67108864,
            "semantic": { "embeddingModel": null, "threshold": 0.95, "maxEntries": 1000, "timeoutMs": 2000 }
        })
    );
    let q = question("What is 2+2?");
    assert_eq!(chat(&gw, &q, &[]).await.cache, "MISS");
    until_hit(&gw, &q, &[]).await;

    // Globally off: no lookups, every request reaches the upstream, memory is emptied.
    let (status, stored) = put_settings(&gw, reqwest::Method::PUT, json!({ "enabled": false })).await;
    assert_eq!((status, stored["enabled"].clone(), stored["ttlMs"].clone()), (200, json!(false), json!(3600000)));
    let calls = chat_calls(&mock);
    for _ in 0..2 {
        assert_eq!(chat(&gw, &q, &[]).await.cache, "", "off: neither HIT nor MISS");
    }
    assert_eq!(chat_calls(&mock), calls + 2);
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    assert_eq!(
        (stats["semanticCache"]["enabled"].clone(), stats["semanticCache"]["memorySize"].clone()),
        (json!(false), json!(0))
    );

    // On again with a short TTL (a merge patch keeps the rest): answers expire after it.
    let (status, stored) = put_settings(&gw, reqwest::Method::PATCH, json!({ "enabled": true, "ttlMs": 1500 })).await;
    assert_eq!((status, stored["ttlMs"].clone(), stored["maxEntries"].clone()), (200, json!(1500), json!(500)));
    let short = question("What is 3+3?");
    assert_eq!(chat(&gw, &short, &[]).await.cache, "MISS");
    until_hit(&gw, &short, &[]).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(chat(&gw, &short, &[]).await.cache, "MISS", "expired in memory and in the store");

    // Memory bounded by size: the least recently used answers leave memory (the store keeps them).
    let cleared = gw.admin().delete(gw.url("/api/cache")).send().await.unwrap();
    assert_eq!(cleared.status(), 200);
    put_settings(&gw, reqwest::Method::PATCH, json!({ "ttlMs": 60000 })).await;
    chat(&gw, &question("q0"), &[]).await;
    until_hit(&gw, &question("q0"), &[]).await;
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    assert_eq!(stats["semanticCache"]["memorySize"], 1, "{stats}");
    let one = stats["semanticCache"]["memoryBytes"].as_u64().unwrap();
    let max_bytes = (2 * one + one / 2).max(1024);
    let fits = (max_bytes / one) as usize;
    let (status, _) = put_settings(&gw, reqwest::Method::PATCH, json!({ "maxBytes": max_bytes })).await;
    assert_eq!(status, 200);
    for n in 1..=fits {
        let q = question(&format!("q{n}"));
        chat(&gw, &q, &[]).await;
        until_hit(&gw, &q, &[]).await;
    }
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    let cache = &stats["semanticCache"];
    assert_eq!(cache["memorySize"].as_u64(), Some(fits as u64), "{stats}");
    assert!(cache["memoryBytes"].as_u64().unwrap() <= max_bytes, "{stats}");
    let (calls, store_hits) = (chat_calls(&mock), cache["storeHits"].as_u64().unwrap());
    assert_eq!(chat(&gw, &question("q0"), &[]).await.cache, "HIT", "evicted from memory, read from the store");
    assert_eq!(chat_calls(&mock), calls);
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    assert_eq!(stats["semanticCache"]["storeHits"].as_u64(), Some(store_hits + 1), "{stats}");
    // Fewer entries: evicted at once.
    put_settings(&gw, reqwest::Method::PATCH, json!({ "maxEntries": 1 })).await;
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    assert_eq!(
        (stats["semanticCache"]["memorySize"].clone(), stats["semanticCache"]["memoryMaxSize"].clone()),
        (json!(1), json!(1))
    );

    // Refused with the field named; nothing changes.
    for (body, param) in [
        (json!({ "ttlMs": 0 }), "ttlMs"),
        (json!({ "maxBytes": 10 }), "maxBytes"),
        (json!({ "semantic": { "threshold": 1.5 } }), "semantic.threshold"),
        (json!({ "semantic": { "embeddingModel": "nope" } }), "semantic.embeddingModel"),
        (json!({ "semantic": { "embeddingModel": "groq/embed" } }), "semantic.embeddingModel"),
        (json!({ "ttl": 5 }), "ttl"),
    ] {
        let (status, error) = put_settings(&gw, reqwest::Method::PUT, body.clone()).await;
        assert_eq!((status, error["error"]["param"].as_str()), (400, Some(param)), "{body}: {error}");
    }
    let (status, error) = put_settings(&gw, reqwest::Method::PATCH, json!([1])).await;
    assert_eq!((status, error["error"]["param"].as_str()), (400, Some("body")));
    assert_eq!(gw.admin_get("/api/settings/cache").await["maxEntries"], 1);
    let audit: Value = gw.admin_get("/api/compliance/audit-log").await;
    let actions = audit.to_string();
    assert!(actions.matches("settings.cache").count() >= 3, "{audit}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_can_turn_the_cache_off_for_its_requests() {
    let mock = MockUpstream::start();
    let gw = openai_gateway(&mock).await;
    let create = |name: &str, no_cache: bool| {
        let body = json!({ "name": name, "noCache": no_cache });
        gw.admin().post(gw.url("/api/keys")).json(&body).send()
    };
    let plain: Value = create("plain", false).await.unwrap().json().await.unwrap();
    let opted_out: Value = create("no-cache", true).await.unwrap().json().await.unwrap();
    assert_eq!(
        (plain["apiKey"]["noCache"].clone(), opted_out["apiKey"]["noCache"].clone()),
        (json!(false), json!(true))
    );
    let bearer = |created: &Value| format!("Bearer {}", created["key"].as_str().unwrap());
    let (plain_auth, opted_out_auth) = (bearer(&plain), bearer(&opted_out));
    let q = question("Cache me if you can");
    assert_eq!(chat(&gw, &q, &[("authorization", &plain_auth)]).await.cache, "MISS");
    until_hit(&gw, &q, &[("authorization", &plain_auth)]).await;

    let calls = chat_calls(&mock);
    for _ in 0..2 {
        let answer = chat(&gw, &q, &[("authorization", &opted_out_auth)]).await;
        assert_eq!((answer.status, answer.cache.as_str()), (200, ""), "this key never reads the cache");
    }
    assert_eq!(chat_calls(&mock), calls + 2);
    // Switched back on over the API: the next request hits.
    let id = opted_out["apiKey"]["id"].as_str().unwrap();
    let updated =
        gw.admin().patch(gw.url(&format!("/api/keys/{id}"))).json(&json!({ "noCache": false })).send().await.unwrap();
    assert_eq!(updated.json::<Value>().await.unwrap()["noCache"], false);
    assert_eq!(chat(&gw, &q, &[("authorization", &opted_out_auth)]).await.cache, "HIT");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_stream_carries_the_original_streams_content() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    // Per client format: the path, a deterministic body, and how to read the text of its stream.
    type Text = fn(&str) -> String;
    let anthropic_text: Text = |body| {
        data_events(body)
            .iter()
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| v["delta"]["text"].as_str().map(str::to_owned))
            .collect()
    };
    let responses_text: Text = |body| {
        data_events(body)
            .iter()
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter(|v| v["type"] == "response.output_text.delta")
            .filter_map(|v| v["delta"].as_str().map(str::to_owned))
            .collect()
    };
    let gemini_text: Text = |body| {
        data_events(body)
            .iter()
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| v["candidates"][0]["content"]["parts"][0]["text"].as_str().map(str::to_owned))
            .collect()
    };
    let ollama_text: Text = |body| {
        body.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["message"]["content"].as_str().map(str::to_owned))
            .collect()
    };
    let chat_text: Text = streamed_text;
    let question = |n: &str| format!("Replay test {n}");
    let cases: Vec<(&str, Value, Value, Text)> = vec![
        (
            "/v1/chat/completions",
            json!({ "model": "anthropic/m", "temperature": 0, "messages": [{ "role": "user", "content": question("chat") }] }),
            json!({ "stream": true }),
            chat_text,
        ),
        (
            "/v1/messages",
            json!({ "model": "gemini/m", "temperature": 0, "max_tokens": 64, "messages": [{ "role": "user", "content": question("messages") }] }),
            json!({ "stream": true }),
            anthropic_text,
        ),
        (
            "/v1/responses",
            json!({ "model": "ollama/m", "temperature": 0, "input": question("responses") }),
            json!({ "stream": true }),
            responses_text,
        ),
        (
            "/api/chat",
            json!({ "model": "openai/m", "options": { "temperature": 0 }, "stream": false, "messages": [{ "role": "user", "content": question("ollama") }] }),
            json!({ "stream": true }),
            ollama_text,
        ),
    ];
    for (path, body, streaming, text) in cases {
        let mut streamed = body.clone();
        streamed.as_object_mut().unwrap().extend(streaming.as_object().unwrap().clone());
        // The original stream, straight from the upstream.
        let original =
            http.post(gw.url(path)).header("x-omniroute-no-cache", "true").json(&streamed).send().await.unwrap();
        let original = original.text().await.unwrap();
        // A complete answer stored, then the stream replayed from it.
        let first = http.post(gw.url(path)).json(&body).send().await.unwrap();
        assert_eq!(first.headers()["x-omniroute-cache"], "MISS", "{path}");
        first.bytes().await.unwrap();
        let mut replayed = None;
        for _ in 0..100 {
            let response = http.post(gw.url(path)).json(&streamed).send().await.unwrap();
            if response.headers().get("x-omniroute-cache").is_some_and(|v| v == "HIT") {
                replayed = Some(response.text().await.unwrap());
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let replayed = replayed.unwrap_or_else(|| panic!("{path}: never replayed"));
        assert_eq!(text(&original), MOCK_TEXT, "{path}: {original}");
        assert_eq!(text(&replayed), text(&original), "{path}: {replayed}");
    }
    // Gemini's streaming method replays too.
    let gemini = json!({ "contents": [{ "role": "user", "parts": [{ "text": question("gemini") }] }], "generationConfig": { "temperature": 0 } });
    let generate = gw.url("/v1beta/models/openai%2Fm:generateContent");
    let stream = gw.url("/v1beta/models/openai%2Fm:streamGenerateContent?alt=sse");
    let original = http
        .post(&stream)
        .header("x-omniroute-no-cache", "true")
        .json(&gemini)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    http.post(&generate).json(&gemini).send().await.unwrap().bytes().await.unwrap();
    let mut replayed = String::new();
    for _ in 0..100 {
        let response = http.post(&stream).json(&gemini).send().await.unwrap();
        if response.headers().get("x-omniroute-cache").is_some_and(|v| v == "HIT") {
            replayed = response.text().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(gemini_text(&original), MOCK_TEXT);
    assert_eq!(gemini_text(&replayed), gemini_text(&original), "{replayed}");
    gw.stop().await;
}

/// The similarity the gateway computes for two single-question conversations.
fn similarity(a: &str, b: &str) -> f64 {
    cosine(&bag_of_words(&format!("user: {a}\n")), &bag_of_words(&format!("user: {b}\n")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_semantic_cache_answers_the_same_question_in_other_words() {
    let mock = MockUpstream::start();
    let gw = openai_gateway(&mock).await;
    let embeddings = |mock: &MockUpstream| mock.requests().iter().filter(|r| r.path == "/v1/embeddings").count();
    let settings = json!({ "semantic": { "embeddingModel": "openai/embed-mock", "threshold": 0.8 } });
    let (status, stored) = put_settings(&gw, reqwest::Method::PATCH, settings).await;
    assert_eq!((status, stored["semantic"]["embeddingModel"].clone()), (200, json!("openai/embed-mock")), "{stored}");
    // Embeddings are priced like any call: $2 per million input tokens here.
    let price = json!({ "overrides": [{ "provider": "openai", "model": "embed-mock", "inputPrice": 2.0, "outputPrice": 0.0 }] });
    let priced = gw.admin().put(gw.url("/api/pricing")).json(&price).send().await.unwrap();
    assert_eq!(priced.status(), 200);

    let original = "What is the capital of France?";
    assert_eq!(chat(&gw, &question(original), &[]).await.cache, "MISS");
    assert_eq!(embeddings(&mock), 1, "the miss was embedded");
    let embedded = mock.requests().into_iter().find(|r| r.path == "/v1/embeddings").unwrap().json();
    assert_eq!(
        embedded,
        json!({ "model": "embed-mock", "input": format!("user: {original}\n"), "encoding_format": "float" })
    );
    // Stored off the request path, with its embedding.
    for _ in 0..100 {
        if gw.admin_get("/api/cache/stats").await["semanticCache"]["semantic"]["entries"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let calls = chat_calls(&mock);

    // The same question in other words: answered from the cache, saying so and how similar.
    let reworded = "what is the capital of france";
    let hit = chat(&gw, &question(reworded), &[]).await;
    assert_eq!((hit.status, hit.cache.as_str(), hit.kind.as_str()), (200, "HIT", "semantic"));
    let expected = similarity(original, reworded);
    assert!((hit.similarity.unwrap() - expected).abs() < 1e-4, "{:?} vs {expected}", hit.similarity);
    let body: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], MOCK_TEXT);
    // Streamed, it is replayed as a stream.
    let mut streamed = question(reworded);
    streamed["stream"] = json!(true);
    let replay = chat(&gw, &streamed, &[]).await;
    assert_eq!((replay.cache.as_str(), replay.kind.as_str()), ("HIT", "semantic"));
    assert_eq!(streamed_text(&replay.body), MOCK_TEXT);
    // Close, at or above the threshold: a hit. Below it: a miss.
    let close = "What's the capital of France?";
    let close_similarity = similarity(original, close);
    assert!(close_similarity > 0.8 && close_similarity < 0.9, "{close_similarity}");
    let hit = chat(&gw, &question(close), &[]).await;
    assert_eq!(hit.kind, "semantic");
    assert!((hit.similarity.unwrap() - close_similarity).abs() < 1e-4, "{:?}", hit.similarity);
    put_settings(&gw, reqwest::Method::PATCH, json!({ "semantic": { "threshold": 0.9 } })).await;
    assert_eq!(chat(&gw, &question("WHAT'S the capital of France?"), &[]).await.cache, "MISS");
    assert_eq!(chat_calls(&mock), calls + 1, "only the below-threshold request reached the upstream");

    // Never across models or system prompts, never for requests the cache may not answer.
    let mut other_model = question(reworded);
    other_model["model"] = json!("openai/gpt-mock-2");
    assert_eq!(chat(&gw, &other_model, &[]).await.cache, "MISS");
    let mut with_system = question(reworded);
    with_system["messages"] =
        json!([{ "role": "system", "content": "Answer in French." }, { "role": "user", "content": reworded }]);
    assert_eq!(chat(&gw, &with_system, &[]).await.cache, "MISS");
    let mut creative = question(reworded);
    creative["temperature"] = json!(0.9);
    let before = embeddings(&mock);
    assert_eq!(chat(&gw, &creative, &[]).await.cache, "");
    assert_eq!(chat(&gw, &question(reworded), &[("x-omniroute-no-cache", "true")]).await.cache, "");
    assert_eq!(embeddings(&mock), before, "not cacheable: no embedding call");

    let stats: Value = gw.admin_get("/api/cache/stats").await;
    let cache = &stats["semanticCache"];
    assert_eq!(cache["semanticHits"], 3, "{stats}");
    assert_eq!(cache["semantic"]["hits"], 3, "{stats}");
    assert_eq!(cache["semantic"]["enabled"], true, "{stats}");
    assert!(cache["semantic"]["entries"].as_u64().unwrap() >= 1, "{stats}");

    // A slow embedding model is given up on: the request goes on as a miss, in time.
    put_settings(
        &gw,
        reqwest::Method::PATCH,
        json!({ "semantic": { "embeddingModel": "openai/slow-3000", "timeoutMs": 200 } }),
    )
    .await;
    let started = Instant::now();
    let answer = chat(&gw, &question("A question nobody asked"), &[]).await;
    assert_eq!((answer.status, answer.cache.as_str()), (200, "MISS"));
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    assert!(stats["semanticCache"]["semantic"]["embeddingFailures"].as_u64().unwrap() >= 1, "{stats}");
    // A failing one too.
    put_settings(&gw, reqwest::Method::PATCH, json!({ "semantic": { "embeddingModel": "openai/error-500" } })).await;
    assert_eq!(chat(&gw, &question("Another one"), &[]).await.status, 200);
    // Off again.
    let (_, off) = put_settings(&gw, reqwest::Method::PATCH, json!({ "semantic": { "embeddingModel": null } })).await;
    assert_eq!(off["semantic"]["embeddingModel"], Value::Null);
    let before = embeddings(&mock);
    chat(&gw, &question("Yet another"), &[]).await;
    assert_eq!(embeddings(&mock), before);

    // Every embedding call is a usage row, like any upstream attempt.
    let calls_of = |model: &str| {
        mock.requests().iter().filter(|r| r.path == "/v1/embeddings" && r.json()["model"] == model).count()
    };
    let data_dir = gw.stop().await;
    let db = Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    let embedded: Vec<_> = rows.iter().filter(|r| r.upstream_model == "embed-mock").collect();
    assert_eq!(embedded.len(), calls_of("embed-mock"), "{embedded:?}");
    let first = embedded[0];
    assert_eq!(
        (first.provider.as_str(), first.requested_model.as_str(), first.status),
        ("openai", "openai/embed-mock", 200)
    );
    assert_eq!(
        (first.input_tokens, first.output_tokens),
        (Some(7), Some(0)),
        "user, what, is, the, capital, of, france"
    );
    assert_eq!(first.cost_usd, Some(7.0 * 2.0 / 1_000_000.0), "priced from the model's input price");
    let slow = rows.iter().find(|r| r.upstream_model == "slow-3000").expect("the timed-out call's row");
    assert_eq!(slow.status, 0);
    assert!(slow.error.as_deref().unwrap_or_default().contains("200 ms"), "{slow:?}");
    let failed = rows.iter().find(|r| r.upstream_model == "error-500").expect("the failed call's row");
    assert_eq!(failed.status, 500);
}

/// The value of the sample `line_start` (`name{labels}`) in Prometheus text.
fn sample(metrics: &str, line_start: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_cache_hits_errors_and_the_usage_buffer() {
    let mock = MockUpstream::start();
    let gw = openai_gateway(&mock).await;
    put_settings(
        &gw,
        reqwest::Method::PATCH,
        json!({ "semantic": { "embeddingModel": "openai/embed", "threshold": 0.8 } }),
    )
    .await;
    let q = question("How many legs does a spider have?");
    assert_eq!(chat(&gw, &q, &[]).await.cache, "MISS");
    until_hit(&gw, &q, &[]).await; // misses until stored, then one exact hit
    assert_eq!(chat(&gw, &q, &[]).await.kind, "exact");
    assert_eq!(chat(&gw, &question("how many legs does a spider have"), &[]).await.kind, "semantic");
    // Errors the gateway answers itself, by code.
    let unknown = json!({ "model": "nosuch/model", "messages": [{ "role": "user", "content": "hi" }] });
    for _ in 0..2 {
        assert_eq!(chat(&gw, &unknown, &[]).await.status, 400);
    }
    assert_eq!(reqwest::get(gw.url("/api/keys")).await.unwrap().status(), 401);

    let metrics = gw.admin().get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let stats: Value = gw.admin_get("/api/cache/stats").await;
    let cache = &stats["semanticCache"];
    let exact_hits = cache["hits"].as_f64().unwrap();
    assert!(exact_hits >= 2.0, "{stats}");
    assert_eq!(sample(&metrics, r#"omniroute_cache_hits_total{type="exact"}"#), Some(exact_hits), "{metrics}");
    assert_eq!(sample(&metrics, r#"omniroute_cache_hits_total{type="semantic"}"#), Some(1.0));
    let misses = cache["lookups"].as_f64().unwrap() - exact_hits - 1.0;
    assert_eq!(sample(&metrics, "omniroute_cache_misses_total"), Some(misses), "{metrics}\n{stats}");
    assert_eq!(sample(&metrics, r#"omniroute_gateway_errors_total{code="unknown_provider"}"#), Some(2.0), "{metrics}");
    assert_eq!(sample(&metrics, r#"omniroute_gateway_errors_total{code="unauthorized"}"#), Some(1.0), "{metrics}");
    assert_eq!(sample(&metrics, "omniroute_cache_memory_entries"), Some(1.0), "{metrics}");
    assert_eq!(sample(&metrics, "omniroute_semantic_cache_entries"), Some(1.0), "{metrics}");
    assert_eq!(sample(&metrics, "omniroute_semantic_embedding_failures_total"), Some(0.0));
    assert_eq!(sample(&metrics, "omniroute_usage_dropped_rows_total"), Some(0.0), "{metrics}");
    assert!(sample(&metrics, "omniroute_usage_buffer_rows").is_some(), "{metrics}");
    assert!(sample(&metrics, r#"omniroute_requests_total{provider="openai",model="gpt-mock",status="200"}"#).is_some());
    gw.stop().await;
}
