//! Errors the gateway itself produces (not upstream errors, which pass through as they came).
//! Each knows its HTTP status, a stable code and a client-safe message; codecs render them.

use http::StatusCode;

/// An error answered by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The body is not valid JSON or misses a required field.
    #[error("{0}")]
    InvalidRequest(String),
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
    /// The resource exists already (management API).
    #[error("{0}")]
    Conflict(String),
    /// A bug or storage failure; details are logged, not shown.
    #[error("internal gateway error")]
    Internal,
}

impl GatewayError {
    /// A 405 for `method`, naming the methods the path takes (`"GET, POST"`).
    pub fn method_not_allowed(method: &http::Method, allowed: &'static str) -> GatewayError {
        GatewayError::MethodNotAllowed { method: method.to_string(), allowed }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::InvalidRequest(_)
            | GatewayError::UnknownProvider(_)
            | GatewayError::UnknownModel(_)
            | GatewayError::InvalidField { .. } => StatusCode::BAD_REQUEST,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
            GatewayError::Conflict(_) => StatusCode::CONFLICT,
            GatewayError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::CircuitOpen { .. } => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::NoAccount(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::UpstreamUnavailable(_) => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::InvalidRequest(_) => "invalid_request",
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
            GatewayError::Unauthorized(_) => "unauthorized",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::InvalidField { .. } => "invalid_field",
            GatewayError::Conflict(_) => "conflict",
            GatewayError::Internal => "internal_error",
        }
    }

    /// OpenAI's `error.type` family, which the other formats map from.
    pub fn kind(&self) -> &'static str {
        match self.status().as_u16() {
            400 | 404 | 405 | 409 | 413 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_error",
            _ => "api_error",
        }
    }
}
