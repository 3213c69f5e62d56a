//! Phase 1, route: method + path (+ query) → endpoint and the client's wire format.
//! `/api/v1/...` and `/api/v1beta/...` alias `/v1/...` and `/v1beta/...`.

use http::Method;

use crate::formats::StreamFraming;
use crate::percent::percent_decode;
use crate::pipeline::endpoint::ChatEndpoint;
use crate::providers::WireFormat;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Chat(ChatEndpoint),
    /// Anthropic `POST /v1/messages/count_tokens`.
    CountTokens,
    ListModels,
    GetModel(String),
    /// Gemini `GET /v1beta/models` and `GET /v1beta/models/{model}`.
    GeminiModels,
    GeminiModel(String),
    /// `GET /v1/providers/{provider}/models`.
    ProviderModels(String),
    /// Routing state: `/api/resilience` (GET, PATCH), `/api/resilience/reset` (POST),
    /// `/api/rate-limits`, `/api/models/availability` (GET, POST), `/api/sessions`.
    Resilience,
    PatchResilience,
    ResetResilience,
    RateLimits,
    Availability,
    ModelAvailability,
    Sessions,
    /// `GET /api/cache` (also `/api/cache/stats`) and `DELETE` on both.
    CacheStats,
    ClearCache,
    /// `GET /api/telemetry/summary` and `GET /metrics`.
    TelemetrySummary,
    Metrics,
    /// Ollama `GET /api/tags` and `GET /api/version`.
    OllamaTags,
    OllamaVersion,
    Health,
    /// The management API of [`crate::admin`] (`/api/...` besides the above and Ollama's).
    Admin,
    /// A browser's CORS preflight (`OPTIONS`) of an inference path (see [`super::cors`]), with
    /// the methods the path takes.
    Preflight(&'static str),
    NotFound(WireFormat),
    /// The path exists with other methods (listed for the `Allow` header).
    MethodNotAllowed(WireFormat, &'static str),
}

/// Which access rule a route falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, login).
    Public,
    /// The client APIs: gateway keys, when required or sent.
    Inference,
    /// A login session or an admin key.
    Management,
    /// `GET /metrics`: management unless the settings open it.
    Metrics,
}

impl Route {
    pub fn access(&self, method: &Method, path: &str) -> Access {
        match self {
            Route::Chat(_)
            | Route::CountTokens
            | Route::ListModels
            | Route::GetModel(_)
            | Route::GeminiModels
            | Route::GeminiModel(_)
            | Route::ProviderModels(_)
            | Route::OllamaTags
            | Route::OllamaVersion => Access::Inference,
            // Browsers send no credentials with a preflight; it reveals nothing.
            Route::Health | Route::Preflight(_) => Access::Public,
            Route::Metrics => Access::Metrics,
            Route::Admin if crate::admin::is_public(method, path) => Access::Public,
            Route::Admin
            | Route::Resilience
            | Route::PatchResilience
            | Route::ResetResilience
            | Route::RateLimits
            | Route::Availability
            | Route::ModelAvailability
            | Route::Sessions
            | Route::CacheStats
            | Route::ClearCache
            | Route::TelemetrySummary => Access::Management,
            // Unknown paths under the management API need credentials before they say "not found".
            Route::NotFound(_) | Route::MethodNotAllowed(..) if is_management_path(path) => Access::Management,
            Route::NotFound(_) | Route::MethodNotAllowed(..) => Access::Inference,
        }
    }

    /// The wire format errors on this route are rendered in (inference routes).
    pub fn client_format(&self) -> WireFormat {
        match self {
            Route::Chat(endpoint) => endpoint.format,
            Route::CountTokens => WireFormat::Anthropic,
            Route::GeminiModels | Route::GeminiModel(_) => WireFormat::Gemini,
            Route::OllamaTags | Route::OllamaVersion => WireFormat::Ollama,
            Route::NotFound(format) | Route::MethodNotAllowed(format, _) => *format,
            _ => WireFormat::OpenaiChat,
        }
    }
}

/// `/api/...` paths that are not Ollama's (after `/api/v1` was folded into `/v1`).
fn is_management_path(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let path = path.strip_prefix("/api").filter(|p| p.starts_with("/v1")).map_or(path, |_| "");
    (path.starts_with("/api/") && !OLLAMA_PATHS.iter().any(|p| path.starts_with(p))) || path == "/metrics"
}

