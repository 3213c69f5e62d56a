//! The matcher against the real table: each client API, aliases, the Gemini model segment,
//! refusals, preflights, and that the table builds at all.

use http::Method;

use super::{Matched, normalize, refused, resolve};
use crate::providers::WireFormat;
use crate::routes::table::{Access, ErrorFormat, ROUTES, Upstream};

/// `(pattern, params)` of what `method path` matches, or a description of the refusal.
fn matched(method: Method, path: &str) -> String {
    let path = normalize(path);
    match resolve(&method, &path) {
        Matched::Row { row, params } => {
            let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {} {}", row.verb.as_str(), row.path, params.join(" "))
        }
        Matched::Preflight { allow } => format!("preflight {allow}"),
        Matched::MethodNotAllowed { allow, access, errors } => format!("405 {allow} {access:?} {errors:?}"),
        Matched::NotFound { access, errors } => format!("404 {access:?} {errors:?}"),
    }
}

#[test]
fn the_table_builds() {
    assert!(refused().is_empty(), "{:?}", refused());
    assert!(ROUTES.len() > 100, "{} rows", ROUTES.len());
}

#[test]
fn client_apis_and_their_aliases() {
    assert_eq!(matched(Method::POST, "/v1/chat/completions"), "POST /v1/chat/completions ");
    assert_eq!(matched(Method::POST, "/api/v1/chat/completions/"), "POST /v1/chat/completions ");
    assert_eq!(matched(Method::POST, "/chat/completions"), "POST /v1/chat/completions ");
    assert_eq!(matched(Method::POST, "/api/v1/responses"), "POST /v1/responses ");
    assert_eq!(matched(Method::POST, "/api/v1/messages/count_tokens"), "POST /v1/messages/count_tokens ");
    assert_eq!(matched(Method::POST, "/api/chat"), "POST /api/chat ");
    assert_eq!(matched(Method::POST, "/v1/api/chat"), "POST /api/chat ");
    assert_eq!(matched(Method::GET, "/api/tags"), "GET /api/tags ");
    assert_eq!(matched(Method::GET, "/healthz"), "GET /api/monitoring/health ");
    assert_eq!(matched(Method::GET, "/v1/models/openai/gpt-4o"), "GET /v1/models/{id} id=openai%2Fgpt-4o");
    assert_eq!(
        matched(Method::POST, "/v1/models/openai/gpt-4o:generateContent"),
        "POST /v1/models/{model}:generateContent model=openai%2Fgpt-4o"
    );
    assert_eq!(
        matched(Method::POST, "/api/v1/models/gemini-2.5-flash:streamGenerateContent"),
        "POST /v1/models/{model}:streamGenerateContent model=gemini-2.5-flash"
    );
    assert_eq!(matched(Method::POST, "/v1/models/gpt-4o"), "405 GET Inference Client(OpenaiChat)");
    assert_eq!(matched(Method::GET, "/api/v1beta/models"), "GET /v1beta/models ");
    assert_eq!(
        matched(Method::POST, "/v1/providers/openai/chat/completions"),
        "POST /v1/providers/{provider}/chat/completions provider=openai"
    );
    assert_eq!(
        matched(Method::GET, "/api/v1/providers/groq/models"),
        "GET /v1/providers/{provider}/models provider=groq"
    );
}

#[test]
fn a_gemini_model_name_is_one_segment_even_with_a_slash() {
    assert_eq!(
        matched(Method::POST, "/v1beta/models/gemini-2.5-flash:generateContent"),
        "POST /v1beta/models/{model}:generateContent model=gemini-2.5-flash"
    );
    assert_eq!(
        matched(Method::POST, "/v1beta/models/openai/gpt-4o:streamGenerateContent"),
        "POST /v1beta/models/{model}:streamGenerateContent model=openai%2Fgpt-4o"
    );
    assert_eq!(
        matched(Method::POST, "/v1beta/models/openai%2Fgpt-4o:streamGenerateContent"),
        "POST /v1beta/models/{model}:streamGenerateContent model=openai%2Fgpt-4o"
    );
    assert_eq!(
        matched(Method::GET, "/v1beta/models/gemini-2.5-flash"),
        "GET /v1beta/models/{model} model=gemini-2.5-flash"
    );
    assert_eq!(matched(Method::GET, "/v1beta/models/g:generateContent"), "405 POST Inference Client(Gemini)");
}

