//! `WorkerHttpClient`: the `HttpClient` port over the Workers `fetch` API. The request body goes
//! up whole; the response body comes back as the runtime's ReadableStream, read chunk by chunk.

use bytes::Bytes;
use futures_util::StreamExt;
use js_sys::Uint8Array;
use js_sys::futures::JsFuture;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{HttpClient, HttpError};
use omniroute_core::{Body, BodyError};
use wasm_bindgen::JsCast;
use worker::worker_sys::web_sys;

use crate::convert::{header_map, js_message};

/// Sends upstream requests with the global `fetch`.
///
/// `fetch` has no connect timeout of its own; the core's first-byte and total timeouts bound
/// the wait, and dropping the request or its body aborts the fetch (see [`AbortOnDrop`]).
#[derive(Debug, Default)]
pub struct WorkerHttpClient;

impl HttpClient for WorkerHttpClient {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        boxed(send(request))
    }
}

async fn send(request: http::Request<Bytes>) -> Result<http::Response<Body>, HttpError> {
    let abort = AbortOnDrop::new()?;
    let js_request = js_request(request, &abort.0.signal())?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    // `fetch` rejects only when no response arrived: DNS, refused, reset, TLS, aborted.
    let value = JsFuture::from(global.fetch_with_request(&js_request))
        .await
        .map_err(|err| HttpError::Connect(js_message(&err)))?;
    let response: web_sys::Response =
        value.dyn_into().map_err(|_| HttpError::Other("fetch resolved to something that is not a Response".into()))?;
    http_response(response, abort)
}

fn js_request(request: http::Request<Bytes>, signal: &web_sys::AbortSignal) -> Result<web_sys::Request, HttpError> {
    let (parts, body) = request.into_parts();
    let headers = web_sys::Headers::new().map_err(|err| HttpError::Other(js_message(&err)))?;
    for (name, value) in &parts.headers {
        // Header values are never echoed: they carry the provider key.
        let value =
            value.to_str().map_err(|_| HttpError::Other(format!("request header {name} is not visible ASCII")))?;
        headers
            .append(name.as_str(), value)
            .map_err(|_| HttpError::Other(format!("fetch refused request header {name}")))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(parts.method.as_str());
    init.set_headers(&headers);
    init.set_signal(Some(signal));
    if !body.is_empty() {
        // A whole buffer, not a stream: a streamed upload would go out chunked, which some
        // providers refuse.
        init.set_body(&Uint8Array::from(body.as_ref()));
    }
    web_sys::Request::new_with_str_and_init(&parts.uri.to_string(), &init)
        .map_err(|err| HttpError::Other(format!("invalid upstream request: {}", js_message(&err))))
}

fn http_response(response: web_sys::Response, abort: AbortOnDrop) -> Result<http::Response<Body>, HttpError> {
    let status = http::StatusCode::from_u16(response.status())
        .map_err(|_| HttpError::Other(format!("upstream answered with status {}", response.status())))?;
    let body = match response.body() {
        Some(stream) => {
            // The abort guard lives as long as the body: dropping the body early (client gone,
            // idle timeout, fallback) cancels the upstream generation too.
            let chunks = worker::Body::new(stream).map(move |chunk| {
                let _keep_until_dropped = &abort;
                chunk.map_err(|err| BodyError(format!("upstream body: {err}")))
            });
            Body::from_stream(chunks)
        }
        None => Body::empty(),
    };
    let mut headers = header_map(&response.headers());
    // `fetch` already decoded a compressed body; these would describe bytes we never see.
    headers.remove(http::header::CONTENT_ENCODING);
    headers.remove(http::header::CONTENT_LENGTH);
    let mut out = http::Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// Aborts the fetch when dropped; harmless once the response body has been read to the end.
struct AbortOnDrop(web_sys::AbortController);

impl AbortOnDrop {
    fn new() -> Result<Self, HttpError> {
        web_sys::AbortController::new()
            .map(AbortOnDrop)
            .map_err(|err| HttpError::Other(format!("AbortController: {}", js_message(&err))))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
