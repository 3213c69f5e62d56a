//! The response body handed to lambda_http: the core's chunks as they come (SSE is not
//! buffered), then the end-of-invocation work (usage flush) *before* the body ends.

use std::future::Future;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::StreamBody;
use omniroute_core::maybe_send::{BoxFuture, BoxStream, MaybeSend, boxed, boxed_stream};
use omniroute_core::{Body, BodyError};

/// A streamed HTTP body of `Bytes` frames.
pub type ResponseBody = StreamBody<BoxStream<'static, Result<Frame<Bytes>, BodyError>>>;

/// Streams `body`, then awaits `before_end` and only then ends the body.
///
/// Lambda freezes the sandbox once the response is complete, so anything still buffered then
/// (usage rows) would sit until the next invocation thaws it, or be lost with the sandbox. A
/// failing body runs `before_end` too, before its error is passed on.
pub fn finish_before_end(body: Body, before_end: impl Future<Output = ()> + MaybeSend + 'static) -> ResponseBody {
    let state = Relay::Streaming(body.into_stream(), boxed(before_end));
    let frames = futures_util::stream::unfold(state, |state| async move {
        let Relay::Streaming(mut chunks, before_end) = state else {
            return None;
        };
        loop {
            match chunks.next().await {
                Some(Ok(bytes)) if bytes.is_empty() => continue,
                Some(Ok(bytes)) => return Some((Ok(Frame::data(bytes)), Relay::Streaming(chunks, before_end))),
                Some(Err(error)) => {
                    before_end.await;
                    return Some((Err(error), Relay::Done));
                }
                None => {
                    before_end.await;
                    return None;
                }
            }
        }
    });
    StreamBody::new(boxed_stream(frames))
}

enum Relay {
    Streaming(BoxStream<'static, Result<Bytes, BodyError>>, BoxFuture<'static, ()>),
    Done,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use http_body_util::BodyExt;

    use super::*;

    fn flag() -> (Arc<AtomicBool>, impl Future<Output = ()> + Send + 'static) {
        let done = Arc::new(AtomicBool::new(false));
        let set = done.clone();
        (done, async move { set.store(true, Ordering::SeqCst) })
    }

    #[tokio::test]
    async fn chunks_pass_one_by_one_and_the_hook_runs_before_the_end() {
        let (done, hook) = flag();
        let chunks =
            vec![Ok(Bytes::from_static(b"data: 1\n\n")), Ok(Bytes::new()), Ok(Bytes::from_static(b"data: 2\n\n"))];
        let mut body = finish_before_end(Body::from_stream(futures_util::stream::iter(chunks)), hook);
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, Bytes::from_static(b"data: 1\n\n"));
        assert!(!done.load(Ordering::SeqCst));
        let second = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(second, Bytes::from_static(b"data: 2\n\n"));
        assert!(!done.load(Ordering::SeqCst), "the hook runs only once the source is exhausted");
        assert!(body.frame().await.is_none());
        assert!(done.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_failing_body_still_runs_the_hook() {
        let (done, hook) = flag();
        let chunks = vec![Ok(Bytes::from_static(b"x")), Err(BodyError("reset".into()))];
        let mut body = finish_before_end(Body::from_stream(futures_util::stream::iter(chunks)), hook);
        assert!(body.frame().await.unwrap().is_ok());
        assert_eq!(body.frame().await.unwrap().unwrap_err(), BodyError("reset".into()));
        assert!(done.load(Ordering::SeqCst));
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn a_full_body_is_one_frame() {
        let (done, hook) = flag();
        let body = finish_before_end(Body::Full(Bytes::from_static(b"{}")), hook);
        assert_eq!(BodyExt::collect(body).await.unwrap().to_bytes(), Bytes::from_static(b"{}"));
        assert!(done.load(Ordering::SeqCst));
    }
}