pub fn route(method: &Method, path: &str, query: Option<&str>) -> Route {
    let route = route_path(method, path, query);
    // `OPTIONS` on a path that takes another method: a preflight, for inference paths only.
    match route {
        Route::MethodNotAllowed(_, allowed)
            if *method == Method::OPTIONS && route.access(method, path) == Access::Inference =>
        {
            Route::Preflight(allowed)
        }
        route => route,
    }
}

fn route_path(method: &Method, path: &str, query: Option<&str>) -> Route {
    let path = path.trim_end_matches('/');
    let path = path.strip_prefix("/api").filter(|p| p.starts_with("/v1")).unwrap_or(path);
    let format = error_format(path);
    let expect = |wanted: Method, route: Route| {
        if *method == wanted { route } else { Route::MethodNotAllowed(format, method_name(&wanted)) }
    };
    let chat = |format| expect(Method::POST, Route::Chat(ChatEndpoint::body(format)));
    match path {
        "/v1/chat/completions" | "/chat/completions" => chat(WireFormat::OpenaiChat),
        "/v1/responses" | "/responses" => chat(WireFormat::OpenaiResponses),
        "/v1/messages" => chat(WireFormat::Anthropic),
        "/v1/messages/count_tokens" => expect(Method::POST, Route::CountTokens),
        "/v1/api/chat" | "/api/chat" => chat(WireFormat::Ollama),
        "/api/tags" | "/v1/api/tags" => expect(Method::GET, Route::OllamaTags),
        "/api/version" => expect(Method::GET, Route::OllamaVersion),
        "/v1/models" | "/models" => expect(Method::GET, Route::ListModels),
        "/v1beta/models" => expect(Method::GET, Route::GeminiModels),
        "/api/monitoring/health" | "/health" | "/healthz" => expect(Method::GET, Route::Health),
        "/api/resilience" => match *method {
            Method::GET => Route::Resilience,
            Method::PATCH => Route::PatchResilience,
            _ => Route::MethodNotAllowed(format, "GET, PATCH"),
        },
        "/api/resilience/reset" => expect(Method::POST, Route::ResetResilience),
        "/api/rate-limits" => expect(Method::GET, Route::RateLimits),
        "/api/models/availability" => match *method {
            Method::GET => Route::Availability,
            Method::POST => Route::ModelAvailability,
            _ => Route::MethodNotAllowed(format, "GET, POST"),
        },
        "/api/sessions" => expect(Method::GET, Route::Sessions),
        "/api/telemetry/summary" => expect(Method::GET, Route::TelemetrySummary),
        "/api/cache" | "/api/cache/stats" => match *method {
            Method::GET => Route::CacheStats,
            Method::DELETE => Route::ClearCache,
            _ => Route::MethodNotAllowed(format, "GET, DELETE"),
        },
        "/metrics" => expect(Method::GET, Route::Metrics),
        _ => {
            if let Some(rest) = path.strip_prefix("/v1/providers/") {
                return provider_route(method, rest);
            }
            if let Some(rest) = path.strip_prefix("/v1beta/models/") {
                return gemini_model_route(method, rest, query);
            }
            match path.strip_prefix("/v1/models/") {
                Some(id) if !id.is_empty() => expect(Method::GET, Route::GetModel(id.to_owned())),
                _ if is_management_path(path) => Route::Admin,
                _ => Route::NotFound(format),
            }
        }
    }
}

/// `{provider}/chat/completions` or `{provider}/models` under `/v1/providers/`.
fn provider_route(method: &Method, rest: &str) -> Route {
    let format = WireFormat::OpenaiChat;
    let Some((provider, action)) = rest.split_once('/') else { return Route::NotFound(format) };
    if provider.is_empty() {
        return Route::NotFound(format);
    }
    let (wanted, route) = match action {
        "chat/completions" => (
            Method::POST,
            Route::Chat(ChatEndpoint { provider: Some(provider.to_owned()), ..ChatEndpoint::body(format) }),
        ),
        "models" => (Method::GET, Route::ProviderModels(provider.to_owned())),
        _ => return Route::NotFound(format),
    };
    if *method == wanted { route } else { Route::MethodNotAllowed(format, method_name(&wanted)) }
}

