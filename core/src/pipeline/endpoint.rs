//! The chat endpoints of the route table, and what each one's URL tells the pipeline: the
//! client's wire format, and for Gemini the model and whether it streams; for
//! `/v1/providers/{provider}/...` the provider.

use crate::formats::StreamFraming;
use crate::gateway::call::{Answer, Call};
use crate::pipeline::chat;
use crate::pipeline::info::gemini_model_name;
use crate::providers::WireFormat;

/// A chat endpoint: the client's format and what its URL says about model and streaming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEndpoint {
    pub format: WireFormat,
    /// Gemini carries the model in the path (`/v1beta/models/{model}:generateContent`).
    pub path_model: Option<String>,
    /// Gemini's method decides streaming (`:streamGenerateContent`), not the body.
    pub path_stream: Option<bool>,
    pub framing: StreamFraming,
    /// `/v1/providers/{provider}/...`: the model belongs to this provider.
    pub provider: Option<String>,
}

impl ChatEndpoint {
    /// An endpoint whose body says everything (model, stream).
    pub fn body(format: WireFormat) -> Self {
        ChatEndpoint { format, path_model: None, path_stream: None, framing: StreamFraming::Default, provider: None }
    }
}

/// `POST /v1/chat/completions`, `/v1/responses`, `/v1/messages`, `/api/chat`: the body says
/// everything, in the format the route names.
pub async fn chat(call: Call<'_>) -> Answer {
    serve(call, ChatEndpoint::body).await
}

/// `POST /v1/providers/{provider}/chat/completions`: the model belongs to that provider.
pub async fn provider_chat(call: Call<'_>) -> Answer {
    let provider = call.param("provider").to_owned();
    serve(call, |format| ChatEndpoint { provider: Some(provider), ..ChatEndpoint::body(format) }).await
}

/// `POST /v1beta/models/{model}:generateContent`.
pub async fn gemini_generate(call: Call<'_>) -> Answer {
    let model = gemini_model_name(&call, "model");
    serve(call, |format| gemini(format, model, false, StreamFraming::Default)).await
}

/// `POST /v1beta/models/{model}:streamGenerateContent`: SSE with `?alt=sse`, otherwise one
/// JSON array written as it grows (Gemini's default).
pub async fn gemini_stream(call: Call<'_>) -> Answer {
    let model = gemini_model_name(&call, "model");
    let sse = call.query().is_some_and(|q| q.split('&').any(|pair| pair == "alt=sse"));
    let framing = if sse { StreamFraming::Default } else { StreamFraming::JsonArray };
    serve(call, |format| gemini(format, model, true, framing)).await
}

fn gemini(format: WireFormat, model: String, stream: bool, framing: StreamFraming) -> ChatEndpoint {
    ChatEndpoint { format, path_model: Some(model), path_stream: Some(stream), framing, provider: None }
}

/// Runs the chat pipeline for the endpoint `describe` makes of the route's format. The
/// pipeline answers its own errors (in the client's format, counted in telemetry).
async fn serve(mut call: Call<'_>, describe: impl FnOnce(WireFormat) -> ChatEndpoint) -> Answer {
    let endpoint = describe(call.ctx.client_format);
    let body = call.take_body();
    Ok(chat::handle(call.gateway, call.ctx, &endpoint, call.headers(), body).await)
}
