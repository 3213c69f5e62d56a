//! `X-OmniRoute-Progress: true`: a streaming answer carries the client format's documented
//! keep-alive event whenever the upstream stays silent for the progress interval, so a client
//! (or a proxy in between) sees the request is alive through a long think. Only where the
//! format documents such an event that strict clients skip:
//!
//! * Anthropic Messages: `event: ping` / `{"type": "ping"}` (documented: streams may carry any
//!   number of pings; every SDK skips them).
//! * OpenAI Chat, OpenAI Responses, Gemini, Ollama: none. Chat chunks and Gemini responses have
//!   no event slot, Responses events are numbered (`sequence_number`) and each carries state,
//!   Ollama lines are all answer chunks; comment lines and unknown events break strict clients.
//!
//! Events go only between whole events of the stream (never inside one), only after the first
//! and never after the end. The answer says `X-OmniRoute-Progress: enabled` when they may come.

use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};
use http::header::HeaderValue;
use http::{HeaderMap, Response};
use memchr::memmem::Finder;

use crate::body::{Body, BodyError};
use crate::formats::StreamFraming;
use crate::maybe_send::{BoxFuture, BoxStream};
use crate::pipeline::endpoint::ChatEndpoint;
use crate::ports::Clock;
use crate::providers::WireFormat;

/// The shortest interval between progress events.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Anthropic's keep-alive event, as its API sends it.
pub const ANTHROPIC_PING: &[u8] = b"event: ping\ndata: {\"type\": \"ping\"}\n\n";

/// The progress event for this request: it asked (`X-OmniRoute-Progress: true`), streams, and
/// its format has one.
pub fn event_for(endpoint: &ChatEndpoint, stream: bool, headers: &HeaderMap) -> Option<&'static [u8]> {
    let asked = headers
        .get("x-omniroute-progress")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !asked || !stream {
        return None;
    }
    match (endpoint.format, endpoint.framing) {
        (WireFormat::Anthropic, StreamFraming::Default) => Some(ANTHROPIC_PING),
        _ => None,
    }
}

/// `response` with `event` after every `interval` of silence, when it is a successful stream;
/// marked `X-OmniRoute-Progress: enabled`.
pub fn attach(
    response: Response<Body>,
    event: &'static [u8],
    clock: Arc<dyn Clock>,
    interval: Duration,
) -> Response<Body> {
    if !response.status().is_success() || !matches!(response.body(), Body::Stream(_)) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts.headers.insert("x-omniroute-progress", HeaderValue::from_static("enabled"));
    let body = match body {
        Body::Stream(inner) => Body::from_stream(Progress::new(inner, event, clock, interval)),
        full => full,
    };
    Response::from_parts(parts, body)
}

/// The stream with progress events in its silences.
pub struct Progress {
    inner: BoxStream<'static, Result<Bytes, BodyError>>,
    event: &'static [u8],
    clock: Arc<dyn Clock>,
    interval: Duration,
    sleep: Option<BoxFuture<'static, ()>>,
    /// The interval passed while no event could go (mid-event): wait for the next chunk.
    missed: bool,
    /// The last bytes sent, to tell whether the client's stream is between two events.
    tail: Vec<u8>,
    /// The format's last event went by (`message_stop`): nothing may follow.
    finished: bool,
    done: bool,
}

impl Progress {
    pub fn new(
        inner: BoxStream<'static, Result<Bytes, BodyError>>,
        event: &'static [u8],
        clock: Arc<dyn Clock>,
        interval: Duration,
    ) -> Self {
        let interval = interval.max(MIN_INTERVAL);
        Progress {
            inner,
            event,
            clock,
            interval,
            sleep: None,
            missed: false,
            tail: Vec::new(),
            finished: false,
            done: false,
        }
    }

    /// Between two events: something was sent and it ended with a blank line.
    fn between_events(&self) -> bool {
        !self.finished && [&b"\n\n"[..], b"\r\n\r\n", b"\r\r"].iter().any(|end| self.tail.ends_with(end))
    }

    fn sent(&mut self, chunk: &[u8]) {
        static MESSAGE_STOP: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"message_stop"));
        if MESSAGE_STOP.find(chunk).is_some() {
            self.finished = true;
        }
        self.tail.extend_from_slice(&chunk[chunk.len().saturating_sub(4)..]);
        let excess = self.tail.len().saturating_sub(4);
        self.tail.drain(..excess);
    }
}

impl Stream for Progress {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.sleep = None;
                this.missed = false;
                this.sent(&chunk);
                return Poll::Ready(Some(Ok(chunk)));
            }
            Poll::Ready(other) => {
                this.done = true;
                return Poll::Ready(other);
            }
            Poll::Pending if this.missed => return Poll::Pending,
            Poll::Pending => {}
        }
        let (clock, interval) = (&this.clock, this.interval);
        let sleep = this.sleep.get_or_insert_with(|| clock.sleep(interval));
        if sleep.poll_unpin(cx).is_pending() {
            return Poll::Pending;
        }
        this.sleep = None;
        if this.between_events() {
            // The next poll starts the next interval.
            return Poll::Ready(Some(Ok(Bytes::from_static(this.event))));
        }
        // Mid-event, not started or over: no event now; the next chunk restarts the wait (the
        // upstream's poll above is registered to wake this task).
        this.missed = true;
        Poll::Pending
    }
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