/// A method's name as the `Allow` header lists it.
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "GET",
    }
}

/// `{model}:generateContent`, `{model}:streamGenerateContent` or a bare `{model}`.
fn gemini_model_route(method: &Method, rest: &str, query: Option<&str>) -> Route {
    let rest = percent_decode(rest).into_owned();
    let (model, action) = match rest.rsplit_once(':') {
        Some((model, action)) if !action.contains('/') => (model.to_owned(), Some(action.to_owned())),
        _ => (rest, None),
    };
    let model = model.strip_prefix("models/").map(str::to_owned).unwrap_or(model);
    if model.is_empty() {
        return Route::NotFound(WireFormat::Gemini);
    }
    let allowed = |wanted: Method, route: Route| {
        if *method == wanted { route } else { Route::MethodNotAllowed(WireFormat::Gemini, method_name(&wanted)) }
    };
    let chat = |stream: bool, framing| {
        allowed(
            Method::POST,
            Route::Chat(ChatEndpoint {
                format: WireFormat::Gemini,
                path_model: Some(model.clone()),
                path_stream: Some(stream),
                framing,
                provider: None,
            }),
        )
    };
    match action.as_deref() {
        None => allowed(Method::GET, Route::GeminiModel(model.clone())),
        Some("generateContent") => chat(false, StreamFraming::Default),
        Some("streamGenerateContent") => {
            let sse = query.is_some_and(|q| q.split('&').any(|pair| pair == "alt=sse"));
            chat(true, if sse { StreamFraming::Default } else { StreamFraming::JsonArray })
        }
        Some(_) => Route::NotFound(WireFormat::Gemini),
    }
}

/// Ollama's own API paths (the rest of `/api/...` is the gateway's management API).
const OLLAMA_PATHS: [&str; 8] =
    ["/api/chat", "/api/generate", "/api/tags", "/api/show", "/api/embed", "/api/ps", "/api/pull", "/api/version"];

