//! `ReqwestHttpClient`: the HttpClient port on a pooled keep-alive reqwest client with
//! TCP_NODELAY and a connect timeout; bodies stream back chunk by chunk.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{HttpClient, HttpError};
use omniroute_core::{Body, BodyError};

/// Upstream HTTP over reqwest (rustls).
pub struct ReqwestHttpClient {
    client: reqwest::Client,
    /// Parsed upstream URLs by URI: a gateway calls the same few endpoints again and again, and
    /// parsing each one anew was a tenth of a passthrough request's CPU (BENCHMARKS.md).
    urls: Mutex<HashMap<http::Uri, reqwest::Url>>,
}

/// URLs remembered at most; past it the memory starts over (config changes, odd paths).
const URL_CACHE_ENTRIES: usize = 1024;

impl ReqwestHttpClient {
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            // Upstream redirects would re-send API keys to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ReqwestHttpClient { client, urls: Mutex::new(HashMap::new()) })
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

impl HttpClient for ReqwestHttpClient {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        boxed(async move {
            let request = self.request(request)?;
            let response = self.client.execute(request).await.map_err(map_error)?;
            let mut builder = http::Response::builder().status(response.status());
            if let Some(headers) = builder.headers_mut() {
                *headers = response.headers().clone();
            }
            let body =
                response.bytes_stream().map(|chunk| chunk.map_err(|e| BodyError(source_chain(&e.without_url()))));
            builder.body(Body::from_stream(body)).map_err(|e| HttpError::Other(e.to_string()))
        })
    }
}
