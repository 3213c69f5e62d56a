//! Phase 1, route: method + path → endpoint and the client's wire format.

use http::Method;

use crate::providers::WireFormat;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Chat(WireFormat),
    ListModels,
    GetModel(String),
    Health,
    NotFound,
    MethodNotAllowed,
}

/// Strips the optional `/api` prefix (`/api/v1/...` aliases `/v1/...`).
pub fn route(method: &Method, path: &str) -> Route {
    let path = path.trim_end_matches('/');
    let path = path.strip_prefix("/api").filter(|p| p.starts_with("/v1")).unwrap_or(path);
    let expect = |wanted: Method, route: Route| if *method == wanted { route } else { Route::MethodNotAllowed };
    match path {
        "/v1/chat/completions" | "/chat/completions" => expect(Method::POST, Route::Chat(WireFormat::OpenaiChat)),
        "/v1/models" | "/models" => expect(Method::GET, Route::ListModels),
        "/api/monitoring/health" | "/health" | "/healthz" => expect(Method::GET, Route::Health),
        _ => match path.strip_prefix("/v1/models/") {
            Some(id) if !id.is_empty() => expect(Method::GET, Route::GetModel(id.to_owned())),
            _ => Route::NotFound,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_aliases() {
        assert_eq!(route(&Method::POST, "/v1/chat/completions"), Route::Chat(WireFormat::OpenaiChat));
        assert_eq!(route(&Method::POST, "/api/v1/chat/completions/"), Route::Chat(WireFormat::OpenaiChat));
        assert_eq!(route(&Method::GET, "/v1/chat/completions"), Route::MethodNotAllowed);
        assert_eq!(route(&Method::GET, "/api/monitoring/health"), Route::Health);
        assert_eq!(route(&Method::GET, "/v1/models/openai/gpt-4o"), Route::GetModel("openai/gpt-4o".into()));
        assert_eq!(route(&Method::GET, "/nope"), Route::NotFound);
    }
}
