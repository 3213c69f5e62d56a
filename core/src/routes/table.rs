//! The route table: every endpoint as one row (method, path pattern, access rule, error format,
//! handler). The matcher, the access check, CORS preflights, `405`'s `Allow` and the OpenAPI
//! document's list of operations (and each operation's security) all derive from it; adding an
//! endpoint is one row here plus its handler.
//!
//! Paths are `matchit` patterns: `{name}` is one segment, `{*name}` the rest of the path,
//! `{name}:suffix` a segment that ends in `:suffix`. `/api/v1/...` and `/api/v1beta/...` are
//! folded into `/v1/...` and `/v1beta/...` before matching (see `matcher::normalize`), and a
//! model name's `/` (after `/v1/models/`, `/v1beta/models/`) is matched as part of its segment.

use super::spec;
use crate::admin::{
    aliases_api, audit_api, auth_api, backups_api, budget_api, cache_api, cache_settings_api, catalog_api, combos_api,
    connections, keys, model_discovery, pricing_api, provider_models, provider_nodes, provider_probe,
    provider_validate, proxy_api, resilience_api, settings_api, settings_docs_api, sync_api, system_api, telemetry_api,
    usage_api, usage_settings_api,
};
use crate::gateway::call::{Answer, Call};
use crate::maybe_send::BoxFuture;
use crate::pipeline::{count_tokens, endpoint, info, stored};
use crate::providers::WireFormat;

/// A row's handler: an `async fn(Call) -> Answer`, boxed by [`handler!`].
pub type Handler = for<'a> fn(Call<'a>) -> BoxFuture<'a, Answer>;

/// The HTTP methods the table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    pub fn is(self, method: &http::Method) -> bool {
        method.as_str() == self.as_str()
    }
}

/// Which access rule a route falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, login, the first-run check).
    Public,
    /// The client APIs: gateway keys, when required or sent. CORS applies.
    Inference,
    /// A login session or an admin key.
    Management,
    /// `GET /metrics`: management unless the settings open it.
    Metrics,
}

/// The shape errors on a route are rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// The client's wire format (also the format inference handlers decode).
    Client(WireFormat),
    /// The management API's one shape (OpenAI's, with `param` naming the field at fault).
    Management,
}

impl ErrorFormat {
    /// The wire format of the errors: the management API's shape is OpenAI's.
    pub fn wire_format(self) -> WireFormat {
        match self {
            ErrorFormat::Client(format) => format,
            ErrorFormat::Management => WireFormat::OpenaiChat,
        }
    }
}

/// What a route costs a key, which decides the checks before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// Answered by the gateway alone.
    None,
    /// Calls an upstream: the key's request limits apply.
    Calls,
    /// Calls an upstream and spends: the key's budget applies too (and its warning header).
    Spends,
}

/// One endpoint.
#[derive(Clone, Copy)]
pub struct Row {
    pub verb: Verb,
    /// The documented pattern (the OpenAPI path, `{*x}` written `{x}` there).
    pub path: &'static str,
    /// Other spellings clients use for the same endpoint (not documented separately).
    pub aliases: &'static [&'static str],
    pub access: Access,
    pub errors: ErrorFormat,
    pub upstream: Upstream,
    pub handler: Handler,
}

impl Row {
    const fn new(verb: Verb, path: &'static str, access: Access, errors: ErrorFormat, handler: Handler) -> Row {
        Row { verb, path, aliases: &[], access, errors, upstream: Upstream::None, handler }
    }

    const fn aka(self, aliases: &'static [&'static str]) -> Row {
        Row { aliases, ..self }
    }

    const fn spends(self) -> Row {
        Row { upstream: Upstream::Spends, ..self }
    }

    const fn calls(self) -> Row {
        Row { upstream: Upstream::Calls, ..self }
    }
}

/// A client API endpoint, answering errors in `format`.
const fn client(verb: Verb, path: &'static str, format: WireFormat, handler: Handler) -> Row {
    Row::new(verb, path, Access::Inference, ErrorFormat::Client(format), handler)
}

/// A management endpoint (session or admin key).
const fn admin(verb: Verb, path: &'static str, handler: Handler) -> Row {
    Row::new(verb, path, Access::Management, ErrorFormat::Management, handler)
}

