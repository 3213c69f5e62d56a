//! Phase 1, route: method + path → a row of the route table, or why there is none (an unknown
//! path, a method the path does not take, a browser's CORS preflight). Built once from
//! [`ROUTES`]; everything it answers (access rule, error format, `Allow`) comes from the rows.

use std::borrow::Cow;
use std::sync::LazyLock;

use http::Method;

use super::table::{Access, ErrorFormat, ROUTES, Row};
use crate::providers::WireFormat;

/// What a request's method and path match.
pub enum Matched<'p> {
    Row {
        row: &'static Row,
        params: matchit::Params<'static, 'p>,
    },
    /// `OPTIONS` on a client-API path: a CORS preflight (see `pipeline::cors`), answered with
    /// the methods the path takes. Browsers send no credentials with it; it reveals nothing.
    Preflight {
        allow: &'static str,
    },
    /// The path exists with other methods (listed for the `Allow` header).
    MethodNotAllowed {
        allow: &'static str,
        access: Access,
        errors: ErrorFormat,
    },
    NotFound {
        access: Access,
        errors: ErrorFormat,
    },
}

impl Matched<'_> {
    pub fn access(&self) -> Access {
        match self {
            Matched::Row { row, .. } => row.access,
            Matched::Preflight { .. } => Access::Public,
            Matched::MethodNotAllowed { access, .. } | Matched::NotFound { access, .. } => *access,
        }
    }

    /// The shape errors on this request are rendered in.
    pub fn errors(&self) -> ErrorFormat {
        match self {
            Matched::Row { row, .. } => row.errors,
            Matched::Preflight { .. } => ErrorFormat::Client(WireFormat::OpenaiChat),
            Matched::MethodNotAllowed { errors, .. } | Matched::NotFound { errors, .. } => *errors,
        }
    }

    pub fn row(&self) -> Option<&'static Row> {
        match self {
            Matched::Row { row, .. } => Some(row),
            _ => None,
        }
    }
}

/// The rows of one path pattern, and what they share.
struct PathRows {
    rows: Vec<&'static Row>,
    /// Their methods, as `Allow` lists them (`GET, PUT, PATCH, DELETE`).
    allow: String,
    access: Access,
    errors: ErrorFormat,
}

struct Table {
    router: matchit::Router<usize>,
    paths: Vec<PathRows>,
    /// Patterns the matcher refused (a row that conflicts with another): logged at start and
    /// failing `the_table_builds`, never silent.
    refused: Vec<String>,
}

/// The matcher over [`ROUTES`].
static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let table = build(ROUTES);
    for refusal in &table.refused {
        tracing::error!(%refusal, "route table: a row cannot be matched");
    }
    table
});

fn build(rows: &'static [Row]) -> Table {
    let mut paths: Vec<PathRows> = Vec::new();
    let mut patterns: Vec<&'static str> = Vec::new();
    for row in rows {
        match patterns.iter().position(|p| *p == row.path) {
            Some(i) => paths[i].rows.push(row),
            None => {
                patterns.push(row.path);
                paths.push(PathRows { rows: vec![row], allow: String::new(), access: row.access, errors: row.errors });
            }
        }
    }
    let mut router = matchit::Router::new();
    let mut refused = Vec::new();
    for (i, path) in paths.iter_mut().enumerate() {
        let mut methods: Vec<&str> = Vec::new();
        for row in &path.rows {
            if !methods.contains(&row.verb.as_str()) {
                methods.push(row.verb.as_str());
            }
        }
        path.allow = methods.join(", ");
        // A path some client API answers on is an inference path for preflights and refusals.
        if path.rows.iter().any(|r| r.access == Access::Inference) {
            path.access = Access::Inference;
        }
        let spellings = path.rows.iter().flat_map(|r| r.aliases.iter().copied());
        for pattern in std::iter::once(patterns[i]).chain(spellings) {
            match router.insert(pattern, i) {
                Ok(()) => {}
                // Two rows of one path may name the same alias.
                Err(matchit::InsertError::Conflict { .. }) if router.at(pattern).is_ok_and(|m| *m.value == i) => {}
                Err(e) => refused.push(format!("{pattern}: {e}")),
            }
        }
    }
    Table { router, paths, refused }
}

