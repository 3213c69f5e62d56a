//! The benchmark's mock upstream: plain hyper, answers pre-built, a request scanned (not parsed)
//! for what decides the answer, so it answers in a few microseconds and is the limit that the
//! gateway is measured against.
//!
//! `POST /v1/chat/completions` answers OpenAI chat, `POST /v1/messages` Anthropic Messages; each
//! as JSON, or as SSE when the body says `"stream":true`. The model picks the rest:
//! `bench-fail` is a 503 with the format's error body, `bench-drip-<gap ms>-<chunks>` a slow
//! stream of stamped fragments (see [`super::wire`]), anything else the fixed 20-chunk answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::wire;

type MockBody = UnsyncBoxBody<Bytes, Infallible>;

/// The answers, built once.
struct Answers {
    openai_json: Bytes,
    openai_stream: Vec<Bytes>,
    anthropic_json: Bytes,
    anthropic_stream: Vec<Bytes>,
}

/// A running mock; it serves until the process ends.
pub struct BenchMock {
    pub addr: SocketAddr,
}

impl BenchMock {
    /// Starts on `127.0.0.1:port` (0: any) on its own thread and single-threaded runtime.
    pub fn start(port: u16) -> std::io::Result<BenchMock> {
        let words = wire::words();
        let answers = Arc::new(Answers {
            openai_json: wire::openai_completion(),
            openai_stream: wire::openai_stream(&words),
            anthropic_json: wire::anthropic_message(),
            anthropic_stream: wire::anthropic_stream(&words),
        });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("bench-mock".into()).spawn(move || {
            runtime.block_on(async move {
                // A deep accept backlog: scenario d opens 1,000 connections at once.
                let listener = tokio::net::TcpSocket::new_v4().and_then(|socket| {
                    socket.set_reuseaddr(true)?;
                    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
                    socket.listen(4096)
                });
                let listener = match listener {
                    Ok(listener) => listener,
                    Err(e) => {
                        let _ = bound_tx.send(Err(e));
                        return;
                    }
                };
                let _ = bound_tx.send(listener.local_addr());
                serve(listener, answers).await;
            });
        })?;
        let addr = bound_rx.recv().map_err(std::io::Error::other)??;
        Ok(BenchMock { addr })
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL of both formats.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

async fn serve(listener: TcpListener, answers: Arc<Answers>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let _ = tcp.set_nodelay(true);
        let answers = answers.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(answers.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
        });
    }
}

async fn answer(answers: Arc<Answers>, request: Request<Incoming>) -> Result<Response<MockBody>, Infallible> {
    let anthropic = request.uri().path() == "/v1/messages";
    let known = anthropic || request.uri().path() == "/v1/chat/completions";
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if !known {
        return Ok(full(StatusCode::NOT_FOUND, "text/plain", Bytes::from_static(b"not found")));
    }
    let finder = memchr::memmem::find;
    if finder(&body, wire::FAIL_MODEL.as_bytes()).is_some() {
        return Ok(full(StatusCode::SERVICE_UNAVAILABLE, "application/json", wire::overloaded(anthropic)));
    }
    if !streams(&body) {
        let json = if anthropic { &answers.anthropic_json } else { &answers.openai_json };
        return Ok(full(StatusCode::OK, "application/json", json.clone()));
    }
    if let Some((gap, chunks)) = drip(&body) {
        return Ok(sse(drip_stream(anthropic, gap, chunks)));
    }
    let frames = if anthropic { answers.anthropic_stream.clone() } else { answers.openai_stream.clone() };
    Ok(sse(futures_util::stream::iter(frames).boxed()))
}

fn full(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<MockBody> {
    let mut response = Response::new(Full::new(body).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}

fn sse(frames: futures_util::stream::BoxStream<'static, Bytes>) -> Response<MockBody> {
    let body = StreamBody::new(frames.map(|frame| Ok::<_, Infallible>(Frame::data(frame))));
    let mut response = Response::new(BodyExt::boxed_unsync(body));
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/event-stream; charset=utf-8"));
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    response
}

/// Whether the body asks for a stream (`"stream":true`, blanks allowed around the colon).
fn streams(body: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(body, b"\"stream\"") else { return false };
    let rest = body[at + 8..].trim_ascii_start();
    rest.strip_prefix(b":").is_some_and(|value| value.trim_ascii_start().starts_with(b"true"))
}

/// `bench-drip-<gap ms>-<chunks>` in the body: the gap and the number of text chunks.
fn drip(body: &[u8]) -> Option<(Duration, usize)> {
    let at = memchr::memmem::find(body, wire::DRIP_PREFIX.as_bytes())?;
    let rest = &body[at + wire::DRIP_PREFIX.len()..];
    let end = rest.iter().position(|b| *b == b'"')?;
    let spec = std::str::from_utf8(&rest[..end]).ok()?;
    let (gap, chunks) = spec.split_once('-')?;
    Some((Duration::from_millis(gap.parse().ok()?), chunks.parse().ok()?))
}

/// A stream whose text chunks leave `gap` apart, each stamped with its send time.
fn drip_stream(anthropic: bool, gap: Duration, chunks: usize) -> futures_util::stream::BoxStream<'static, Bytes> {
    // The frames around the text are the ordinary ones; the text frames are made when sent.
    let shape =
        if anthropic { wire::anthropic_stream(&[String::new()]) } else { wire::openai_stream(&[String::new()]) };
    let text_at = if anthropic { 3 } else { 1 };
    let head: Vec<Bytes> = shape[..text_at].to_vec();
    let tail: Vec<Bytes> = shape[text_at + 1..].to_vec();
    let template = shape[text_at].clone();
    let texts = futures_util::stream::unfold(0usize, move |sent| {
        let template = template.clone();
        async move {
            if sent == chunks {
                return None;
            }
            tokio::time::sleep(gap).await;
            Some((stamped(&template, wire::now_us()), sent + 1))
        }
    });
    futures_util::stream::iter(head).chain(texts).chain(futures_util::stream::iter(tail)).boxed()
}

/// The text frame with its empty text replaced by a stamp.
fn stamped(template: &Bytes, us: u64) -> Bytes {
    let empty: &[u8] =
        if memchr::memmem::find(template, b"\"text\":\"\"").is_some() { b"\"text\":\"\"" } else { b"\"content\":\"\"" };
    let Some(at) = memchr::memmem::find(template, empty) else { return template.clone() };
    let split = at + empty.len() - 1;
    let mut out = Vec::with_capacity(template.len() + 16);
    out.extend_from_slice(&template[..split]);
    out.extend_from_slice(wire::stamp(us).as_bytes());
    out.extend_from_slice(&template[split..]);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stream_and_drip_from_the_body() {
        assert!(streams(br#"{"model":"m","stream" : true}"#));
        assert!(!streams(br#"{"model":"m","stream":false}"#));
        assert!(!streams(br#"{"model":"m"}"#));
        assert_eq!(drip(br#"{"model":"p/bench-drip-50-40"}"#), Some((Duration::from_millis(50), 40)));
        assert_eq!(drip(br#"{"model":"bench-model"}"#), None);
    }

    #[test]
    fn stamped_frames_carry_the_time() {
        let frame = &wire::openai_stream(&[String::new()])[1];
        let out = stamped(frame, 77);
        assert_eq!(wire::stamps(&out).collect::<Vec<_>>(), [77]);
        let frame = &wire::anthropic_stream(&[String::new()])[3];
        assert_eq!(wire::stamps(&stamped(frame, 5)).collect::<Vec<_>>(), [5]);
    }
}
