//! `ReqwestHttpClient`: the HttpClient port on a pooled keep-alive reqwest client with
//! TCP_NODELAY and a connect timeout; bodies stream back chunk by chunk.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{HttpClient, HttpError};
use omniroute_core::{Body, BodyError};

/// Upstream HTTP over reqwest (rustls).
pub struct ReqwestHttpClient {
    client: reqwest::Client,
}

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
        Ok(ReqwestHttpClient { client })
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
            let request =
                reqwest::Request::try_from(request).map_err(|e| HttpError::Other(source_chain(&e.without_url())))?;
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
