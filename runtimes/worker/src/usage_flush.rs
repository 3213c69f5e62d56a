//! Usage rows reach the database through the request's `waitUntil`: once a response is complete
//! (a full body at once, a stream when it ends or the client goes), a flush of the isolate's
//! buffer is handed to the spawner, which keeps the isolate alive until it is written. Rows of
//! requests that finish together go in one flush (the sink takes whatever is buffered), so an
//! isolate under load writes in batches, not a round trip per request.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use omniroute_core::maybe_send::boxed;
use omniroute_core::{Body, BodyError, Gateway};

/// `response`, arranged so the usage it records is flushed when it is complete.
pub fn flush_when_done(gateway: &Gateway, response: http::Response<Body>) -> http::Response<Body> {
    let usage = gateway.ports.usage.clone();
    let spawner = gateway.ports.spawner.clone();
    let flush = move || spawner.spawn(boxed(async move { usage.flush().await }));
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Full(bytes) => {
            flush();
            Body::Full(bytes)
        }
        Body::Stream(stream) => Body::from_stream(OnDone { stream, done: Some(Box::new(flush)) }),
    };
    http::Response::from_parts(parts, body)
}

/// A stream that runs `done` once, when it ends or is dropped (a client that went away).
struct OnDone<S> {
    stream: S,
    done: Option<Box<dyn FnOnce()>>,
}

impl<S: Stream<Item = Result<bytes::Bytes, BodyError>> + Unpin> Stream for OnDone<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let polled = Pin::new(&mut self.stream).poll_next(cx);
        if let Poll::Ready(None) = polled
            && let Some(done) = self.done.take()
        {
            done();
        }
        polled
    }
}

impl<S> Drop for OnDone<S> {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            done();
        }
    }
}
