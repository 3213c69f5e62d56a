use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;

use futures_util::task::noop_waker;

use super::*;

/// A clock whose sleeps end only when the test ticks it.
#[derive(Default)]
struct TickClock {
    ticks: Arc<AtomicU64>,
}

impl Clock for TickClock {
    fn now_unix_ms(&self) -> u64 {
        0
    }
    fn monotonic_us(&self) -> u64 {
        0
    }
    fn sleep(&self, _: Duration) -> BoxFuture<'static, ()> {
        let ticks = self.ticks.clone();
        let start = ticks.load(Ordering::SeqCst);
        Box::pin(futures_util::future::poll_fn(move |_| {
            if ticks.load(Ordering::SeqCst) > start { Poll::Ready(()) } else { Poll::Pending }
        }))
    }
}

/// Chunks to hand out (`None`: the end), and the task waiting for one.
type Queue = (VecDeque<Option<Bytes>>, Option<Waker>);

/// An upstream whose chunks the test pushes.
#[derive(Clone, Default)]
struct Feed {
    chunks: Arc<Mutex<Queue>>,
}

impl Feed {
    fn push(&self, chunk: &str) {
        self.chunks.lock().unwrap().0.push_back(Some(Bytes::from(chunk.to_owned())));
    }
    fn close(&self) {
        self.chunks.lock().unwrap().0.push_back(None);
    }
}

impl Stream for Feed {
    type Item = Result<Bytes, BodyError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut guard = self.chunks.lock().unwrap();
        match guard.0.pop_front() {
            Some(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Some(None) => Poll::Ready(None),
            None => {
                guard.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct Harness {
    feed: Feed,
    ticks: Arc<AtomicU64>,
    stream: Progress,
}

impl Harness {
    fn new() -> Self {
        let feed = Feed::default();
        let clock = TickClock::default();
        let ticks = clock.ticks.clone();
        let stream = Progress::new(Box::pin(feed.clone()), ANTHROPIC_PING, Arc::new(clock), Duration::from_secs(2));
        Harness { feed, ticks, stream }
    }

    fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }

    /// One poll: `Some(text)` for a chunk, `None` for pending; panics at the end.
    fn poll(&mut self) -> Option<String> {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        match Pin::new(&mut self.stream).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(chunk))) => Some(String::from_utf8_lossy(&chunk).into_owned()),
            Poll::Ready(other) => panic!("stream ended: {other:?}"),
            Poll::Pending => None,
        }
    }
}

const START: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";

#[test]
fn a_ping_after_each_silent_interval_between_events() {
    let mut h = Harness::new();
    assert_eq!(h.poll(), None, "nothing yet");
    h.tick();
    assert_eq!(h.poll(), None, "no ping before the first event");
    h.feed.push(START);
    assert_eq!(h.poll().as_deref(), Some(START));
    assert_eq!(h.poll(), None);
    h.tick();
    assert_eq!(h.poll().as_deref(), Some(PING));
    assert_eq!(h.poll(), None, "the next interval starts");
    h.tick();
    assert_eq!(h.poll().as_deref(), Some(PING));
    h.feed.push("event: content_block_delta\ndata: {}\n\n");
    assert!(h.poll().unwrap().starts_with("event: content_block_delta"));
    assert_eq!(h.poll(), None, "data restarted the wait");
}

#[test]
fn never_inside_an_event_nor_after_the_last() {
    let mut h = Harness::new();
    h.feed.push(START);
    h.feed.push("event: content_block_delta\ndata: {\"del");
    assert_eq!(h.poll().as_deref(), Some(START));
    assert!(h.poll().is_some());
    h.tick();
    assert_eq!(h.poll(), None, "mid-event: no ping");
    h.tick();
    assert_eq!(h.poll(), None, "still mid-event");
    h.feed.push("ta\"}\n\n");
    assert_eq!(h.poll().as_deref(), Some("ta\"}\n\n"));
    assert_eq!(h.poll(), None, "silence starts the interval");
    h.tick();
    assert_eq!(h.poll().as_deref(), Some(PING), "the event is whole now");
    h.feed.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    assert!(h.poll().is_some());
    assert_eq!(h.poll(), None);
    h.tick();
    assert_eq!(h.poll(), None, "nothing after message_stop");
    h.feed.close();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(matches!(Pin::new(&mut h.stream).poll_next(&mut cx), Poll::Ready(None)));
}

#[test]
fn only_anthropic_streams_that_ask_get_progress() {
    let mut asked = HeaderMap::new();
    asked.insert("x-omniroute-progress", HeaderValue::from_static("true"));
    let endpoint =
        |format, framing| ChatEndpoint { format, path_model: None, path_stream: None, framing, provider: None };
    let anthropic = endpoint(WireFormat::Anthropic, StreamFraming::Default);
    assert_eq!(event_for(&anthropic, true, &asked), Some(ANTHROPIC_PING));
    assert_eq!(event_for(&anthropic, false, &asked), None, "not a stream");
    assert_eq!(event_for(&anthropic, true, &HeaderMap::new()), None, "not asked");
    for format in [WireFormat::OpenaiChat, WireFormat::OpenaiResponses, WireFormat::Gemini, WireFormat::Ollama] {
        assert_eq!(event_for(&endpoint(format, StreamFraming::Default), true, &asked), None, "{format:?}");
    }
}

#[test]
fn attach_marks_streams_only() {
    let clock: Arc<dyn Clock> = Arc::new(TickClock::default());
    let full = attach(Response::new(Body::Full(Bytes::new())), ANTHROPIC_PING, clock.clone(), Duration::from_secs(1));
    assert!(!full.headers().contains_key("x-omniroute-progress"));
    let stream = Response::new(Body::from_stream(Feed::default()));
    let stream = attach(stream, ANTHROPIC_PING, clock.clone(), Duration::from_secs(1));
    assert_eq!(stream.headers()["x-omniroute-progress"], "enabled");
    let mut failed = Response::new(Body::from_stream(Feed::default()));
    *failed.status_mut() = http::StatusCode::BAD_GATEWAY;
    assert!(
        !attach(failed, ANTHROPIC_PING, clock, Duration::from_secs(1)).headers().contains_key("x-omniroute-progress")
    );
}
