//! Documentation of the client APIs. Their bodies are the providers' own formats (documented by
//! OpenAI, Anthropic, Google and Ollama); the schemas here name the fields the gateway reads and
//! allow the rest.
#![allow(dead_code)]

use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

/// A message of a chat request.
#[derive(Deserialize, ToSchema)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text or a list of content parts.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// `POST /v1/chat/completions`: OpenAI's Chat Completions request.
#[derive(Deserialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// `provider/model`, an alias, a combo, or a bare model a provider lists.
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: Option<bool>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
}

/// `POST /v1/responses`: OpenAI's Responses request.
#[derive(Deserialize, ToSchema)]
pub struct ResponsesRequest {
    pub model: String,
    /// A string or a list of input items.
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    pub instructions: Option<String>,
    pub stream: Option<bool>,
    /// Keep the response (default true) for `previous_response_id`, item references and
    /// `GET /v1/responses/{id}`.
    pub store: Option<bool>,
    /// Continue a stored response: its conversation is prepended to `input`.
    pub previous_response_id: Option<String>,
}

/// `POST /v1/messages`: Anthropic's Messages request.
#[derive(Deserialize, ToSchema)]
pub struct MessagesRequest {
    pub model: String,
    pub max_tokens: u32,
    pub messages: Vec<ChatMessage>,
    #[schema(value_type = Option<Object>)]
    pub system: Option<serde_json::Value>,
    pub stream: Option<bool>,
}

/// `POST /v1/messages/count_tokens`: Anthropic's token count request.
#[derive(Deserialize, ToSchema)]
pub struct CountTokensRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
}

/// `POST /v1beta/models/{model}:generateContent`: Gemini's request.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    #[schema(value_type = Vec<Object>)]
    pub contents: Vec<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub system_instruction: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub generation_config: Option<serde_json::Value>,
}

/// `POST /api/chat`: Ollama's chat request (streams NDJSON unless `stream` is false).
#[derive(Deserialize, ToSchema)]
pub struct OllamaChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: Option<bool>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        chat_completions,
        responses,
        get_response,
        delete_response,
        list_input_items,
        messages,
        count_tokens,
        generate_content,
        stream_generate_content,
        generate_content_v1,
        stream_generate_content_v1,
        list_models,
        get_model,
        gemini_models,
        gemini_model,
        ollama_chat,
        ollama_tags,
        ollama_version,
        provider_chat,
        provider_models
    ),
    components(schemas(
        ChatMessage,
        ChatCompletionRequest,
        ResponsesRequest,
        MessagesRequest,
        CountTokensRequest,
        GenerateContentRequest,
        OllamaChatRequest
    ))
)]
pub struct Doc;

/// OpenAI Chat Completions, streamed (SSE) or not. Errors in OpenAI's shape.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "inference", request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "The completion, or an SSE stream of chunks", content(
            (Object = "application/json"), (Object = "text/event-stream"))),
        (status = 400, description = "Bad JSON, unknown model or provider", body = Object),
        (status = 401, description = "A gateway key is required, or was revoked/expired", body = Object),
        (status = 402, description = "The key's budget for this period is spent (code `budget_exceeded`)", body = Object),
        (status = 403, description = "The key may not use this model or provider; address blocked", body = Object),
        (status = 413, description = "Body over the limit", body = Object),
        (status = 429, description = "Key over its rate limit, or every upstream cooling down", body = Object),
        (status = 503, description = "Every upstream held off by its breaker", body = Object)
    ))]
fn chat_completions() {}

/// OpenAI Responses, streamed (SSE events) or not. With `store` (the default) the response is
/// kept for `previous_response_id`, `item_reference` input items and `GET /v1/responses/{id}`.
#[utoipa::path(post, path = "/v1/responses", tag = "inference", request_body = ResponsesRequest,
    responses(
        (status = 200, description = "The response, or an SSE stream of events", content(
            (Object = "application/json"), (Object = "text/event-stream"))),
        (status = 400, description = "Bad JSON, unknown model, or a `previous_response_id` this key has not stored (`previous_response_not_found`)", body = Object),
        (status = 401, body = Object), (status = 402, body = Object), (status = 403, body = Object),
        (status = 404, description = "An `item_reference` to an item this key has not stored", body = Object),
        (status = 413, body = Object), (status = 429, body = Object), (status = 503, body = Object)
    ))]
