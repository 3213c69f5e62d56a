//! Function URL event → core request. lambda_http has already decoded the payload v2.0 event
//! (base64 bodies included) into an `http::Request`; only the body type changes here.

use bytes::Bytes;
use omniroute_core::Body;

/// Converts a decoded Lambda request into the request `Gateway::handle` takes.
pub fn into_core(request: lambda_http::Request) -> http::Request<Body> {
    let (parts, body) = request.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        // The enum is non-exhaustive; a future kind is better refused by the core as an empty
        // body (a clear 400) than guessed at.
        _ => {
            tracing::warn!("unknown lambda_http body kind; treating it as empty");
            Bytes::new()
        }
    };
    http::Request::from_parts(parts, Body::Full(bytes))
}
