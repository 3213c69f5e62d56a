//! The HTTP side of the gateway: every request goes to `Gateway::handle` (the core routes),
//! bodies stream both ways without buffering here. The request body is read under the body
//! timeouts; one that stalls is answered 408 in the client's format and its connection closed.

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body as AxumBody;
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use omniroute_core::auth::ClientAddr;
use omniroute_core::formats::{self, ErrorInfo};
use omniroute_core::render::APPLICATION_JSON;
use omniroute_core::routes::matcher::error_wire_format;
use omniroute_core::{Body, BodyError, Gateway};

use crate::connections::body_timeout::{ReadTimeout, Stalled, Tripwire};
use crate::connections::events::ConnectionEvents;
use crate::connections::limits::ClientLimits;

/// What every request of every connection shares.
pub struct Adapter {
    pub gateway: Arc<Gateway>,
    pub limits: ClientLimits,
    pub events: Arc<ConnectionEvents>,
}

/// The method and target of a request whose body is being read (for its 408).
struct Target {
    method: Method,
    uri: Uri,
    tripwire: Tripwire,
}

impl Adapter {
    /// Answers one request from `peer`.
    pub async fn handle<B>(&self, peer: SocketAddr, request: Request<B>) -> Response<AxumBody>
    where
        B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Display,
    {
        let (mut parts, body) = request.into_parts();
        // The peer address, for the IP filter, login throttling and the audit log.
        parts.extensions.insert(ClientAddr(peer.ip()));
        let (body, target) = if body.is_end_stream() {
            (Body::empty(), None)
        } else {
            let chunks = body.into_data_stream().map(|chunk| chunk.map_err(|e| BodyError(e.to_string())));
            let (chunks, tripwire) = ReadTimeout::new(chunks, self.limits.body_idle_timeout, self.limits.body_timeout);
            let target = Target { method: parts.method.clone(), uri: parts.uri.clone(), tripwire };
            (Body::from_stream(chunks), Some(target))
        };
        let response = self.gateway.handle(http::Request::from_parts(parts, body)).await;
        if let Some(target) = target
            && let Some(stalled) = target.tripwire.get().copied()
        {
            self.events.body_timeout(peer, target.uri.path(), stalled);
            return request_timeout(response, &target, stalled);
        }
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Full(bytes) => AxumBody::from(bytes),
            Body::Stream(stream) => AxumBody::from_stream(stream),
        };
        Response::from_parts(parts, body)
    }
}

/// The core's answer to a body it could not read, made a 408 in the client's format (its other
/// headers, such as the request id and CORS, kept) that closes the connection: what is left of
/// the body may still be on its way and cannot be told from a next request.
fn request_timeout(response: Response<Body>, target: &Target, stalled: Stalled) -> Response<AxumBody> {
    let format = error_wire_format(&target.method, target.uri.path());
    let info = ErrorInfo {
        status: StatusCode::REQUEST_TIMEOUT.as_u16(),
        // The client did not send what it announced: its request, not the gateway, is at fault.
        kind: "invalid_request_error".into(),
        code: Some("request_timeout".into()),
        message: stalled.to_string(),
        param: None,
    };
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::REQUEST_TIMEOUT;
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(APPLICATION_JSON));
    parts.headers.insert(CONNECTION, HeaderValue::from_static("close"));
    Response::from_parts(parts, AxumBody::from(formats::error_body(format, &info)))
}
