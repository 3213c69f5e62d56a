//! One error value every format can render: status, OpenAI-style kind, message. Built from a
//! gateway error or from an upstream's status and message.

use crate::error::GatewayError;

/// An error to show a client, whoever produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub status: u16,
    /// OpenAI's `error.type` family: `invalid_request_error`, `authentication_error`,
    /// `permission_error`, `not_found_error`, `rate_limit_error`, `api_error`, `overloaded_error`.
    pub kind: String,
    /// A stable machine-readable code, where there is one.
    pub code: Option<String>,
    pub message: String,
    /// The request field at fault (OpenAI's `error.param`), where known.
    pub param: Option<String>,
}

impl ErrorInfo {
    pub fn from_gateway(err: &GatewayError) -> Self {
        ErrorInfo {
            status: err.status().as_u16(),
            kind: err.kind().to_owned(),
            code: Some(err.code().to_owned()),
            message: err.client_message(),
            param: err.param().map(str::to_owned),
        }
    }

    /// An upstream's error, its kind derived from the status.
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        ErrorInfo { status, kind: kind_for_status(status).to_owned(), code: None, message: message.into(), param: None }
    }
}

/// The error family a status belongs to.
pub fn kind_for_status(status: u16) -> &'static str {
    match status {
        400 | 405 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// Google's canonical status name for an HTTP status (Gemini's `error.status`).
pub fn google_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        408 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        // A request Google refuses for its size or shape is an invalid argument.
        405 | 411 | 413 | 414 | 415 | 422 | 431 => "INVALID_ARGUMENT",
        // Out of quota: a spent budget (402) is the same condition as a rate limit to Google.
        402 | 429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        // Any other client error (a guard, not a range: clippy reads a range after the single
        // statuses above as overlapping them).
        _ if (400..=499).contains(&status) => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}
