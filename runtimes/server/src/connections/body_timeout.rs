//! The request body read timeout: a body that stops arriving (shorter than its Content-Length,
//! an unfinished chunked body, a trickle) ends with an error after a bounded silence or a
//! bounded total, instead of holding its connection. Here, around the body the core reads,
//! because the core does not own a timer; the adapter turns the trip into a 408.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use omniroute_core::BodyError;
use tokio::time::{Instant, Sleep, sleep_until};

/// Why a body was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stalled {
    /// Nothing arrived for this long while the gateway waited for more.
    Idle(Duration),
    /// The whole body took longer than this.
    Total(Duration),
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stalled::Idle(after) => {
                write!(f, "the request body stopped arriving: nothing for {} ms", after.as_millis())
            }
            Stalled::Total(after) => write!(f, "the request body took longer than {} ms to arrive", after.as_millis()),
        }
    }
}

/// Set once when the body is cut; the adapter reads it after the core answered.
pub type Tripwire = Arc<OnceLock<Stalled>>;

/// A body stream with an idle limit (counted only while the reader waits for data, so a slow
/// reader is never blamed on the client) and a total limit (from the first wait).
pub struct ReadTimeout<S> {
    inner: S,
    idle_after: Option<Duration>,
    total_after: Option<Duration>,
    /// Created at the first wait, so a body already buffered (most) never touches the timer.
    idle: Option<Pin<Box<Sleep>>>,
    /// Whether `idle` counts from the current wait (a chunk since means it must be re-armed).
    idle_armed: bool,
    total: Option<Pin<Box<Sleep>>>,
    tripwire: Tripwire,
    finished: bool,
}

impl<S> ReadTimeout<S> {
    /// `inner` with the limits (`None`: that one off); the tripwire tells whether it tripped.
    pub fn new(inner: S, idle_after: Option<Duration>, total_after: Option<Duration>) -> (Self, Tripwire) {
        let tripwire = Tripwire::default();
        let stream = ReadTimeout {
            inner,
            idle_after,
            total_after,
            idle: None,
            idle_armed: false,
            total: None,
            tripwire: tripwire.clone(),
            finished: false,
        };
        (stream, tripwire)
    }

    /// Called while the reader waits: arms the timers and says whether one ran out.
    fn poll_deadlines(&mut self, cx: &mut Context<'_>) -> Option<Stalled> {
        if let Some(after) = self.total_after {
            let total = self.total.get_or_insert_with(|| Box::pin(sleep_until(Instant::now() + after)));
            if total.as_mut().poll(cx).is_ready() {
                return Some(Stalled::Total(after));
            }
        }
        let after = self.idle_after?;
        let idle = self.idle.get_or_insert_with(|| Box::pin(sleep_until(Instant::now() + after)));
        if !self.idle_armed {
            idle.as_mut().reset(Instant::now() + after);
            self.idle_armed = true;
        }
        idle.as_mut().poll(cx).is_ready().then_some(Stalled::Idle(after))
    }
}

impl<S> Stream for ReadTimeout<S>
where
    S: Stream<Item = Result<Bytes, BodyError>> + Unpin,
{
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.idle_armed = false;
                return Poll::Ready(Some(Ok(chunk)));
            }
            Poll::Ready(end) => {
                this.finished = true;
                return Poll::Ready(end);
            }
            Poll::Pending => {}
        }
        match this.poll_deadlines(cx) {
            Some(stalled) => {
                this.finished = true;
                let _ = this.tripwire.set(stalled);
                Poll::Ready(Some(Err(BodyError(stalled.to_string()))))
            }
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use futures_util::stream::{self, BoxStream};

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Chunks `gap` apart, then silence when `stall` (else the end).
    fn drip(chunks: usize, gap: Duration, stall: bool) -> BoxStream<'static, Result<Bytes, BodyError>> {
        let drips = stream::iter(0..chunks).then(move |_| async move {
            tokio::time::sleep(gap).await;
            Ok(Bytes::from_static(b"x"))
        });
        if stall { drips.chain(stream::pending()).boxed() } else { drips.boxed() }
    }

    async fn read_all(mut stream: impl Stream<Item = Result<Bytes, BodyError>> + Unpin) -> (usize, Option<BodyError>) {
        let mut chunks = 0;
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => chunks += 1,
                Err(e) => return (chunks, Some(e)),
            }
        }
        (chunks, None)
    }

    #[tokio::test]
    async fn a_body_that_stops_is_cut_after_the_idle_limit() {
        let (stream, tripwire) = ReadTimeout::new(drip(3, 5 * MS, true), Some(60 * MS), None);
        let (chunks, error) = read_all(stream).await;
        assert_eq!(chunks, 3);
        assert!(error.is_some_and(|e| e.0.contains("stopped arriving")));
        assert_eq!(tripwire.get(), Some(&Stalled::Idle(60 * MS)));
    }

    #[tokio::test]
    async fn steady_chunks_slower_in_total_than_the_idle_limit_pass() {
        let (stream, tripwire) = ReadTimeout::new(drip(10, 20 * MS, false), Some(60 * MS), None);
        assert_eq!(read_all(stream).await, (10, None));
        assert_eq!(tripwire.get(), None);
    }

    #[tokio::test]
    async fn a_trickle_is_cut_at_the_total_limit() {
        let (stream, tripwire) = ReadTimeout::new(drip(1000, 10 * MS, false), Some(60 * MS), Some(100 * MS));
        let (chunks, error) = read_all(stream).await;
        assert!(chunks < 1000 && error.is_some());
        assert_eq!(tripwire.get(), Some(&Stalled::Total(100 * MS)));
    }

    #[tokio::test]
    async fn no_limits_no_cut() {
        let (stream, tripwire) = ReadTimeout::new(drip(3, 5 * MS, false), None, None);
        assert_eq!(read_all(stream).await, (3, None));
        assert_eq!(tripwire.get(), None);
    }
}
