//! Upstream calls without a proxy: hyper's pooled keep-alive client over rustls (HTTP/1.1, or
//! HTTP/2 when the upstream offers it), TCP_NODELAY, a connect timeout, redirects never
//! followed (they would re-send API keys to another host). The hot path of every request.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use omniroute_core::ports::HttpError;
use omniroute_core::{Body, BodyError};

use super::{POOL_IDLE, source_chain};

pub struct DirectClient(Client<HttpsConnector<HttpConnector>, Full<Bytes>>);

impl DirectClient {
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        let mut tcp = HttpConnector::new();
        // https:// URIs go to the TLS layer around it.
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(DirectClient(client))
    }

    /// Sends `request` (an absolute URI); the answer's body streams as it arrives.
    pub async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Body>, HttpError> {
        let response = self.0.request(request.map(Full::new)).await.map_err(map_error)?;
        let (parts, incoming) = response.into_parts();
        let stream = incoming.into_data_stream().map_err(|e| BodyError(source_chain(&e)));
        Ok(http::Response::from_parts(parts, Body::from_stream(stream)))
    }
}

/// Connection failures apart from the rest, a connect timeout as a timeout (as reqwest did).
fn map_error(err: hyper_util::client::legacy::Error) -> HttpError {
    let timed_out = std::iter::successors(std::error::Error::source(&err), |e| e.source())
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::TimedOut);
    if timed_out {
        HttpError::Timeout
    } else if err.is_connect() {
        HttpError::Connect(source_chain(&err))
    } else {
        HttpError::Other(source_chain(&err))
    }
}
