//! Upstream stream chunks that are already on hand go to the client in one write. An HTTP/1
//! client body hands its chunks over one per task wake-up, so a burst that arrived in one read
//! would otherwise cost the client connection one `writev` per chunk (60% of a passthrough
//! stream's CPU: BENCHMARKS.md). After a chunk, the stream gives its producer two scheduler
//! rounds to hand over the next (hyper's client connection needs two: measured); only when
//! nothing more came does it pass on what it holds. A chunk is held for those rounds, never for
//! a timer.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;

use crate::body::BodyError;

/// Scheduler rounds given to the producer after each chunk.
const ROUNDS: u8 = 2;

/// More than this is passed on at once, without waiting for the rest of a burst.
const MAX_BATCH: usize = 64 * 1024;

pub struct Coalesce<S> {
    inner: S,
    held: BytesMut,
    /// Rounds the producer had since the last chunk.
    rounds: u8,
    /// The end or the error that came after the held bytes, for the next poll.
    after: Option<Option<BodyError>>,
}

impl<S> Coalesce<S> {
    pub fn new(inner: S) -> Self {
        Coalesce { inner, held: BytesMut::new(), rounds: 0, after: None }
    }

    fn pass_on(&mut self) -> Poll<Option<Result<Bytes, BodyError>>> {
        self.rounds = 0;
        Poll::Ready(Some(Ok(self.held.split().freeze())))
    }
}

impl<S: Stream<Item = Result<Bytes, BodyError>> + Unpin> Stream for Coalesce<S> {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(after) = this.after.take() {
            return Poll::Ready(after.map(Err));
        }
        loop {
            match this.inner.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    // The common case of one chunk at a time costs no copy.
                    if this.held.is_empty() && chunk.len() >= MAX_BATCH {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    this.held.extend_from_slice(&chunk);
                    this.rounds = 0;
                    if this.held.len() >= MAX_BATCH {
                        return this.pass_on();
                    }
                }
                Poll::Ready(end) => {
                    let error = end.and_then(Result::err);
                    if this.held.is_empty() {
                        return Poll::Ready(error.map(Err));
                    }
                    this.after = Some(error);
                    return this.pass_on();
                }
                Poll::Pending if this.held.is_empty() => return Poll::Pending,
                Poll::Pending if this.rounds < ROUNDS => {
                    // Run again right after the tasks already woken, the producer among them.
                    this.rounds += 1;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Pending => return this.pass_on(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use futures_util::task::noop_waker_ref;

    use super::*;

    /// What the producer has on hand, polled in order; `Pending` when nothing is left.
    enum Step {
        Data(&'static str),
        Fail(&'static str),
        End,
        Wait,
    }

    struct Script(VecDeque<Step>);

    impl Stream for Script {
        type Item = Result<Bytes, BodyError>;

        fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.0.pop_front() {
                Some(Step::Data(text)) => Poll::Ready(Some(Ok(Bytes::from_static(text.as_bytes())))),
                Some(Step::Fail(message)) => Poll::Ready(Some(Err(BodyError(message.into())))),
                Some(Step::End) => Poll::Ready(None),
                Some(Step::Wait) | None => Poll::Pending,
            }
        }
    }

    fn coalesce(steps: Vec<Step>) -> Coalesce<Script> {
        Coalesce::new(Script(steps.into()))
    }

    fn poll(stream: &mut Coalesce<Script>) -> Poll<Option<Result<Bytes, BodyError>>> {
        stream.poll_next_unpin(&mut Context::from_waker(noop_waker_ref()))
    }

    fn bytes(poll: Poll<Option<Result<Bytes, BodyError>>>) -> Option<Bytes> {
        match poll {
            Poll::Ready(Some(Ok(bytes))) => Some(bytes),
            _ => None,
        }
    }

    #[test]
    fn a_burst_goes_out_as_one_chunk_after_the_producer_had_its_rounds() {
        use Step::*;
        let mut stream = coalesce(vec![
            Data("1,"),
            Data("2,"),
            Wait,
            Wait,
            Data("3,"),
            Wait,
            Wait,
            Wait,
            Data("4"),
            Wait,
            Wait,
            Wait,
        ]);
        assert!(poll(&mut stream).is_pending(), "the producer gets its rounds first");
        assert!(poll(&mut stream).is_pending());
        assert!(poll(&mut stream).is_pending(), "a chunk in those rounds earns more");
        assert!(poll(&mut stream).is_pending());
        assert_eq!(bytes(poll(&mut stream)).as_deref(), Some(&b"1,2,3,"[..]));
        assert!(poll(&mut stream).is_pending());
        assert!(poll(&mut stream).is_pending());
        assert_eq!(bytes(poll(&mut stream)).as_deref(), Some(&b"4"[..]), "a lone chunk waits its rounds only");
        assert!(poll(&mut stream).is_pending(), "nothing held, nothing to say");
    }

    #[test]
    fn the_end_and_an_error_come_after_the_bytes_before_them() {
        let mut stream = coalesce(vec![Step::Data("a"), Step::Fail("reset")]);
        assert_eq!(bytes(poll(&mut stream)).as_deref(), Some(&b"a"[..]));
        assert!(matches!(poll(&mut stream), Poll::Ready(Some(Err(BodyError(message)))) if message == "reset"));

        let mut stream = coalesce(vec![Step::Data("b"), Step::End]);
        assert_eq!(bytes(poll(&mut stream)).as_deref(), Some(&b"b"[..]));
        assert!(matches!(poll(&mut stream), Poll::Ready(None)));
    }

    #[test]
    fn a_large_burst_is_passed_on_without_waiting() {
        let big: &'static str = Box::leak("x".repeat(MAX_BATCH).into_boxed_str());
        let mut stream = coalesce(vec![Step::Data(big), Step::Data("y")]);
        assert_eq!(bytes(poll(&mut stream)).map(|b| b.len()), Some(MAX_BATCH));
        assert!(poll(&mut stream).is_pending());
        assert!(poll(&mut stream).is_pending());
        assert_eq!(bytes(poll(&mut stream)).as_deref(), Some(&b"y"[..]));
    }
}
