//! Idempotency in the request path: requests carrying the same `Idempotency-Key` (or
//! `X-Request-Id`) within the window reach the upstream once. A duplicate that arrives while
//! the first is running waits for it and gets the same answer (a stream as the same chunks);
//! one that arrives after gets the stored answer. Answers carry `X-OmniRoute-Idempotent: true`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use crate::body::{Body, BodyError};
use crate::cache::{Begin, Guard, IdempotentResult, ReplayBody, fingerprint};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::maybe_send::BoxStream;
use crate::ports::Clock;

type Shared = Arc<IdempotentResult>;

/// Whether the request goes on to the upstream, or is already answered.
pub enum Start {
    /// Go on; complete the guard (if any) with the answer.
    Proceed(Option<Guard<Shared>>),
    Answer(Response<Body>),
}

/// The request's idempotency key, scoped to the endpoint path.
fn key(headers: &HeaderMap, path: &str) -> Option<String> {
    let value = headers.get("idempotency-key").or_else(|| headers.get("x-request-id"))?.to_str().ok()?.trim();
    (!value.is_empty() && value.len() <= 256).then(|| format!("{path} {value}"))
}

pub async fn start(gateway: &Gateway, headers: &HeaderMap, path: &str, body: &[u8]) -> Result<Start, GatewayError> {
    let Some(key) = key(headers, path) else { return Ok(Start::Proceed(None)) };
    let print = fingerprint(body);
    // A first request that fails frees the key; its waiters then try once more themselves.
    for _ in 0..2 {
        match gateway.idempotency.begin(&key, &print, gateway.ports.clock.now_unix_ms()) {
            Begin::First(guard) => return Ok(Start::Proceed(Some(guard))),
            Begin::Done(result) => return Ok(Start::Answer(replay(&result))),
            Begin::InFlight(waiter) => {
                if let Ok(result) = waiter.await {
                    return Ok(Start::Answer(replay(&result)));
                }
            }
            Begin::Conflict => {
                return Err(GatewayError::InvalidRequest(
                    "this idempotency key was used for a different request body within the idempotency window".into(),
                ));
            }
        }
    }
    Ok(Start::Proceed(None))
}

/// Ties the answer to the guard: a complete successful body now, a stream once it has ended.
pub fn finish(gateway: &Gateway, guard: Guard<Shared>, response: Response<Body>) -> Response<Body> {
    if !response.status().is_success() {
        return response; // the guard drops: duplicates go upstream themselves
    }
    let (parts, body) = response.into_parts();
    let headers = kept_headers(&parts.headers);
    let status = parts.status.as_u16();
    let body = match body {
        Body::Full(bytes) => {
            let result = IdempotentResult { status, headers, body: ReplayBody::Full(bytes.clone()) };
            guard.complete(Arc::new(result), gateway.ports.clock.now_unix_ms());
            Body::Full(bytes)
        }
        Body::Stream(inner) => Body::Stream(Box::pin(Tee {
            inner,
            chunks: Vec::new(),
            guard: Some(guard),
            status,
            headers,
            clock: gateway.ports.clock.clone(),
        })),
    };
    Response::from_parts(parts, body)
}

/// The headers a duplicate needs to read the answer the same way.
fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str() == "content-type" || name.as_str().starts_with("x-omniroute-"))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

fn replay(result: &IdempotentResult) -> Response<Body> {
    let body = match &result.body {
        ReplayBody::Full(bytes) => bytes.clone(),
        ReplayBody::Stream(chunks) => {
            let mut all = BytesMut::new();
            chunks.iter().for_each(|chunk| all.extend_from_slice(chunk));
            all.freeze()
        }
    };
    let mut response = Response::new(Body::Full(body));
    *response.status_mut() = StatusCode::from_u16(result.status).unwrap_or(StatusCode::OK);
    for (name, value) in &result.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response.headers_mut().insert("x-omniroute-idempotent", HeaderValue::from_static("true"));
    response
}

/// Passes a stream through while keeping its chunks; completes the guard when it ends well.
struct Tee {
    inner: BoxStream<'static, Result<Bytes, BodyError>>,
    chunks: Vec<Bytes>,
    guard: Option<Guard<Shared>>,
    status: u16,
    headers: Vec<(String, String)>,
    clock: Arc<dyn Clock>,
}

impl Stream for Tee {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.chunks.push(chunk.clone());
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => {
                this.guard = None; // a broken stream is not an answer to share
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                if let Some(guard) = this.guard.take() {
                    let body = ReplayBody::Stream(std::mem::take(&mut this.chunks));
                    let result =
                        IdempotentResult { status: this.status, headers: std::mem::take(&mut this.headers), body };
                    guard.complete(Arc::new(result), this.clock.now_unix_ms());
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
