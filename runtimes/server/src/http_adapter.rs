//! The axum side of the gateway: every request goes to `Gateway::handle` (the core routes),
//! bodies stream both ways without buffering here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body as AxumBody;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use futures_util::StreamExt;
use omniroute_core::auth::ClientAddr;
use omniroute_core::{Body, BodyError, Gateway};

/// The axum handler for all paths.
pub async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    // The peer address, for the IP filter, login throttling and the audit log.
    if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied() {
        parts.extensions.insert(ClientAddr(addr.ip()));
    }
    let stream = body.into_data_stream().map(|chunk| chunk.map_err(|e| BodyError(e.to_string())));
    let request = http::Request::from_parts(parts, Body::from_stream(stream));
    let response = gateway.handle(request).await;
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Full(bytes) => AxumBody::from(bytes),
        Body::Stream(stream) => AxumBody::from_stream(stream),
    };
    Response::from_parts(parts, body)
}

/// The router: the gateway answers every path itself.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(gateway)
}