/// The path as the table spells it: no trailing `/`, `/api/v1...` folded into `/v1...`, and a
/// model name after `/v1/models/` or `/v1beta/models/` kept in one segment: gateway ids such as
/// `openai/gpt-4o` hold a `/`, which OpenAI and Gemini SDKs send unescaped.
pub fn normalize(path: &str) -> Cow<'_, str> {
    let path = path.trim_end_matches('/');
    let path = path.strip_prefix("/api").filter(|p| p.starts_with("/v1")).unwrap_or(path);
    for prefix in MODEL_PATHS {
        if let Some(name) = path.strip_prefix(prefix)
            && name.contains('/')
        {
            return Cow::Owned(format!("{prefix}{}", name.replace('/', "%2F")));
        }
    }
    Cow::Borrowed(path)
}

/// Paths whose last segment is a model name.
const MODEL_PATHS: [&str; 2] = ["/v1/models/", "/v1beta/models/"];

/// `/v1/models/{model}:{action}` or `/v1beta/models/{model}:{action}` (a [`normalize`]d path).
fn is_gemini_action(path: &str) -> bool {
    MODEL_PATHS.iter().any(|prefix| path.strip_prefix(prefix).is_some_and(|name| name.contains(':')))
}

/// Matches a [`normalize`]d path.
pub fn resolve<'p>(method: &Method, path: &'p str) -> Matched<'p> {
    let table = &*TABLE;
    let Ok(found) = table.router.at(path) else {
        return if is_management_path(path) {
            Matched::NotFound { access: Access::Management, errors: ErrorFormat::Management }
        } else {
            Matched::NotFound { access: Access::Inference, errors: ErrorFormat::Client(error_format(path)) }
        };
    };
    let rows = &table.paths[*found.value];
    match rows.rows.iter().find(|row| row.verb.is(method)) {
        Some(row) => Matched::Row { row, params: found.params },
        None if *method == Method::OPTIONS && rows.access == Access::Inference => {
            Matched::Preflight { allow: &rows.allow }
        }
        // A Gemini action the gateway does not serve (`:countTokens`, `:embedContent`, ...) is
        // not a method missing on the model resource `GET /v1/models/{id}`: it is not found, in
        // the format of the Gemini client that asked.
        None if *method == Method::POST && is_gemini_action(path) => {
            Matched::NotFound { access: Access::Inference, errors: ErrorFormat::Client(WireFormat::Gemini) }
        }
        None => {
            let access = if rows.access == Access::Inference { Access::Inference } else { Access::Management };
            Matched::MethodNotAllowed { allow: &rows.allow, access, errors: rows.errors }
        }
    }
}

/// The wire format errors on `method path` are written in, for a runtime that must answer before
/// the core does (the management API's shape is OpenAI's).
pub fn error_wire_format(method: &Method, path: &str) -> WireFormat {
    resolve(method, &normalize(path)).errors().wire_format()
}

/// `/api/...` paths that are not Ollama's, and `/metrics`: unknown ones need credentials
/// before they say "not found".
fn is_management_path(path: &str) -> bool {
    (path.starts_with("/api/") && !OLLAMA_PATHS.iter().any(|p| path.starts_with(p))) || path == "/metrics"
}

/// Ollama's own API paths, served or not (the rest of `/api/...` is the management API).
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
#[path = "matcher_tests.rs"]
mod tests;

/// Rows the matcher could not take (empty for a sound table).
#[cfg(test)]
fn refused() -> &'static [String] {
    &TABLE.refused
}
