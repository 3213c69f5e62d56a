//! Conversions between the Workers runtime's `Request`/`Response`/`Headers` and the core's
//! `http` types; response streams go out as a ReadableStream so SSE chunks flow as they arrive.

use std::rc::Rc;

use futures_util::{StreamExt, TryStreamExt};
use http::{HeaderMap, HeaderName, HeaderValue};
use js_sys::{Array, Uint8Array};
use omniroute_core::{Body, BodyError};
use wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::web_sys;
use worker::{Context, ResponseBody};

use crate::spawner::InRequest;

/// The incoming request as the core wants it; its body streams (the core caps its size).
pub fn request_from_js(request: &web_sys::Request) -> Result<http::Request<Body>, String> {
    let method = http::Method::from_bytes(request.method().as_bytes()).map_err(|_| "invalid method".to_owned())?;
    let uri: http::Uri = request.url().parse().map_err(|_| "invalid request URL".to_owned())?;
    let body = match request.body() {
        Some(stream) => Body::from_stream(
            worker::Body::new(stream).map(|chunk| chunk.map_err(|err| BodyError(format!("request body: {err}")))),
        ),
        None => Body::empty(),
    };
    let mut out = http::Request::new(body);
    *out.method_mut() = method;
    *out.uri_mut() = uri;
    *out.headers_mut() = header_map(&request.headers());
    // Cloudflare's edge sets the visitor's address; a client cannot forge it past the edge.
    if let Some(ip) = out.headers().get("cf-connecting-ip").and_then(|v| v.to_str().ok()?.parse().ok()) {
        out.extensions_mut().insert(omniroute_core::auth::ClientAddr(ip));
    }
    Ok(out)
}

/// The core's response as a runtime `Response`. A streamed body stays a stream, polled inside
/// the request's scope so background work it spawns reaches this request's `waitUntil`.
pub fn response_to_js(response: http::Response<Body>, ctx: Rc<Context>) -> Result<web_sys::Response, String> {
    let (parts, body) = response.into_parts();
    let init = web_sys::ResponseInit::new();
    init.set_status(parts.status.as_u16());
    init.set_headers(js_headers(&parts.headers)?.as_ref());
    // The Response constructor throws if these statuses carry any body, even an empty one.
    let null_body = matches!(parts.status.as_u16(), 101 | 103 | 204 | 205 | 304);
    let created = match body {
        _ if null_body => web_sys::Response::new_with_opt_str_and_init(None, &init),
        Body::Full(bytes) => {
            web_sys::Response::new_with_opt_buffer_source_and_init(Some(&Uint8Array::from(bytes.as_ref())), &init)
        }
        Body::Stream(stream) => {
            let stream = InRequest::new(ctx, stream).map_err(|err| worker::Error::RustError(err.0));
            let readable = match worker::Response::from_stream(stream) {
                Ok(response) => match response.into_parts().1 {
                    ResponseBody::Stream(readable) => readable,
                    _ => return Err("worker::Response::from_stream did not make a stream".into()),
                },
                Err(err) => return Err(format!("could not create the response stream: {err}")),
            };
            web_sys::Response::new_with_opt_readable_stream_and_init(Some(&readable), &init)
        }
    };
    created.map_err(|err| format!("the runtime refused the response: {}", js_message(&err)))
}

/// Headers the runtime computes itself or that only describe one hop.
fn is_hop_header(name: &HeaderName) -> bool {
    matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection" | "keep-alive")
}

fn js_headers(headers: &HeaderMap) -> Result<web_sys::Headers, String> {
    let out = web_sys::Headers::new().map_err(|err| js_message(&err))?;
    for (name, value) in headers {
        if is_hop_header(name) {
            continue;
        }
        // JS header values are strings; a non-UTF-8 one (rare, upstream-supplied) is dropped.
        let Ok(value) = value.to_str() else {
            worker::console_warn!("omniroute: dropped response header {} (not UTF-8)", name);
            continue;
        };
        if out.append(name.as_str(), value).is_err() {
            worker::console_warn!("omniroute: the runtime refused response header {}", name);
        }
    }
    Ok(out)
}

/// Copies runtime headers into a `HeaderMap`, skipping any `http` rejects.
pub fn header_map(headers: &web_sys::Headers) -> HeaderMap {
    let mut out = HeaderMap::new();
    for entry in headers.entries() {
        let Ok(entry) = entry else { break };
        let pair: Array = entry.unchecked_into();
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            out.append(name, value);
        }
    }
    out
}

/// A readable message from a JS exception (an `Error`'s message, or the value itself).
pub fn js_message(value: &JsValue) -> String {
    if let Some(err) = value.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