fn responses() {}

/// A stored response (made with `store`, the default), as it was answered; only the key that
/// made it sees it.
#[utoipa::path(get, path = "/v1/responses/{id}", tag = "inference", params(("id" = String, Path)),
    responses(
        (status = 200, description = "The response object", body = Object),
        (status = 401, body = Object), (status = 403, body = Object),
        (status = 404, description = "No such response for this key (missing, expired, deleted or another key's)", body = Object)
    ))]
fn get_response() {}

/// Deletes a stored response: `{"id", "object": "response", "deleted": true}`.
#[utoipa::path(delete, path = "/v1/responses/{id}", tag = "inference", params(("id" = String, Path)),
    responses(
        (status = 200, description = "Deleted", body = Object),
        (status = 401, body = Object), (status = 403, body = Object),
        (status = 404, description = "No such response for this key", body = Object)
    ))]
fn delete_response() {}

/// The input items of a stored response: `{"object": "list", "data", "first_id", "last_id",
/// "has_more"}`.
#[utoipa::path(get, path = "/v1/responses/{id}/input_items", tag = "inference", params(
        ("id" = String, Path),
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Items per page (default 20)"),
        ("order" = Option<String>, Query, description = "`asc` or `desc` (default)", pattern = "^(asc|desc)$"),
        ("after" = Option<String>, Query, description = "List the items after this item id"),
        ("before" = Option<String>, Query, description = "List the items before this item id")
    ),
    responses(
        (status = 200, description = "A page of input items", body = Object),
        (status = 400, description = "A bad `limit`/`order`, or a cursor that names no item of the response", body = Object),
        (status = 401, body = Object), (status = 403, body = Object),
        (status = 404, description = "No such response for this key", body = Object)
    ))]
fn list_input_items() {}

/// Anthropic Messages, streamed (SSE events) or not. Errors in Anthropic's shape.
#[utoipa::path(post, path = "/v1/messages", tag = "inference", request_body = MessagesRequest,
    responses(
        (status = 200, description = "The message, or an SSE stream of events", content(
            (Object = "application/json"), (Object = "text/event-stream"))),
        (status = 400, body = Object), (status = 401, body = Object), (status = 402, body = Object), (status = 403, body = Object),
        (status = 413, body = Object), (status = 429, body = Object), (status = 503, body = Object)
    ))]
fn messages() {}

/// Anthropic token counting: asked of an Anthropic provider, estimated for others.
#[utoipa::path(post, path = "/v1/messages/count_tokens", tag = "inference", request_body = CountTokensRequest,
    responses(
        (status = 200, body = Object), (status = 400, body = Object), (status = 401, body = Object),
        (status = 403, body = Object), (status = 413, body = Object), (status = 429, body = Object),
        (status = 503, body = Object)
    ))]
fn count_tokens() {}

/// Gemini generateContent; `{model}` may be `provider/model` (`/` as `%2F`).
#[utoipa::path(post, path = "/v1beta/models/{model}:generateContent", tag = "inference", params(("model" = String, Path)), request_body = GenerateContentRequest,
    responses(
        (status = 200, body = Object), (status = 400, body = Object), (status = 401, body = Object), (status = 402, body = Object),
        (status = 403, body = Object), (status = 404, body = Object), (status = 413, body = Object),
        (status = 429, body = Object), (status = 503, body = Object)
    ))]
fn generate_content() {}

/// Gemini streamGenerateContent: SSE with `?alt=sse`, else one JSON array.
#[utoipa::path(post, path = "/v1beta/models/{model}:streamGenerateContent", tag = "inference", params(("model" = String, Path), ("alt" = Option<String>, Query)), request_body = GenerateContentRequest,
    responses(
        (status = 200, description = "Chunks as SSE or a JSON array", content(
            (Vec<Object> = "application/json"), (String = "text/event-stream"))),
        (status = 400, body = Object), (status = 401, body = Object), (status = 402, body = Object), (status = 403, body = Object),
        (status = 404, body = Object), (status = 413, body = Object), (status = 429, body = Object),
        (status = 503, body = Object)
    ))]
fn stream_generate_content() {}

