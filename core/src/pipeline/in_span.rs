//! A response body stream polled inside its request's `tracing` span, so what the relay logs
//! after the handler returned (a broken upstream stream, an idle timeout) still carries the
//! request id.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;

use crate::body::{Body, BodyError};
use crate::maybe_send::BoxStream;

struct InSpan {
    inner: BoxStream<'static, Result<Bytes, BodyError>>,
    span: tracing::Span,
}

impl Stream for InSpan {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        this.inner.poll_next_unpin(cx)
    }
}

/// `body`, its stream (if it is one) polled inside `span`.
pub fn in_span(body: Body, span: tracing::Span) -> Body {
    match body {
        Body::Stream(inner) if !span.is_disabled() => Body::from_stream(InSpan { inner, span }),
        other => other,
    }
}
