//! The semantic cache's embedding call: OpenAI's `POST {base_url}/embeddings` on the configured
//! `provider/model`, with the provider's own auth, within the semantic timeout, recorded as a
//! usage row, priced like any call (and counted against the caller's key budget). It never
//! fails the request: any trouble is logged and the request is a miss.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use crate::config::settings::split_model_ref;
use crate::gateway::{Gateway, RequestContext};
use crate::hub::Usage;
use crate::pipeline::dispatch::Call;
use crate::pipeline::record::charge;
use crate::pipeline::timeouts::within;
use crate::pipeline::upstream::build_request;
use crate::ports::UsageRecord;
use crate::providers::WireFormat;

/// Largest embeddings answer read (a few vectors of thousands of floats as JSON).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Why no embedding came back (logged, never shown to the client).
#[derive(Debug, thiserror::Error)]
enum EmbedError {
    #[error("embedding model '{0}' is not `provider/model` of a configured OpenAI-compatible provider")]
    Unresolved(String),
    #[error("provider '{0}' has no usable account")]
    NoAccount(String),
    #[error("no answer within {0} ms")]
    Timeout(u128),
    #[error("{0}")]
    Call(String),
    #[error("upstream returned HTTP {0}")]
    Status(u16),
    #[error("the answer is not an embeddings list: {0}")]
    Shape(String),
}

/// OpenAI's embeddings answer, as far as it is read.
#[derive(Deserialize)]
struct EmbeddingsAnswer {
    data: Vec<EmbeddingItem>,
    #[serde(default)]
    usage: Option<EmbeddingsUsage>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct EmbeddingsUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
}

/// The embedding of `text` by `model_ref` (`provider/model`), or `None` after logging why.
pub async fn embed(
    gateway: &Gateway,
    ctx: &RequestContext,
    model_ref: &str,
    text: &str,
    timeout: Duration,
) -> Option<Vec<f32>> {
    match call(gateway, ctx, model_ref, text, timeout).await {
        Ok(vector) => Some(vector),
        Err(error) => {
            tracing::warn!(request_id = %ctx.request_id, embedding_model = model_ref, %error, "no embedding for the semantic cache; answered as a miss");
            None
        }
    }
}

async fn call(
    gateway: &Gateway,
    ctx: &RequestContext,
    model_ref: &str,
    text: &str,
    timeout: Duration,
) -> Result<Vec<f32>, EmbedError> {
    let unresolved = || EmbedError::Unresolved(model_ref.to_owned());
    let (provider_name, model) = split_model_ref(model_ref).ok_or_else(unresolved)?;
    let snapshot = gateway.snapshot();
    let provider = snapshot.provider(provider_name).filter(|p| serves_embeddings(p.format)).ok_or_else(unresolved)?;
    let connection = gateway
        .router
        .order_accounts(provider, None)
        .into_iter()
        .next()
        .ok_or_else(|| EmbedError::NoAccount(provider.id.clone()))?;
    let body = serde_json::json!({ "model": model, "input": text, "encoding_format": "float" });
    let call = Call {
        provider,
        path: "/embeddings",
        model,
        body: Bytes::from(body.to_string()),
        headers: &[],
        stream: false,
        first_byte_timeout: timeout,
        max_response_bytes: MAX_ANSWER_BYTES,
    };
    let request = build_request(&call, &connection).map_err(|e| EmbedError::Call(e.to_string()))?;
    let clock = gateway.ports.clock.as_ref();
    let started_us = clock.monotonic_us();
    let exchange = async {
        let response = gateway.ports.http.send(request).await.map_err(|e| EmbedError::Call(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect(MAX_ANSWER_BYTES).await.map_err(|e| EmbedError::Call(e.to_string()))?;
        Ok::<_, EmbedError>((status, body))
    };
    let outcome = within(clock, timeout, exchange).await.unwrap_or(Err(EmbedError::Timeout(timeout.as_millis())));
    let latency_ms = clock.monotonic_us().saturating_sub(started_us) / 1000;
    let parsed = outcome.and_then(|(status, body)| {
        if !(200..300).contains(&status) {
            return Err(EmbedError::Status(status));
        }
        let answer: EmbeddingsAnswer = serde_json::from_slice(&body).map_err(|e| EmbedError::Shape(e.to_string()))?;
        let tokens = answer.usage.and_then(|u| u.prompt_tokens);
        let vector = answer.data.into_iter().next().map(|d| d.embedding);
        vector.map(|v| (status, v, tokens)).ok_or_else(|| EmbedError::Shape("no embedding in `data`".into()))
    });
    // The call cost tokens whatever came of it: one usage row, like every upstream attempt.
    let (status, tokens, error) = match &parsed {
        Ok((status, _, tokens)) => (*status, *tokens, None),
        Err(EmbedError::Status(status)) => (*status, None, Some(format!("upstream returned HTTP {status}"))),
        Err(e) => (0, None, Some(e.to_string())),
    };
    // Priced from the model's input price, like every other call: embeddings have no output.
    let now_ms = clock.now_unix_ms();
    let key_id = ctx.caller.key().map(|k| k.id.clone());
    let usage = tokens.map(|input_tokens| Usage { input_tokens, ..Default::default() });
    let price = snapshot.price(&provider.id, model);
    let cost_usd = charge(&gateway.budgets, key_id.as_deref(), price.as_ref(), usage.as_ref(), now_ms);
    gateway.ports.usage.record(UsageRecord {
        request_id: ctx.request_id.clone(),
        timestamp_ms: now_ms,
        provider: provider.id.clone(),
        connection_id: connection.id.clone(),
        requested_model: model_ref.to_owned(),
        upstream_model: model.to_owned(),
        client_format: ctx.client_format.as_str().to_owned(),
        upstream_format: provider.format.as_str().to_owned(),
        status,
        input_tokens: tokens,
        output_tokens: tokens.map(|_| 0),
        latency_ms,
        error,
        cost_usd,
        api_key_id: key_id,
        ..Default::default()
    });
    parsed.map(|(_, vector, _)| vector)
}

/// Providers whose base URL serves OpenAI's `/embeddings`.
pub fn serves_embeddings(format: WireFormat) -> bool {
    matches!(format, WireFormat::OpenaiChat | WireFormat::OpenaiResponses)
}
