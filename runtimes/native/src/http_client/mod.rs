//! `UpstreamHttpClient`: the HttpClient port. Upstream calls go through hyper directly
//! (`direct`); when an outbound proxy applies (set over the API, or the environment's
//! `HTTP(S)_PROXY`/`ALL_PROXY`), through reqwest (`proxied`), which speaks HTTP, HTTPS and
//! SOCKS5 proxies. Why two: reqwest's own layers (a URL re-parsed on every answer, redirect and
//! retry policies) cost a tenth of a passthrough request's CPU (BENCHMARKS.md), and a proxy is
//! the exception. A proxy set at run time applies to the next request; requests already sent
//! keep their connections.

mod direct;
mod proxied;

use std::time::Duration;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use omniroute_core::Body;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{HttpClient, HttpError, OutboundProxy, ProxyError};

use direct::DirectClient;

/// Idle upstream connections are closed after this long (both clients).
const POOL_IDLE: Duration = Duration::from_secs(90);

pub struct UpstreamHttpClient {
    direct: DirectClient,
    /// Set while a proxy applies.
    proxied: ArcSwapOption<reqwest::Client>,
    connect_timeout: Duration,
}

impl UpstreamHttpClient {
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        let client = UpstreamHttpClient {
            direct: DirectClient::new(connect_timeout)?,
            proxied: ArcSwapOption::empty(),
            connect_timeout,
        };
        client.set_proxy(None).map_err(|e| e.to_string())?;
        Ok(client)
    }
}

/// The gateway's own calls that are not upstream calls (the remote database): always direct,
/// since an outbound proxy set for providers is not meant for the gateway's own database.
pub struct DirectHttpClient(DirectClient);

impl DirectHttpClient {
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        DirectClient::new(connect_timeout).map(DirectHttpClient)
    }
}

impl HttpClient for DirectHttpClient {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        boxed(self.0.send(request))
    }
}

impl HttpClient for UpstreamHttpClient {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        match self.proxied.load_full() {
            // A cheap handle to the current client (its pool is shared).
            Some(client) => boxed(proxied::send(reqwest::Client::clone(&client), request)),
            None => boxed(self.direct.send(request)),
        }
    }

    fn proxy_supported(&self) -> bool {
        true
    }

    fn set_proxy(&self, proxy: Option<&OutboundProxy>) -> Result<(), ProxyError> {
        let client = match proxy {
            Some(proxy) => Some(proxied::build(self.connect_timeout, Some(proxy))?),
            // reqwest applies the environment's proxy variables (and NO_PROXY) itself.
            None if environment_proxy() => Some(proxied::build(self.connect_timeout, None)?),
            None => None,
        };
        self.proxied.store(client.map(std::sync::Arc::new));
        Ok(())
    }

    fn through_proxy(&self, proxy: &OutboundProxy) -> Result<Box<dyn HttpClient>, ProxyError> {
        Ok(Box::new(proxied::StandaloneClient(proxied::build(self.connect_timeout, Some(proxy))?)))
    }
}

/// Whether the environment names a proxy for upstream calls (as curl and reqwest read it).
fn environment_proxy() -> bool {
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

/// An error and its causes on one line.
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
