//! Phase 5, dispatch: try the provider's accounts in order until one answers. Retries only on
//! retryable failures (connect error, timeout, 408/429/5xx), and for streams only before the
//! first body byte, which is read here (the peek) so a stream that dies at once still falls back.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use crate::body::BodyError;
use crate::config::{ResolvedConnection, ResolvedProvider};
use crate::error::GatewayError;
use crate::maybe_send::BoxStream;
use crate::pipeline::timeouts::within;
use crate::pipeline::upstream::build_request;
use crate::ports::{Clock, HttpClient, HttpError};

/// One try against one account, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub connection_id: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// The upstream response the client will get: headers, plus a body that is either complete
/// (non-stream) or the peeked first chunk and the rest.
pub struct Reply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub connection: ResolvedConnection,
    pub body: ReplyBody,
}

pub enum ReplyBody {
    Full(Bytes),
    Stream { first: Option<Bytes>, rest: BoxStream<'static, Result<Bytes, BodyError>> },
}

/// What dispatch needs to know about the call.
pub struct Call<'a> {
    pub provider: &'a ResolvedProvider,
    pub path: &'a str,
    pub model: &'a str,
    pub body: Bytes,
    /// Client headers the provider should see (e.g. `anthropic-beta`), after its own.
    pub headers: &'a [(http::HeaderName, http::HeaderValue)],
    pub stream: bool,
    pub first_byte_timeout: Duration,
    pub max_response_bytes: usize,
}

/// Statuses worth another account.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

pub async fn dispatch(
    http: &dyn HttpClient,
    clock: &Arc<dyn Clock>,
    call: Call<'_>,
    attempts: &mut Vec<Attempt>,
) -> Result<Reply, GatewayError> {
    let connections = &call.provider.connections;
    if connections.is_empty() {
        return Err(GatewayError::NoAccount(call.provider.id.clone()));
    }
    let mut last_error = None;
    for (i, connection) in connections.iter().enumerate() {
        let is_last = i + 1 == connections.len();
        let started = clock.monotonic_us();
        let elapsed_ms = |clock: &Arc<dyn Clock>| clock.monotonic_us().saturating_sub(started) / 1000;
        let request = build_request(&call, connection)?;
        let outcome = attempt(http, clock.as_ref(), request, &call).await;
        match outcome {
            Ok(reply) if is_retryable(reply.0.as_u16()) && !is_last => {
                attempts.push(Attempt {
                    connection_id: connection.id.clone(),
                    status: Some(reply.0.as_u16()),
                    error: None,
                    latency_ms: elapsed_ms(clock),
                });
                tracing::warn!(provider = %call.provider.id, connection = %connection.id, status = reply.0.as_u16(), "upstream refused; trying next account");
            }
            Ok((status, headers, body)) => {
                attempts.push(Attempt {
                    connection_id: connection.id.clone(),
                    status: Some(status.as_u16()),
                    error: None,
                    latency_ms: elapsed_ms(clock),
                });
                return Ok(Reply { status, headers, connection: connection.clone(), body });
            }
            Err(err) => {
                attempts.push(Attempt {
                    connection_id: connection.id.clone(),
                    status: None,
                    error: Some(err.to_string()),
                    latency_ms: elapsed_ms(clock),
                });
                tracing::warn!(provider = %call.provider.id, connection = %connection.id, error = %err, "upstream attempt failed");
                last_error = Some(err);
            }
        }
    }
    let summary = attempts
        .iter()
        .map(|a| {
            format!(
                "{}: {}",
                a.connection_id,
                a.error.clone().unwrap_or_else(|| format!("HTTP {}", a.status.unwrap_or(0)))
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let message =
        format!("provider '{}' could not be reached ({} attempt(s): {summary})", call.provider.id, attempts.len());
    Err(match last_error {
        Some(AttemptError::Timeout) => GatewayError::UpstreamTimeout(message),
        _ => GatewayError::UpstreamUnavailable(message),
    })
}

#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("no response within the first-byte timeout")]
    Timeout,
    #[error("{0}")]
    Http(HttpError),
    #[error("response body failed: {0}")]
    Body(String),
}

type Attempted = (http::StatusCode, http::HeaderMap, ReplyBody);

async fn attempt(
    http: &dyn HttpClient,
    clock: &dyn Clock,
    request: http::Request<Bytes>,
    call: &Call<'_>,
) -> Result<Attempted, AttemptError> {
    let limit = call.first_byte_timeout;
    let response =
        within(clock, limit, http.send(request)).await.ok_or(AttemptError::Timeout)?.map_err(AttemptError::Http)?;
    let (parts, body) = response.into_parts();
    let streaming = call.stream && parts.status.is_success();
    if !streaming {
        let collected = within(clock, limit, body.collect(call.max_response_bytes))
            .await
            .ok_or(AttemptError::Timeout)?
            .map_err(|e| AttemptError::Body(e.to_string()))?;
        return Ok((parts.status, parts.headers, ReplyBody::Full(collected)));
    }
    let mut rest = body.into_stream();
    // The peek: the first chunk must arrive before we commit to this upstream.
    let first = match within(clock, limit, rest.next()).await {
        None => return Err(AttemptError::Timeout),
        Some(Some(Err(err))) => return Err(AttemptError::Body(err.0)),
        Some(Some(Ok(chunk))) => Some(chunk),
        Some(None) => None,
    };
    Ok((parts.status, parts.headers, ReplyBody::Stream { first, rest }))
}
