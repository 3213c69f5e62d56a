//! Errors the gateway itself produces (not upstream errors, which pass through as they came).
//! Each knows its HTTP status, a stable code and a client-safe message; codecs render them.

use http::StatusCode;

/// An error answered by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The body is not valid JSON or misses a required field.
    #[error("{0}")]
    InvalidRequest(String),
    /// A field holds a value the client's API does not accept, said the way that API says it;
    /// `param` names the field as OpenAI's errors do (`tools[0].type`).
    #[error("{message}")]
    InvalidValue { param: String, message: String },
    /// The body is larger than the configured limit.
    #[error("request body is larger than the {0}-byte limit")]
    BodyTooLarge(usize),
    /// `model` names a provider that is not configured.
    #[error("{0}")]
    UnknownProvider(String),
    /// `model` has no provider prefix and no configured provider serves it.
    #[error("{0}")]
    UnknownModel(String),
    /// The provider exists but has no usable account.
    #[error("provider '{0}' has no enabled account with an API key")]
    NoAccount(String),
    /// The provider speaks a format this client format cannot reach yet.
    #[error("{0}")]
    Unsupported(String),
    /// No route for this method and path.
    #[error("no route for {0}")]
    NotFound(String),
    /// The path exists but not with this method; `allowed` goes to the `Allow` header.
    #[error("method {method} is not allowed here (allowed: {allowed})")]
    MethodNotAllowed { method: String, allowed: &'static str },
    /// Every upstream attempt failed before an HTTP response (connect error, timeout).
    #[error("{0}")]
    UpstreamUnavailable(String),
    /// Every upstream for the model is cooling down (429s) or held open by its breaker.
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// Every upstream for the model is held off by an open circuit breaker.
    #[error("{message}")]
    CircuitOpen { message: String, retry_after_secs: u64 },
    /// Every account that serves the model is out: the provider refused its key or credit.
    #[error("{message}")]
    AccountsOut { message: String, retry_after_secs: u64 },
    /// The upstream did not answer in time.
    #[error("{0}")]
    UpstreamTimeout(String),
    /// No valid credential.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid credential that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A management request names a field that is wrong.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// The API key spent its budget for the current period.
    #[error("{0}")]
    BudgetExceeded(String),
    /// The resource exists already (management API).
    #[error("{0}")]
    Conflict(String),
    /// A stored response or item the request names is not there for this caller (missing,
    /// expired, deleted, or another key's): OpenAI's wording, status and code, since clients
    /// recover by them (`Previous response with id '…' not found.`, 400
    /// `previous_response_not_found`).
    #[error("{message}")]
    NotStored { message: String, status: StatusCode, code: &'static str },
    /// A management write could not be stored: the database is unreachable or refused it.
    /// The message names the database (kind and location, never a secret) and says nothing
    /// was stored; the cause is logged where it is rendered.
    #[error("{message}")]
    StoreUnavailable { message: String, cause: String },
    /// A bug or storage failure. The cause is for the log: it is written where the error is
    /// rendered ([`GatewayError::client_message`]) and never shown to the client, whose message
    /// stays generic (a cause may name a table, a path or a store's own error text).
    #[error("internal gateway error")]
    Internal(String),
}

impl GatewayError {
    /// A 405 for `method`, naming the methods the path takes (`"GET, POST"`).
    pub fn method_not_allowed(method: &http::Method, allowed: &'static str) -> GatewayError {
        GatewayError::MethodNotAllowed { method: method.to_string(), allowed }
    }

    /// An internal error with its cause: what failed, then the underlying error
    /// (`"cannot read the audit log: disk I/O error"`).
    pub fn internal(what: &str, cause: impl std::fmt::Display) -> GatewayError {
        GatewayError::Internal(format!("{what}: {cause}"))
    }

    /// The message a client is shown: the error's text, generic for [`GatewayError::Internal`].
    /// Every renderer of a gateway error goes through here, so this is where an internal
    /// error's cause is logged, once per response, inside the request's span (which carries the
    /// request id).
    pub fn client_message(&self) -> String {
        if let GatewayError::Internal(cause) = self {
            tracing::error!(code = self.code(), %cause, "internal gateway error");
        }
        if let GatewayError::StoreUnavailable { cause, .. } = self {
            tracing::error!(code = self.code(), %cause, "the database did not take a write");
        }
        self.to_string()
    }

    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::InvalidRequest(_)
            | GatewayError::InvalidValue { .. }
            | GatewayError::UnknownProvider(_)
            | GatewayError::UnknownModel(_)
            | GatewayError::InvalidField { .. } => StatusCode::BAD_REQUEST,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
            GatewayError::Conflict(_) => StatusCode::CONFLICT,
            GatewayError::BudgetExceeded(_) => StatusCode::PAYMENT_REQUIRED,
            GatewayError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::CircuitOpen { .. } | GatewayError::AccountsOut { .. } => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::NoAccount(_) | GatewayError::StoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::UpstreamUnavailable(_) => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::NotStored { status, .. } => *status,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::InvalidRequest(_) => "invalid_request",
            GatewayError::InvalidValue { .. } => "invalid_value",
            GatewayError::BodyTooLarge(_) => "request_too_large",
            GatewayError::UnknownProvider(_) => "unknown_provider",
            GatewayError::UnknownModel(_) => "model_not_found",
            GatewayError::NoAccount(_) => "no_account",
            GatewayError::Unsupported(_) => "unsupported_format",
            GatewayError::NotFound(_) => "not_found",
            GatewayError::MethodNotAllowed { .. } => "method_not_allowed",
            GatewayError::UpstreamUnavailable(_) => "upstream_unavailable",
            GatewayError::UpstreamTimeout(_) => "upstream_timeout",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::CircuitOpen { .. } => "circuit_open",
            GatewayError::AccountsOut { .. } => "accounts_unavailable",
            GatewayError::Unauthorized(_) => "unauthorized",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::InvalidField { .. } => "invalid_field",
            GatewayError::Conflict(_) => "conflict",
            GatewayError::BudgetExceeded(_) => "budget_exceeded",
            GatewayError::StoreUnavailable { .. } => "store_unavailable",
            GatewayError::Internal(_) => "internal_error",
            GatewayError::NotStored { code, .. } => code,
        }
    }

    /// The request field the error is about, where it names one.
    pub fn param(&self) -> Option<&str> {
        match self {
            GatewayError::InvalidValue { param, .. } => Some(param),
            _ => None,
        }
    }

    /// OpenAI's `error.type` family, which the other formats map from.
    pub fn kind(&self) -> &'static str {
        match self.status().as_u16() {
            400 | 404 | 405 | 409 | 413 => "invalid_request_error",
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            429 => "rate_limit_error",
            _ => "api_error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_cause_is_never_the_clients_message() {
        let err = GatewayError::internal("cannot read the audit log", "database /var/lib/omniroute.db is locked");
        assert_eq!(
            err,
            GatewayError::Internal("cannot read the audit log: database /var/lib/omniroute.db is locked".into())
        );
        assert_eq!(err.client_message(), "internal gateway error");
        assert_eq!(err.to_string(), "internal gateway error");
        assert_eq!(
            (err.status(), err.code(), err.kind()),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "api_error")
        );
    }

    /// Every client format's error body, and the management API's, for an internal error.
    #[test]
    fn no_rendered_body_holds_the_cause() {
        let err = GatewayError::internal("cannot read usage rows", "no such table: usage_secret");
        let info = crate::formats::ErrorInfo::from_gateway(&err);
        assert_eq!(info.message, "internal gateway error");
        use crate::providers::WireFormat;
        let formats = [
            WireFormat::OpenaiChat,
            WireFormat::OpenaiResponses,
            WireFormat::Anthropic,
            WireFormat::Gemini,
            WireFormat::Ollama,
        ];
        for format in formats {
            let body = crate::formats::error_body(format, &info);
            assert!(!String::from_utf8_lossy(&body).contains("usage_secret"), "{format:?}");
        }
        let response = crate::admin::json::error(&err);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let crate::body::Body::Full(body) = response.into_body() else { panic!("a JSON body") };
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("internal gateway error") && !text.contains("usage_secret"), "{text}");
    }

    /// The cause reaches the log, inside the request's span (which names the request id).
    #[test]
    fn the_cause_is_logged_in_the_requests_span() {
        let logged = log::capture(|| {
            let span = tracing::error_span!("request", request_id = "req-42");
            span.in_scope(|| GatewayError::internal("cannot read the audit log", "disk I/O error").client_message())
        });
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].contains("cannot read the audit log: disk I/O error"), "{logged:?}");
        assert!(logged[0].contains("request_id=req-42"), "{logged:?}");
        assert!(
            log::capture(|| GatewayError::NotFound("x".into()).client_message()).is_empty(),
            "only internal errors"
        );
    }

    /// A minimal `tracing` subscriber that keeps each event's fields and its spans' fields as
    /// text (core has no `tracing-subscriber`; a dev-dependency for one test is not worth it).
    mod log {
        use std::fmt::Write as _;
        use std::sync::{Arc, Mutex};

        use tracing::field::{Field, Visit};
        use tracing::span::{Attributes, Id, Record};
        use tracing::{Event, Metadata, Subscriber};

        #[derive(Default)]
        struct Fields(String);

        impl Visit for Fields {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                let _ = write!(self.0, " {}={value:?}", field.name());
            }
            fn record_str(&mut self, field: &Field, value: &str) {
                let _ = write!(self.0, " {}={value}", field.name());
            }
        }

        #[derive(Default)]
        struct Capture {
            spans: Mutex<Vec<String>>,
            entered: Mutex<Vec<u64>>,
            events: Arc<Mutex<Vec<String>>>,
        }

        impl Subscriber for Capture {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, attributes: &Attributes<'_>) -> Id {
                let mut fields = Fields::default();
                attributes.record(&mut fields);
                let mut spans = self.spans.lock().unwrap();
                spans.push(fields.0);
                Id::from_u64(spans.len() as u64)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, event: &Event<'_>) {
                let mut fields = Fields::default();
                event.record(&mut fields);
                let spans = self.spans.lock().unwrap();
                for id in self.entered.lock().unwrap().iter() {
                    fields.0.push_str(&spans[*id as usize - 1]);
                }
                self.events.lock().unwrap().push(fields.0);
            }
            fn enter(&self, span: &Id) {
                self.entered.lock().unwrap().push(span.into_u64());
            }
            fn exit(&self, _: &Id) {
                self.entered.lock().unwrap().pop();
            }
        }

        /// The events `f` logged on this thread, one line each.
        pub fn capture<T>(f: impl FnOnce() -> T) -> Vec<String> {
            let subscriber = Capture::default();
            let events = subscriber.events.clone();
            tracing::subscriber::with_default(subscriber, f);
            events.lock().unwrap().clone()
        }
    }

    #[test]
    fn other_errors_show_their_own_message() {
        let err = GatewayError::InvalidRequest("`model` is required".into());
        assert_eq!(err.client_message(), "`model` is required");
    }
}