/// The format errors on an unknown path are shown in, guessed from the path's family.
fn error_format(path: &str) -> WireFormat {
    if path.starts_with("/v1beta") {
        WireFormat::Gemini
    } else if path.starts_with("/v1/messages") {
        WireFormat::Anthropic
    } else if path.starts_with("/v1/api/") || OLLAMA_PATHS.iter().any(|p| path.starts_with(p)) {
        WireFormat::Ollama
    } else {
        WireFormat::OpenaiChat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(format: WireFormat) -> Route {
        Route::Chat(ChatEndpoint::body(format))
    }

    #[test]
    fn routes_and_aliases() {
        assert_eq!(route(&Method::POST, "/v1/chat/completions", None), chat(WireFormat::OpenaiChat));
        assert_eq!(route(&Method::POST, "/api/v1/chat/completions/", None), chat(WireFormat::OpenaiChat));
        assert_eq!(
            route(&Method::GET, "/v1/chat/completions", None),
            Route::MethodNotAllowed(WireFormat::OpenaiChat, "POST")
        );
        assert_eq!(route(&Method::GET, "/api/monitoring/health", None), Route::Health);
        assert_eq!(route(&Method::GET, "/v1/models/openai/gpt-4o", None), Route::GetModel("openai/gpt-4o".into()));
        assert_eq!(route(&Method::GET, "/nope", None), Route::NotFound(WireFormat::OpenaiChat));
        assert_eq!(route(&Method::POST, "/v1/messages", None), chat(WireFormat::Anthropic));
        assert_eq!(route(&Method::POST, "/api/v1/messages/count_tokens", None), Route::CountTokens);
        assert_eq!(route(&Method::POST, "/api/v1/responses", None), chat(WireFormat::OpenaiResponses));
        assert_eq!(route(&Method::POST, "/api/chat", None), chat(WireFormat::Ollama));
        assert_eq!(route(&Method::POST, "/v1/api/chat", None), chat(WireFormat::Ollama));
        assert_eq!(route(&Method::GET, "/api/tags", None), Route::OllamaTags);
        assert_eq!(route(&Method::GET, "/api/generate", None), Route::NotFound(WireFormat::Ollama));
        assert_eq!(route(&Method::GET, "/api/nope", None), Route::Admin);
        assert_eq!(route(&Method::GET, "/api/keys", None), Route::Admin);
        assert_eq!(route(&Method::GET, "/api/keys", None).access(&Method::GET, "/api/keys"), Access::Management);
        assert_eq!(
            route(&Method::POST, "/api/auth/login", None).access(&Method::POST, "/api/auth/login"),
            Access::Public
        );
        assert_eq!(route(&Method::GET, "/api/generate", None).access(&Method::GET, "/api/generate"), Access::Inference);
        assert_eq!(route(&Method::GET, "/v1/nope", None).access(&Method::GET, "/v1/nope"), Access::Inference);
        assert_eq!(route(&Method::GET, "/v1/messages/x", None), Route::NotFound(WireFormat::Anthropic));
        assert_eq!(route(&Method::GET, "/api/v1beta/models", None), Route::GeminiModels);
        assert_eq!(
            route(&Method::POST, "/v1/providers/openai/chat/completions", None),
            Route::Chat(ChatEndpoint { provider: Some("openai".into()), ..ChatEndpoint::body(WireFormat::OpenaiChat) })
        );
        assert_eq!(route(&Method::GET, "/api/v1/providers/groq/models", None), Route::ProviderModels("groq".into()));
        assert_eq!(route(&Method::PATCH, "/api/resilience", None), Route::PatchResilience);
        assert_eq!(route(&Method::POST, "/api/models/availability", None), Route::ModelAvailability);
        assert_eq!(
            route(&Method::DELETE, "/api/sessions", None),
            Route::MethodNotAllowed(WireFormat::OpenaiChat, "GET")
        );
    }

    #[test]
    fn preflights_only_on_inference_paths() {
        for path in
            ["/v1/chat/completions", "/v1/messages", "/api/chat", "/v1/models", "/v1beta/models/g:generateContent"]
        {
            assert!(matches!(route(&Method::OPTIONS, path, None), Route::Preflight(_)), "{path}");
        }
        assert_eq!(route(&Method::OPTIONS, "/v1/models", None), Route::Preflight("GET"));
        assert_eq!(route(&Method::OPTIONS, "/api/keys", None), Route::Admin, "never on the management API");
        assert_eq!(
            route(&Method::OPTIONS, "/api/resilience", None),
            Route::MethodNotAllowed(WireFormat::OpenaiChat, "GET, PATCH")
        );
        assert_eq!(route(&Method::OPTIONS, "/v1/nope", None), Route::NotFound(WireFormat::OpenaiChat));
    }

    #[test]
    fn gemini_paths_carry_model_and_streaming() {
        let endpoint = |model: &str, stream: bool, framing| {
            Route::Chat(ChatEndpoint {
                format: WireFormat::Gemini,
                path_model: Some(model.into()),
                path_stream: Some(stream),
                framing,
                provider: None,
            })
        };
        assert_eq!(
            route(&Method::POST, "/v1beta/models/gemini-2.5-flash:generateContent", None),
            endpoint("gemini-2.5-flash", false, StreamFraming::Default)
        );
        assert_eq!(
            route(&Method::POST, "/v1beta/models/openai/gpt-4o:streamGenerateContent", Some("alt=sse&key=k")),
            endpoint("openai/gpt-4o", true, StreamFraming::Default)
        );
        assert_eq!(
            route(&Method::POST, "/api/v1beta/models/openai%2Fgpt-4o:streamGenerateContent", None),
            endpoint("openai/gpt-4o", true, StreamFraming::JsonArray)
        );
        assert_eq!(
            route(&Method::GET, "/v1beta/models/gemini-2.5-flash", None),
            Route::GeminiModel("gemini-2.5-flash".into())
        );
        assert_eq!(route(&Method::POST, "/v1beta/models/x:embedContent", None), Route::NotFound(WireFormat::Gemini));
        assert_eq!(
            route(&Method::GET, "/v1beta/models/x:generateContent", None),
            Route::MethodNotAllowed(WireFormat::Gemini, "POST")
        );
    }
}