/// A management-API endpoint anyone may call.
const fn open(verb: Verb, path: &'static str, handler: Handler) -> Row {
    Row::new(verb, path, Access::Public, ErrorFormat::Management, handler)
}

/// Boxes an `async fn(Call<'_>) -> Answer` into a [`Handler`].
macro_rules! handler {
    ($f:path) => {{
        fn boxed(call: Call<'_>) -> BoxFuture<'_, Answer> {
            Box::pin($f(call))
        }
        boxed as Handler
    }};
}

use Verb::{Delete, Get, Patch, Post, Put};
use WireFormat::{Anthropic, Gemini, Ollama, OpenaiChat, OpenaiResponses};

/// Every endpoint. Rows of one path list its methods in the order `Allow` names them.
#[rustfmt::skip]
pub static ROUTES: &[Row] = &[
    // The client APIs.
    client(Post, "/v1/chat/completions", OpenaiChat, handler!(endpoint::chat)).aka(&["/chat/completions"]).spends(),
    client(Post, "/v1/responses", OpenaiResponses, handler!(endpoint::chat)).aka(&["/responses"]).spends(),
    client(Get, "/v1/responses/{id}", OpenaiResponses, handler!(stored::api::get)).aka(&["/responses/{id}"]),
    client(Delete, "/v1/responses/{id}", OpenaiResponses, handler!(stored::api::delete)).aka(&["/responses/{id}"]),
    client(Get, "/v1/responses/{id}/input_items", OpenaiResponses, handler!(stored::api::input_items))
        .aka(&["/responses/{id}/input_items"]),
    client(Post, "/v1/messages", Anthropic, handler!(endpoint::chat)).spends(),
    client(Post, "/v1/messages/count_tokens", Anthropic, handler!(count_tokens::serve)).calls(),
    client(Post, "/api/chat", Ollama, handler!(endpoint::chat)).aka(&["/v1/api/chat"]).spends(),
    client(Get, "/api/tags", Ollama, handler!(info::ollama_tags)).aka(&["/v1/api/tags"]),
    client(Get, "/api/version", Ollama, handler!(info::ollama_version)),
    client(Get, "/v1/models", OpenaiChat, handler!(info::list_models)).aka(&["/models"]),
    client(Get, "/v1/models/{id}", OpenaiChat, handler!(info::get_model)),
    client(Get, "/v1beta/models", Gemini, handler!(info::gemini_models)),
    client(Get, "/v1beta/models/{model}", Gemini, handler!(info::gemini_model)),
    client(Post, "/v1beta/models/{model}:generateContent", Gemini, handler!(endpoint::gemini_generate)).spends(),
    client(Post, "/v1beta/models/{model}:streamGenerateContent", Gemini, handler!(endpoint::gemini_stream)).spends(),
    // Gemini on `v1` too (some SDK versions and settings default to it); told apart from
    // OpenAI's `GET /v1/models/{id}` by method and the `:action` suffix.
    client(Post, "/v1/models/{model}:generateContent", Gemini, handler!(endpoint::gemini_generate)).spends(),
    client(Post, "/v1/models/{model}:streamGenerateContent", Gemini, handler!(endpoint::gemini_stream)).spends(),
    client(Post, "/v1/providers/{provider}/chat/completions", OpenaiChat, handler!(endpoint::provider_chat)).spends(),
    client(Get, "/v1/providers/{provider}/models", OpenaiChat, handler!(info::provider_models)),
    Row::new(Get, "/api/monitoring/health", Access::Public, ErrorFormat::Client(OpenaiChat), handler!(info::health))
        .aka(&["/health", "/healthz"]),

    // Login and the admin password.
    open(Post, "/api/auth/login", handler!(auth_api::login)),
    open(Post, "/api/auth/logout", handler!(auth_api::logout)),
    open(Get, "/api/auth/status", handler!(auth_api::status)),
    admin(Put, "/api/auth/password", handler!(auth_api::change_password)),
    admin(Get, "/api/settings/require-login", handler!(auth_api::require_login)),
    admin(Put, "/api/settings/require-login", handler!(auth_api::set_require_login)),

    // Gateway API keys and their budgets.
    admin(Get, "/api/keys", handler!(keys::list)),
    admin(Post, "/api/keys", handler!(keys::create)),
    admin(Get, "/api/keys/{id}", handler!(keys::get)),
    admin(Put, "/api/keys/{id}", handler!(keys::update)),
    admin(Patch, "/api/keys/{id}", handler!(keys::update)),
    admin(Delete, "/api/keys/{id}", handler!(keys::delete)),
    admin(Post, "/api/keys/{id}/revoke", handler!(keys::revoke)),
    admin(Get, "/api/usage/budget", handler!(budget_api::list)),
    admin(Post, "/api/usage/budget", handler!(budget_api::set)),
    admin(Put, "/api/usage/budget", handler!(budget_api::set)),
    admin(Get, "/api/usage/budget/{keyId}", handler!(budget_api::get)),
    admin(Delete, "/api/usage/budget/{keyId}", handler!(budget_api::remove)),

    // Database backups (the reference's `/api/db-backups*`).
    admin(Get, "/api/db-backups", handler!(backups_api::list)),
    admin(Put, "/api/db-backups", handler!(backups_api::create)),
    admin(Post, "/api/db-backups", handler!(backups_api::restore)),
    admin(Get, "/api/db-backups/export", handler!(backups_api::export)),
    admin(Post, "/api/db-backups/import", handler!(backups_api::import)),
    admin(Get, "/api/db-backups/exportAll", handler!(backups_api::export_all)),
    // The shared database, as this instance sees it.
    admin(Get, "/api/sync/cloud", handler!(sync_api::cloud)),

    // Providers, their accounts and models; probes of real upstreams.
    admin(Get, "/api/providers", handler!(connections::list)),
    admin(Post, "/api/providers", handler!(connections::create)),
    admin(Post, "/api/providers/validate", handler!(provider_validate::validate)),
    admin(Get, "/api/providers/{id}", handler!(connections::get)),
    admin(Put, "/api/providers/{id}", handler!(connections::update)),
    admin(Patch, "/api/providers/{id}", handler!(connections::update)),
    admin(Delete, "/api/providers/{id}", handler!(connections::delete)),
    admin(Post, "/api/providers/{id}/test", handler!(provider_probe::test)),
    admin(Get, "/api/providers/{id}/models", handler!(provider_probe::models)),
    admin(Post, "/api/providers/{id}/sync-models", handler!(model_discovery::sync)),
    admin(Get, "/api/provider-nodes", handler!(provider_nodes::list)),
    admin(Post, "/api/provider-nodes", handler!(provider_nodes::create)),
    admin(Get, "/api/provider-nodes/{id}", handler!(provider_nodes::get)),
    admin(Put, "/api/provider-nodes/{id}", handler!(provider_nodes::update)),
    admin(Patch, "/api/provider-nodes/{id}", handler!(provider_nodes::update)),
    admin(Delete, "/api/provider-nodes/{id}", handler!(provider_nodes::delete)),
    admin(Get, "/api/provider-models", handler!(provider_models::list)),
    admin(Post, "/api/provider-models", handler!(provider_models::add)),
    admin(Patch, "/api/provider-models", handler!(provider_models::hide)),
    admin(Delete, "/api/provider-models", handler!(provider_models::remove)),

    // Settings.
    admin(Get, "/api/settings", handler!(settings_api::get)),
    admin(Put, "/api/settings", handler!(settings_api::put)),
    admin(Patch, "/api/settings", handler!(settings_api::patch)),
    admin(Get, "/api/settings/proxy", handler!(proxy_api::get)),
    admin(Put, "/api/settings/proxy", handler!(proxy_api::update)),
    admin(Patch, "/api/settings/proxy", handler!(proxy_api::update)),
    admin(Post, "/api/settings/proxy/test", handler!(proxy_api::test)),
    admin(Get, "/api/settings/usage", handler!(usage_settings_api::get)),
    admin(Put, "/api/settings/usage", handler!(usage_settings_api::update)),
    admin(Patch, "/api/settings/usage", handler!(usage_settings_api::update)),
    admin(Get, "/api/settings/cache", handler!(cache_settings_api::get)),
    admin(Put, "/api/settings/cache", handler!(cache_settings_api::put)),
    admin(Patch, "/api/settings/cache", handler!(cache_settings_api::patch)),
    admin(Get, "/api/settings/ip-filter", handler!(settings_docs_api::get_ip_filter)),
    admin(Put, "/api/settings/ip-filter", handler!(settings_docs_api::put_ip_filter)),
    admin(Get, "/api/settings/system-prompt", handler!(settings_docs_api::get_system_prompt)),
    admin(Put, "/api/settings/system-prompt", handler!(settings_docs_api::put_system_prompt)),
    admin(Get, "/api/settings/thinking-budget", handler!(settings_docs_api::get_thinking_budget)),
    admin(Put, "/api/settings/thinking-budget", handler!(settings_docs_api::put_thinking_budget)),

    // Model aliases, combos, the catalog, prices.
    admin(Get, "/api/models/alias", handler!(aliases_api::list)),
    admin(Post, "/api/models/alias", handler!(aliases_api::set)),
    admin(Put, "/api/models/alias", handler!(aliases_api::set)),
    admin(Delete, "/api/models/alias", handler!(aliases_api::delete_by_query)),
    admin(Delete, "/api/models/alias/{alias}", handler!(aliases_api::delete)),
    admin(Get, "/api/models/catalog", handler!(catalog_api::list)),
    admin(Get, "/api/combos", handler!(combos_api::list)),
    admin(Post, "/api/combos", handler!(combos_api::create)),
    admin(Get, "/api/combos/{id}", handler!(combos_api::get)),
    admin(Put, "/api/combos/{id}", handler!(combos_api::put)),
    admin(Patch, "/api/combos/{id}", handler!(combos_api::patch)),
    admin(Delete, "/api/combos/{id}", handler!(combos_api::delete)),
    admin(Post, "/api/combos/{id}/test", handler!(combos_api::test)),
    admin(Get, "/api/pricing", handler!(pricing_api::table)),
    admin(Put, "/api/pricing", handler!(pricing_api::replace)),
    admin(Patch, "/api/pricing", handler!(pricing_api::update)),
    admin(Delete, "/api/pricing", handler!(pricing_api::reset)),
    admin(Delete, "/api/pricing/{provider}/{*model}", handler!(pricing_api::delete)),

    // Usage and the audit log.
    admin(Get, "/api/usage/history", handler!(usage_api::history)),
    admin(Get, "/api/usage/logs", handler!(usage_api::logs)),
    admin(Get, "/api/usage/request-logs", handler!(usage_api::request_logs)),
    admin(Get, "/api/usage/{connectionId}", handler!(usage_api::connection_usage)),
    admin(Get, "/api/compliance/audit-log", handler!(audit_api::list)),

    // Routing state, telemetry, the response cache.
    admin(Get, "/api/resilience", handler!(resilience_api::report)),
    admin(Patch, "/api/resilience", handler!(resilience_api::patch)),
    admin(Post, "/api/resilience/reset", handler!(resilience_api::reset)),
    admin(Get, "/api/rate-limits", handler!(resilience_api::rate_limits)),
    admin(Get, "/api/models/availability", handler!(resilience_api::availability)),
    admin(Post, "/api/models/availability", handler!(resilience_api::check_model)),
    admin(Get, "/api/sessions", handler!(resilience_api::sessions)),
    admin(Get, "/api/telemetry/summary", handler!(telemetry_api::summary)),
    Row::new(Get, "/metrics", Access::Metrics, ErrorFormat::Management, handler!(telemetry_api::metrics)),
    admin(Get, "/api/cache", handler!(cache_api::stats)),
    admin(Delete, "/api/cache", handler!(cache_api::clear)),
    admin(Get, "/api/cache/stats", handler!(cache_api::stats)),
    admin(Delete, "/api/cache/stats", handler!(cache_api::clear)),

    // The instance.
    open(Get, "/api/init", handler!(system_api::init)),
    admin(Post, "/api/shutdown", handler!(system_api::shutdown)),
    admin(Post, "/api/restart", handler!(system_api::restart)),
    admin(Get, "/api/openapi/spec", handler!(spec::serve)),
];

/// A pattern as the OpenAPI document writes it: `{*model}` is `{model}` there.
pub fn documented_path(pattern: &str) -> String {
    pattern.replace("{*", "{")
}

/// The row an OpenAPI operation (`get`, `/api/keys/{id}`) documents.
pub fn documented_row(method: &str, path: &str) -> Option<&'static Row> {
    ROUTES.iter().find(|row| row.verb.as_str().eq_ignore_ascii_case(method) && documented_path(row.path) == path)
}