/// Gemini generateContent on `v1` (the same endpoint as on `v1beta`).
#[utoipa::path(post, path = "/v1/models/{model}:generateContent", tag = "inference", params(("model" = String, Path)), request_body = GenerateContentRequest,
    responses(
        (status = 200, body = Object), (status = 400, body = Object), (status = 401, body = Object), (status = 402, body = Object),
        (status = 403, body = Object), (status = 404, body = Object), (status = 413, body = Object),
        (status = 429, body = Object), (status = 503, body = Object)
    ))]
fn generate_content_v1() {}

/// Gemini streamGenerateContent on `v1`.
#[utoipa::path(post, path = "/v1/models/{model}:streamGenerateContent", tag = "inference", params(("model" = String, Path), ("alt" = Option<String>, Query)), request_body = GenerateContentRequest,
    responses(
        (status = 200, description = "Chunks as SSE or a JSON array", content(
            (Vec<Object> = "application/json"), (String = "text/event-stream"))),
        (status = 400, body = Object), (status = 401, body = Object), (status = 402, body = Object), (status = 403, body = Object),
        (status = 404, body = Object), (status = 413, body = Object), (status = 429, body = Object),
        (status = 503, body = Object)
    ))]
fn stream_generate_content_v1() {}

/// Configured models and combos in OpenAI's list shape; configured models in Gemini's for a
/// Gemini client (`x-goog-api-key`, `?key=` or `x-goog-api-client`), as on `v1beta`.
#[utoipa::path(get, path = "/v1/models", tag = "inference", responses((status = 200, body = Object), (status = 401, body = Object), (status = 403, body = Object)))]
fn list_models() {}

/// One configured model or combo in OpenAI's shape; the id holds a `/` (`openai/gpt-4o`). For a
/// Gemini client (`x-goog-api-key`, `?key=` or `x-goog-api-client`) one configured model in
/// Gemini's shape, as on `v1beta`.
#[utoipa::path(get, path = "/v1/models/{id}", tag = "inference", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 400, description = "No such model", body = Object), (status = 401, body = Object), (status = 403, body = Object),
        (status = 404, description = "No such model (a Gemini client)", body = Object)))]
fn get_model() {}

/// One configured model in Gemini's shape; `{model}` may be `provider/model`.
#[utoipa::path(get, path = "/v1beta/models/{model}", tag = "inference", params(("model" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = Object), (status = 403, body = Object), (status = 404, body = Object)))]
fn gemini_model() {}

/// Configured models in Gemini's shape.
#[utoipa::path(get, path = "/v1beta/models", tag = "inference", responses((status = 200, body = Object), (status = 401, body = Object), (status = 403, body = Object)))]
fn gemini_models() {}

/// Ollama chat: NDJSON stream unless `"stream": false`.
#[utoipa::path(post, path = "/api/chat", tag = "inference", request_body = OllamaChatRequest,
    responses(
        (status = 200, description = "The answer, or NDJSON lines", content(
            (Object = "application/json"), (String = "application/x-ndjson"))),
        (status = 400, body = Object), (status = 401, body = Object), (status = 402, body = Object), (status = 403, body = Object),
        (status = 413, body = Object), (status = 429, body = Object), (status = 503, body = Object)
    ))]
fn ollama_chat() {}

/// Configured models in Ollama's shape.
#[utoipa::path(get, path = "/api/tags", tag = "inference", responses((status = 200, body = Object), (status = 401, body = Object), (status = 403, body = Object)))]
fn ollama_tags() {}

/// Ollama's version endpoint.
#[utoipa::path(get, path = "/api/version", tag = "inference", responses((status = 200, body = Object), (status = 401, body = Object), (status = 403, body = Object)))]
fn ollama_version() {}

/// One provider's chat: the provider prefix is added to the model when missing.
#[utoipa::path(post, path = "/v1/providers/{provider}/chat/completions", tag = "inference", params(("provider" = String, Path)), request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "The completion, or an SSE stream", content(
            (Object = "application/json"), (Object = "text/event-stream"))),
        (status = 400, body = Object), (status = 401, body = Object), (status = 402, body = Object), (status = 403, body = Object),
        (status = 413, body = Object), (status = 429, body = Object), (status = 503, body = Object)
    ))]
fn provider_chat() {}

/// One provider's models.
#[utoipa::path(get, path = "/v1/providers/{provider}/models", tag = "inference", params(("provider" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = Object), (status = 401, body = Object), (status = 403, body = Object)))]
fn provider_models() {}
