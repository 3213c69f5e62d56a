//! Phase 6 for streams: relay upstream chunks to the client as they arrive (through a
//! [`StreamTransform`]), with an idle timeout between chunks and a format-correct error event if
//! the upstream breaks after bytes were sent. `on_end` runs exactly once, even if the client
//! goes away.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};

use crate::body::BodyError;
use crate::gateway::closing::{ClosingWatch, SHUTTING_DOWN};
use crate::hub::Usage;
use crate::maybe_send::{BoxFuture, BoxStream};
use crate::pipeline::coalesce::Coalesce;
use crate::pipeline::record::BodyCapture;
use crate::pipeline::stream_transform::StreamTransform;
use crate::ports::Clock;

/// The error recorded when the client went away mid-stream (not the upstream's fault).
pub const CLIENT_GONE: &str = "client disconnected before the stream ended";

/// Whether a stream that ended with `error` broke on the upstream's side: a client that went
/// away and the shutdown's cut are nobody's failure to count against a provider.
pub fn upstream_broke(error: &str) -> bool {
    !error.starts_with(CLIENT_GONE) && error != SHUTTING_DOWN
}

/// How a relayed stream ended.
#[derive(Debug, Clone, Default)]
pub struct RelayEnd {
    pub usage: Option<Usage>,
    /// Characters of answer text relayed (for an estimate when no usage came).
    pub answer_chars: u64,
    pub error: Option<String>,
    /// What the client got, when the relay was asked to keep it.
    pub captured: Option<BodyCapture>,
}

/// The relay stream.
pub struct Relay<F: FnOnce(RelayEnd) + Unpin> {
    first: Option<Bytes>,
    rest: BoxStream<'static, Result<Bytes, BodyError>>,
    clock: Arc<dyn Clock>,
    idle: Duration,
    sleep: Option<BoxFuture<'static, ()>>,
    /// Since when (monotonic µs) the client has been waiting for the upstream's next chunk;
    /// `None` while a chunk is on its way to the client. Idle time is counted only then: a
    /// client that stops reading for a while does not make the upstream look silent. The armed
    /// timer outlives chunks, and when it fires early it is re-armed for the rest of the quiet
    /// time (one timer per idle period instead of one per chunk).
    waiting_since_us: Option<u64>,
    transform: StreamTransform,
    done: bool,
    capture: Option<BodyCapture>,
    /// The end of a shutdown's grace period.
    closing: Option<ClosingWatch>,
    on_end: Option<F>,
}

impl<F: FnOnce(RelayEnd) + Unpin> Relay<F> {
    pub fn new(
        first: Option<Bytes>,
        rest: BoxStream<'static, Result<Bytes, BodyError>>,
        clock: Arc<dyn Clock>,
        idle: Duration,
        transform: StreamTransform,
        on_end: F,
    ) -> Self {
        Relay {
            first,
            rest: Box::pin(Coalesce::new(rest)),
            clock,
            idle,
            sleep: None,
            waiting_since_us: None,
            transform,
            done: false,
            capture: None,
            closing: None,
            on_end: Some(on_end),
        }
    }

    /// Ends the stream with the client's error event when the runtime's shutdown grace is over.
    pub fn closing_with(mut self, watch: ClosingWatch) -> Self {
        self.closing = Some(watch);
        self
    }

    /// Keeps (the head of) what the client gets, for request logging.
    pub fn capturing(mut self) -> Self {
        self.capture = Some(BodyCapture::default());
        self
    }

    /// Bytes on their way to the client.
    fn out(&mut self, bytes: Bytes) -> Poll<Option<Result<Bytes, BodyError>>> {
        if let Some(capture) = &mut self.capture {
            capture.push(&bytes);
        }
        Poll::Ready(Some(Ok(bytes)))
    }

    fn end(&mut self, error: Option<String>) {
        self.done = true;
        if let Some(on_end) = self.on_end.take() {
            let error = error.or_else(|| self.transform.error().map(str::to_owned));
            on_end(RelayEnd {
                usage: self.transform.usage(),
                answer_chars: self.transform.answer_chars(),
                error,
                captured: self.capture.take(),
            });
        }
    }

    /// The last bytes of the stream (if any), then the end.
    fn last(&mut self, bytes: Bytes) -> Poll<Option<Result<Bytes, BodyError>>> {
        if let Some(capture) = &mut self.capture {
            capture.push(&bytes);
        }
        self.end(None);
        if bytes.is_empty() { Poll::Ready(None) } else { Poll::Ready(Some(Ok(bytes))) }
    }

    fn fail(&mut self, message: String) -> Poll<Option<Result<Bytes, BodyError>>> {
        if upstream_broke(&message) {
            tracing::warn!(error = %message, "upstream stream broke after the response started");
        } else {
            tracing::info!(reason = %message, "stream ended after the response started");
        }
        let event = self.transform.upstream_failed(message.clone());
        if let Some(capture) = &mut self.capture {
            capture.push(&event);
        }
        self.end(Some(message));
        if event.is_empty() { Poll::Ready(None) } else { Poll::Ready(Some(Ok(event))) }
    }
}

impl<F: FnOnce(RelayEnd) + Unpin> Stream for Relay<F> {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if !this.done
            && let Some(closing) = &mut this.closing
            && closing.poll_fired(cx).is_ready()
        {
            return this.fail(SHUTTING_DOWN.to_owned());
        }
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let chunk = match this.first.take() {
                Some(first) => first,
                None => match this.rest.poll_next_unpin(cx) {
                    Poll::Ready(Some(Ok(chunk))) => chunk,
                    Poll::Ready(Some(Err(err))) => return this.fail(format!("upstream stream failed: {}", err.0)),
                    Poll::Ready(None) => {
                        let tail = this.transform.finish();
                        return this.last(tail);
                    }
                    Poll::Pending => {
                        let (clock, idle) = (&this.clock, this.idle);
                        let since = *this.waiting_since_us.get_or_insert_with(|| clock.monotonic_us());
                        // Re-armed at most once per poll, so a clock whose sleeps end at once
                        // (test clocks) cannot spin here.
                        for rearmed in [false, true] {
                            let sleep = this.sleep.get_or_insert_with(|| clock.sleep(idle));
                            if sleep.poll_unpin(cx).is_pending() {
                                return Poll::Pending;
                            }
                            let quiet = Duration::from_micros(clock.monotonic_us().saturating_sub(since));
                            if quiet >= idle || rearmed {
                                break;
                            }
                            this.sleep = Some(clock.sleep(idle - quiet));
                        }
                        return this.fail(format!("upstream sent nothing for {} ms", idle.as_millis()));
                    }
                },
            };
            this.waiting_since_us = None;
            let out = this.transform.chunk(chunk);
            if this.transform.ended() {
                return this.last(out);
            }
            if !out.is_empty() {
                return this.out(out);
            }
            // Nothing for the client yet (a partial event): read on.
        }
    }
}

impl<F: FnOnce(RelayEnd) + Unpin> Drop for Relay<F> {
    fn drop(&mut self) {
        if !self.done {
            self.end(Some(CLIENT_GONE.into()));
        }
    }
}
