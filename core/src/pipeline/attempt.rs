//! One HTTP try against one upstream account: send within the attempt's time limit, check
//! that a success is the promised answer, and for streams peek the first chunk before the
//! walk commits to this upstream. What went wrong is named so the walk can tell whose fault
//! it was (the endpoint's, the model's).

use bytes::Bytes;
use futures_util::StreamExt;

use crate::pipeline::answer_check::{self, NotTheAnswer};
use crate::pipeline::dispatch::{Call, ReplyBody};
use crate::pipeline::timeouts::within;
use crate::ports::{Clock, HttpClient, HttpError};
use crate::routing::health::Failure;

#[derive(Debug, thiserror::Error)]
pub(crate) enum AttemptError {
    /// Which limit ran out: streams wait for their first byte, complete answers for all of it.
    #[error("no response within the {0} timeout")]
    Timeout(&'static str),
    #[error("{0}")]
    Http(HttpError),
    #[error("response body failed: {0}")]
    Body(String),
    #[error(transparent)]
    NotTheAnswer(#[from] NotTheAnswer),
}

impl AttemptError {
    /// Nothing reached the upstream or came back from it (refused, DNS, TLS, reset before the
    /// headers): the endpoint's failure, whatever the model or account.
    pub(crate) fn unreachable(&self) -> bool {
        matches!(self, AttemptError::Http(HttpError::Connect(_) | HttpError::Other(_)))
    }

    /// How the failure counts against the upstream's health.
    pub(crate) fn failure(&self) -> Failure {
        match self {
            AttemptError::Timeout(_) | AttemptError::Http(HttpError::Timeout) => Failure::Timeout,
            AttemptError::Http(_) => Failure::Connect,
            AttemptError::Body(_) => Failure::StreamBroken,
            AttemptError::NotTheAnswer(_) => Failure::Status(502),
        }
    }
}

pub(crate) type Attempted = (http::StatusCode, http::HeaderMap, ReplyBody);

pub(crate) async fn attempt(
    http: &dyn HttpClient,
    clock: &dyn Clock,
    request: http::Request<Bytes>,
    call: &Call<'_>,
) -> Result<Attempted, AttemptError> {
    let limit = call.first_byte_timeout;
    let which = if call.stream { "first-byte" } else { "total" };
    let response = within(clock, limit, http.send(request))
        .await
        .ok_or(AttemptError::Timeout(which))?
        .map_err(AttemptError::Http)?;
    let (parts, body) = response.into_parts();
    let streaming = call.stream && parts.status.is_success();
    if parts.status.is_success() {
        answer_check::content_type(&parts.headers, streaming, parts.status)?;
    }
    if !streaming {
        let collected = within(clock, limit, body.collect(call.max_response_bytes))
            .await
            .ok_or(AttemptError::Timeout(which))?
            .map_err(|e| AttemptError::Body(e.to_string()))?;
        if parts.status.is_success() {
            answer_check::body_start(&collected, false, parts.status)?;
        }
        return Ok((parts.status, parts.headers, ReplyBody::Full(collected)));
    }
    let mut rest = body.into_stream();
    // The peek: the first chunk must arrive before we commit to this upstream.
    let first = match within(clock, limit, rest.next()).await {
        None => return Err(AttemptError::Timeout(which)),
        Some(Some(Err(err))) => return Err(AttemptError::Body(err.0)),
        Some(Some(Ok(chunk))) => Some(chunk),
        Some(None) => None,
    };
    if let Some(first) = &first {
        answer_check::body_start(first, true, parts.status)?;
    }
    Ok((parts.status, parts.headers, ReplyBody::Stream { first, rest }))
}
