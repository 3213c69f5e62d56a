//! The `HttpClient` port: send one upstream request, get its status, headers and a body stream.
//! Implementations: reqwest (native, Lambda), `worker::Fetch` (Workers), mocks in tests.

use bytes::Bytes;

use crate::body::Body;
use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// Why an upstream request produced no response at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// TCP/TLS connection could not be made (refused, DNS, handshake).
    #[error("could not connect to upstream: {0}")]
    Connect(String),
    /// The runtime's own timeout fired (the core adds first-byte and idle timeouts on top).
    #[error("upstream timed out")]
    Timeout,
    /// Anything else: reset before headers, protocol error.
    #[error("upstream request failed: {0}")]
    Other(String),
}

/// Sends HTTP requests to upstream providers.
pub trait HttpClient: MaybeSend + MaybeSync {
    /// Resolves once the response headers arrived; the body keeps streaming.
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>>;
}
