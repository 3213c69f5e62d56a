//! OpenAI Embeddings (`POST /v1/embeddings`): `{"object":"list","data":[{"object":"embedding",
//! "index","embedding"}],"model","usage":{"prompt_tokens","total_tokens"}}`. The vectors are
//! deterministic bags of words ([`bag_of_words`]), so texts sharing most words are close and
//! tests can compute the similarity the gateway will see.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::openai_chat::{error_body, json_response};
use super::{Early, MockState, bearer, html, plan};

/// Dimensions of every mock embedding.
pub const EMBEDDING_DIMENSIONS: usize = 256;

/// The mock's embedding of `text`: each lower-cased word (a run of letters and digits) adds 1 to
/// the dimension its FNV-1a hash picks.
pub fn bag_of_words(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0f32; EMBEDDING_DIMENSIONS];
    for word in words(text) {
        let hash = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        vector[(hash % EMBEDDING_DIMENSIONS as u64) as usize] += 1.0;
    }
    vector
}

/// Cosine similarity of two vectors (what the gateway compares).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

pub(super) async fn embeddings(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    state.record(&uri, &headers, &body);
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return json_response(400, error_body(400, "We could not parse the JSON body of your request."));
    };
    if bearer(&headers) == Some("sk-bad") {
        return json_response(500, error_body(500, "The server had an error while processing your request."));
    }
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    match plan(&model, None).await {
        // `context-too-long` is a generation model: embeddings answer it as any other name.
        Ok(_) | Err(Early::TooLong) => {}
        Err(Early::Status(status)) => {
            return json_response(status, error_body(status, &format!("mock upstream error {status}")));
        }
        Err(Early::Html(status)) => return html(status),
    }
    let inputs: Vec<String> = match &request["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        _ => return json_response(400, error_body(400, "'input' must be a string or an array of strings.")),
    };
    if inputs.iter().any(String::is_empty) {
        return json_response(400, error_body(400, "'input' cannot be an empty string."));
    }
    let tokens: usize = inputs.iter().map(|t| words(t).count()).sum();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({ "object": "embedding", "index": index, "embedding": bag_of_words(text) }))
        .collect();
    json_response(
        200,
        json!({
            "object": "list", "data": data, "model": model,
            "usage": { "prompt_tokens": tokens, "total_tokens": tokens }
        }),
    )
}