#[test]
fn a_gemini_action_the_gateway_does_not_serve_is_not_found_in_geminis_shape() {
    // Without this, `{id}` of `GET /v1/models/{id}` takes `gpt-4o:countTokens` and the answer is
    // a 405 in OpenAI's shape.
    for path in [
        "/v1/models/openai/gpt-4o:countTokens",
        "/v1/models/gemini-2.5-flash:embedContent",
        "/api/v1/models/openai%2Fgpt-4o:batchEmbedContents",
        "/v1beta/models/gemini-2.5-flash:countTokens",
    ] {
        assert_eq!(matched(Method::POST, path), "404 Inference Client(Gemini)", "{path}");
    }
    // A model resource without an action keeps its own refusal.
    assert_eq!(matched(Method::POST, "/v1/models/openai/gpt-4o"), "405 GET Inference Client(OpenaiChat)");
    assert_eq!(matched(Method::DELETE, "/v1/models/g:countTokens"), "405 GET Inference Client(OpenaiChat)");
}

#[test]
fn management_routes_and_refusals() {
    assert_eq!(matched(Method::GET, "/api/keys"), "GET /api/keys ");
    assert_eq!(matched(Method::PATCH, "/api/keys/key_1"), "PATCH /api/keys/{id} id=key_1");
    assert_eq!(matched(Method::POST, "/api/keys/key_1/revoke"), "POST /api/keys/{id}/revoke id=key_1");
    assert_eq!(matched(Method::POST, "/api/providers/validate"), "POST /api/providers/validate ");
    assert_eq!(matched(Method::GET, "/api/usage/history"), "GET /api/usage/history ");
    assert_eq!(
        matched(Method::GET, "/api/usage/openai:team"),
        "GET /api/usage/{connectionId} connectionId=openai:team"
    );
    assert_eq!(
        matched(Method::DELETE, "/api/pricing/openai/org/model"),
        "DELETE /api/pricing/{provider}/{*model} provider=openai model=org/model"
    );
    assert_eq!(matched(Method::DELETE, "/api/sessions"), "405 GET Management Management");
    assert_eq!(matched(Method::POST, "/api/usage/budget/k"), "405 GET, DELETE Management Management");
    assert_eq!(matched(Method::PUT, "/api/keys/k"), "PUT /api/keys/{id} id=k");
    assert_eq!(matched(Method::POST, "/api/keys/k"), "405 GET, PUT, PATCH, DELETE Management Management");
    // Unknown paths: the management API needs credentials before it says "not found"; the
    // client APIs answer in the family's format.
    assert_eq!(matched(Method::GET, "/api/nope"), "404 Management Management");
    assert_eq!(matched(Method::GET, "/metrics/x"), "404 Inference Client(OpenaiChat)");
    assert_eq!(matched(Method::GET, "/api/generate"), "404 Inference Client(Ollama)");
    assert_eq!(matched(Method::GET, "/v1/nope"), "404 Inference Client(OpenaiChat)");
    assert_eq!(matched(Method::GET, "/v1/messages/x"), "404 Inference Client(Anthropic)");
    assert_eq!(matched(Method::GET, "/v1beta/nope"), "404 Inference Client(Gemini)");
    assert_eq!(matched(Method::GET, "/v1/chat/completions"), "405 POST Inference Client(OpenaiChat)");
}

#[test]
fn preflights_only_on_client_api_paths() {
    for path in ["/v1/chat/completions", "/v1/messages", "/api/chat", "/v1/models", "/v1beta/models/g:generateContent"]
    {
        assert!(matched(Method::OPTIONS, path).starts_with("preflight"), "{path}");
    }
    assert_eq!(matched(Method::OPTIONS, "/v1/models"), "preflight GET");
    assert_eq!(
        matched(Method::OPTIONS, "/api/keys"),
        "405 GET, POST Management Management",
        "never on the management API"
    );
    assert_eq!(matched(Method::OPTIONS, "/v1/nope"), "404 Inference Client(OpenaiChat)");
}

#[test]
fn rows_say_what_they_cost_and_who_may_call() {
    let row = |method: Method, path: &str| {
        let path = normalize(path);
        match resolve(&method, &path) {
            Matched::Row { row, .. } => *row,
            _ => panic!("{method} {path} matches no row"),
        }
    };
    assert_eq!(row(Method::POST, "/v1/messages").upstream, Upstream::Spends);
    assert_eq!(row(Method::POST, "/v1/messages/count_tokens").upstream, Upstream::Calls);
    assert_eq!(row(Method::GET, "/v1/models").upstream, Upstream::None);
    assert_eq!(row(Method::POST, "/v1/messages").errors, ErrorFormat::Client(WireFormat::Anthropic));
    assert_eq!(row(Method::POST, "/api/auth/login").access, Access::Public);
    assert_eq!(row(Method::GET, "/api/init").access, Access::Public);
    assert_eq!(row(Method::GET, "/health").access, Access::Public);
    assert_eq!(row(Method::GET, "/metrics").access, Access::Metrics);
    assert_eq!(row(Method::PUT, "/api/auth/password").access, Access::Management);
}
