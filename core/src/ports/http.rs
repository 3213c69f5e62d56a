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

/// An outbound proxy for upstream calls: an `http://`, `https://` or `socks5(h)://` URL
/// (credentials allowed) and the hosts reached directly (`NO_PROXY` syntax).
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundProxy {
    pub url: String,
    pub no_proxy: String,
}

impl std::fmt::Debug for OutboundProxy {
    // The URL may hold credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundProxy").field("no_proxy", &self.no_proxy).finish_non_exhaustive()
    }
}

/// Why a proxy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("this runtime cannot send upstream calls through a proxy")]
    Unsupported,
    #[error("{0}")]
    Invalid(String),
}

/// Sends HTTP requests to upstream providers.
pub trait HttpClient: MaybeSend + MaybeSync {
    /// Resolves once the response headers arrived; the body keeps streaming.
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>>;

    /// Whether this client can route calls through an [`OutboundProxy`].
    fn proxy_supported(&self) -> bool {
        false
    }

    /// Sends later calls through `proxy`, or directly with `None`; calls in flight keep theirs.
    fn set_proxy(&self, _proxy: Option<&OutboundProxy>) -> Result<(), ProxyError> {
        Err(ProxyError::Unsupported)
    }

    /// A separate client that goes through `proxy` (to try one before it is saved).
    fn through_proxy(&self, _proxy: &OutboundProxy) -> Result<Box<dyn HttpClient>, ProxyError> {
        Err(ProxyError::Unsupported)
    }
}
