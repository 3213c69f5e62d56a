//! The request/response body every runtime exchanges with the core: whole bytes or a byte stream.
//! Streams stay streams end to end so SSE chunks reach the client as they arrive.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::maybe_send::{BoxStream, MaybeSend, boxed_stream};

/// A failure while reading a streamed body (upstream reset, idle timeout, client gone).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

/// A body that is either complete or still arriving.
pub enum Body {
    Full(Bytes),
    Stream(BoxStream<'static, Result<Bytes, BodyError>>),
}

/// Why a body could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("body could not be read: {0}")]
    Read(BodyError),
}

impl Body {
    pub fn empty() -> Self {
        Body::Full(Bytes::new())
    }

    pub fn from_stream(
        stream: impl futures_core::Stream<Item = Result<Bytes, BodyError>> + MaybeSend + 'static,
    ) -> Self {
        Body::Stream(boxed_stream(stream))
    }

    /// Reads the whole body, refusing more than `limit` bytes without buffering past it.
    pub async fn collect(self, limit: usize) -> Result<Bytes, CollectError> {
        match self {
            Body::Full(bytes) if bytes.len() > limit => Err(CollectError::TooLarge { limit }),
            Body::Full(bytes) => Ok(bytes),
            Body::Stream(mut stream) => {
                let mut buf = BytesMut::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(CollectError::Read)?;
                    if buf.len() + chunk.len() > limit {
                        return Err(CollectError::TooLarge { limit });
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(buf.freeze())
            }
        }
    }

    /// Turns any body into a stream of chunks.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, BodyError>> {
        match self {
            Body::Stream(stream) => stream,
            Body::Full(bytes) => boxed_stream(futures_util::stream::iter((!bytes.is_empty()).then_some(Ok(bytes)))),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::Full(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::Full(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::Full(Bytes::from(text))
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Full(bytes) => write!(f, "Body::Full({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;

    #[test]
    fn collect_refuses_streams_past_the_limit() {
        let chunks = vec![Ok(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"def"))];
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        assert!(matches!(block_on(body.collect(5)), Err(CollectError::TooLarge { limit: 5 })));
    }

    #[test]
    fn collect_joins_chunks() {
        let chunks = vec![Ok(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"def"))];
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        assert_eq!(block_on(body.collect(6)).unwrap(), Bytes::from_static(b"abcdef"));
    }
}
