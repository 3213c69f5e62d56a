//! `ReqwestHttpClient`: the HttpClient port on a pooled keep-alive reqwest client with
//! TCP_NODELAY and a connect timeout; bodies stream back chunk by chunk. An outbound proxy
//! (HTTP, HTTPS or SOCKS5) is applied by swapping in a client built with it: requests already
//! sent keep their connections, the next ones go through the new client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use futures_util::StreamExt;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{HttpClient, HttpError, OutboundProxy, ProxyError};
use omniroute_core::{Body, BodyError};

/// Upstream HTTP over reqwest (rustls).
pub struct ReqwestHttpClient {
    client: ArcSwap<reqwest::Client>,
    connect_timeout: Duration,
    /// Parsed upstream URLs by URI: a gateway calls the same few endpoints again and again, and
    /// parsing each one anew was a tenth of a passthrough request's CPU (BENCHMARKS.md).
    urls: Mutex<HashMap<http::Uri, reqwest::Url>>,
}

/// URLs remembered at most; past it the memory starts over (config changes, odd paths).
const URL_CACHE_ENTRIES: usize = 1024;

impl ReqwestHttpClient {
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        let client = build(connect_timeout, None).map_err(|e| e.to_string())?;
        Ok(ReqwestHttpClient {
            client: ArcSwap::from_pointee(client),
            connect_timeout,
            urls: Mutex::new(HashMap::new()),
        })
    }

    /// The request as reqwest takes it, as `reqwest::Request::try_from` builds it but with the
    /// URL parsed once per distinct URI.
    fn request(&self, request: http::Request<Bytes>) -> Result<reqwest::Request, HttpError> {
        let (parts, body) = request.into_parts();
        let cached = self.urls.lock().ok().and_then(|urls| urls.get(&parts.uri).cloned());
        let url = match cached {
            Some(url) => url,
            None => {
                let url = reqwest::Url::parse(&parts.uri.to_string())
                    .map_err(|e| HttpError::Other(format!("invalid upstream URL: {e}")))?;
                if let Ok(mut urls) = self.urls.lock() {
                    if urls.len() >= URL_CACHE_ENTRIES {
                        urls.clear();
                    }
                    urls.insert(parts.uri, url.clone());
                }
                url
            }
        };
        let mut request = reqwest::Request::new(parts.method, url);
        *request.headers_mut() = parts.headers;
        *request.version_mut() = parts.version;
        *request.body_mut() = Some(reqwest::Body::from(body));
        Ok(request)
    }
}

/// A client, direct (the environment's `HTTPS_PROXY`/`NO_PROXY` apply, as reqwest reads them)
/// or through `proxy` only.
fn build(connect_timeout: Duration, proxy: Option<&OutboundProxy>) -> Result<reqwest::Client, ProxyError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
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
struct StandaloneClient(reqwest::Client);

impl HttpClient for StandaloneClient {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        let request = reqwest::Request::try_from(request).map_err(|e| HttpError::Other(source_chain(&e.without_url())));
        boxed(execute(self.0.clone(), request))
    }
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

fn source_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

async fn execute(
    client: reqwest::Client,
    request: Result<reqwest::Request, HttpError>,
) -> Result<http::Response<Body>, HttpError> {
    let response = client.execute(request?).await.map_err(map_error)?;
    let mut builder = http::Response::builder().status(response.status());
    if let Some(headers) = builder.headers_mut() {
        *headers = response.headers().clone();
    }
    let body = response.bytes_stream().map(|chunk| chunk.map_err(|e| BodyError(source_chain(&e.without_url()))));
    builder.body(Body::from_stream(body)).map_err(|e| HttpError::Other(e.to_string()))
}

impl HttpClient for ReqwestHttpClient {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        // A cheap handle to the current client (its pool is shared).
        let client = reqwest::Client::clone(&self.client.load());
        boxed(execute(client, self.request(request)))
    }

    fn proxy_supported(&self) -> bool {
        true
    }

    fn set_proxy(&self, proxy: Option<&OutboundProxy>) -> Result<(), ProxyError> {
        self.client.store(Arc::new(build(self.connect_timeout, proxy)?));
        Ok(())
    }

    fn through_proxy(&self, proxy: &OutboundProxy) -> Result<Box<dyn HttpClient>, ProxyError> {
        Ok(Box::new(StandaloneClient(build(self.connect_timeout, Some(proxy))?)))
    }
}
