//! Upstream calls through an outbound proxy (HTTP, HTTPS or SOCKS5, credentials allowed) on
//! reqwest: pooled keep-alive, TCP_NODELAY, a connect timeout, redirects never followed; bodies
//! stream back chunk by chunk.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{HttpClient, HttpError, OutboundProxy, ProxyError};
use omniroute_core::{Body, BodyError};

use super::{POOL_IDLE, source_chain};

/// A client through `proxy`, or through the environment's proxy variables when `None`.
pub fn build(connect_timeout: Duration, proxy: Option<&OutboundProxy>) -> Result<reqwest::Client, ProxyError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(POOL_IDLE)
        // Upstream redirects would re-send API keys to another host.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(proxy) = proxy {
        // The URL may hold credentials: reqwest's error would quote it, so it is not passed on.
        let mut configured = reqwest::Proxy::all(proxy.url.as_str())
            .map_err(|_| ProxyError::Invalid("the HTTP client does not accept this proxy URL".into()))?;
        if !proxy.no_proxy.trim().is_empty() {
            configured = configured.no_proxy(reqwest::NoProxy::from_string(&proxy.no_proxy));
        }
        builder = builder.proxy(configured);
    }
    builder.build().map_err(|e| ProxyError::Invalid(source_chain(&e.without_url())))
}

/// A client through a proxy under test, apart from the live one.
pub struct StandaloneClient(pub reqwest::Client);

impl HttpClient for StandaloneClient {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        boxed(send(self.0.clone(), request))
    }
}

/// Sends `request` through `client`; the answer's body streams as it arrives.
pub async fn send(client: reqwest::Client, request: http::Request<Bytes>) -> Result<http::Response<Body>, HttpError> {
    let request = reqwest::Request::try_from(request).map_err(|e| HttpError::Other(source_chain(&e.without_url())))?;
    let response = client.execute(request).await.map_err(map_error)?;
    let mut builder = http::Response::builder().status(response.status());
    if let Some(headers) = builder.headers_mut() {
        *headers = response.headers().clone();
    }
    let body = response.bytes_stream().map(|chunk| chunk.map_err(|e| BodyError(source_chain(&e.without_url()))));
    builder.body(Body::from_stream(body)).map_err(|e| HttpError::Other(e.to_string()))
}

/// Maps reqwest's error, without the URL (it may carry a `?key=` credential).
fn map_error(err: reqwest::Error) -> HttpError {
    let err = err.without_url();
    if err.is_timeout() {
        HttpError::Timeout
    } else if err.is_connect() {
        HttpError::Connect(source_chain(&err))
    } else {
        HttpError::Other(source_chain(&err))
    }
}
