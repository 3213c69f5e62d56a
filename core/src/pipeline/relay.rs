//! Phase 6 for streams: relay upstream chunks to the client as they arrive, with an idle
//! timeout between chunks, a format-correct error event if the upstream breaks after bytes
//! were sent, and a usage tap. `on_end` runs exactly once, even if the client goes away.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};

use crate::body::BodyError;
use crate::formats::{ErrorInfo, stream_error_event};
use crate::hub::Usage;
use crate::maybe_send::{BoxFuture, BoxStream};
use crate::pipeline::usage_tap::usage_in_chunk;
use crate::ports::Clock;
use crate::providers::WireFormat;

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelayEnd {
    pub usage: Option<Usage>,
    pub error: Option<String>,
}

/// The relay stream.
pub struct Relay<F: FnOnce(RelayEnd) + Unpin> {
    first: Option<Bytes>,
    rest: BoxStream<'static, Result<Bytes, BodyError>>,
    clock: Arc<dyn Clock>,
    idle: Duration,
    sleep: Option<BoxFuture<'static, ()>>,
    format: WireFormat,
    usage: Option<Usage>,
    done: bool,
    on_end: Option<F>,
}

impl<F: FnOnce(RelayEnd) + Unpin> Relay<F> {
    pub fn new(
        first: Option<Bytes>,
        rest: BoxStream<'static, Result<Bytes, BodyError>>,
        clock: Arc<dyn Clock>,
        idle: Duration,
        format: WireFormat,
        on_end: F,
    ) -> Self {
        Relay { first, rest, clock, idle, sleep: None, format, usage: None, done: false, on_end: Some(on_end) }
    }

    fn end(&mut self, error: Option<String>) {
        self.done = true;
        if let Some(on_end) = self.on_end.take() {
            on_end(RelayEnd { usage: self.usage, error });
        }
    }

    fn pass(&mut self, chunk: Bytes) -> Poll<Option<Result<Bytes, BodyError>>> {
        if let Some(usage) = usage_in_chunk(&chunk) {
            self.usage = Some(usage);
        }
        Poll::Ready(Some(Ok(chunk)))
    }

    fn fail(&mut self, message: String) -> Poll<Option<Result<Bytes, BodyError>>> {
        tracing::warn!(error = %message, "upstream stream broke after the response started");
        let event = stream_error_event(self.format, &ErrorInfo::from_status(502, message.clone()));
        self.end(Some(message));
        Poll::Ready(Some(Ok(event)))
    }
}

impl<F: FnOnce(RelayEnd) + Unpin> Stream for Relay<F> {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(first) = this.first.take() {
            return this.pass(first);
        }
        match this.rest.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.sleep = None;
                this.pass(chunk)
            }
            Poll::Ready(Some(Err(err))) => this.fail(format!("upstream stream failed: {}", err.0)),
            Poll::Ready(None) => {
                this.end(None);
                Poll::Ready(None)
            }
            Poll::Pending => {
                let (clock, idle) = (&this.clock, this.idle);
                let sleep = this.sleep.get_or_insert_with(|| clock.sleep(idle));
                match sleep.poll_unpin(cx) {
                    Poll::Ready(()) => this.fail(format!("upstream sent nothing for {} ms", idle.as_millis())),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<F: FnOnce(RelayEnd) + Unpin> Drop for Relay<F> {
    fn drop(&mut self) {
        if !self.done {
            self.end(Some("client disconnected before the stream ended".into()));
        }
    }
}
