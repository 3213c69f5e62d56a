//! The load driver: a fixed number of keep-alive HTTP/1.1 connections (hyper, TCP_NODELAY),
//! each sending the same request back to back for a fixed time. Per request it records the
//! latency to the end of the body, and for streams the time to the first body byte, the
//! longest gap between two chunks and, for drip streams, each chunk's delay since the mock sent
//! it. Requests that start in the warm-up are not counted.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::wire;

/// One request, sent again and again.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    pub path: String,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// How hard and how long.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one connection saw; merged into [`Samples`].
#[derive(Default, Debug)]
pub struct Samples {
    /// Whole-request latency, µs.
    pub latency_us: Vec<u32>,
    /// Streams: time to the first body byte, µs.
    pub ttfb_us: Vec<u32>,
    /// Streams: the longest gap between two chunks of one response, µs.
    pub max_gap_us: Vec<u32>,
    /// Drip streams: each stamped chunk's delay from the mock's send to its arrival, µs.
    pub chunk_delay_us: Vec<u32>,
    pub errors: u64,
    /// Every request answered, warm-up included (CPU per request is over all of them).
    pub completed: u64,
    /// The first error, to tell what went wrong.
    pub first_error: Option<String>,
    /// How long the counted window was.
    pub window: Duration,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.latency_us.extend(other.latency_us);
        self.ttfb_us.extend(other.ttfb_us);
        self.max_gap_us.extend(other.max_gap_us);
        self.chunk_delay_us.extend(other.chunk_delay_us);
        self.errors += other.errors;
        self.completed += other.completed;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        self.first_error.get_or_insert(message);
    }

    /// Completed requests per second over the counted window.
    pub fn rps(&self) -> f64 {
        self.latency_us.len() as f64 / self.window.as_secs_f64().max(1e-9)
    }
}

/// Runs `load` against `addr` on the current runtime and returns every sample.
pub async fn run(addr: SocketAddr, spec: &RequestSpec, load: Load) -> Samples {
    let start = Instant::now();
    let counted_from = start + load.warmup;
    let deadline = counted_from + load.duration;
    let tasks: Vec<_> =
        (0..load.connections).map(|_| tokio::spawn(connection(addr, spec.clone(), counted_from, deadline))).collect();
    let mut all = Samples { window: load.duration, ..Samples::default() };
    for task in tasks {
        match task.await {
            Ok(samples) => all.merge(samples),
            Err(e) => all.error(format!("driver task failed: {e}")),
        }
    }
    all
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn connection(addr: SocketAddr, spec: RequestSpec, counted_from: Instant, deadline: Instant) -> Samples {
    let mut samples = Samples::default();
    let mut sender: Option<Sender> = None;
    let host = HeaderValue::from_str(&addr.to_string()).unwrap_or(HeaderValue::from_static("localhost"));
    while Instant::now() < deadline {
        let send = match &mut sender {
            Some(sender) => sender,
            None => match connect(addr).await {
                Ok(fresh) => sender.insert(fresh),
                Err(e) => {
                    samples.error(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let mut request = http::Request::post(spec.path.as_str())
            .header(HOST, host.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(spec.body.clone()))
            .unwrap_or_default();
        request.headers_mut().extend(spec.headers.iter().cloned());
        let started = Instant::now();
        let counted = started >= counted_from;
        match exchange(send, request, started).await {
            Ok(one) => {
                samples.completed += 1;
                if Instant::now() <= deadline && counted {
                    one.add_to(&mut samples);
                }
            }
            Err(e) => {
                sender = None;
                if Instant::now() < deadline {
                    samples.error(e);
                }
            }
        }
    }
    samples
}

/// One request's measurements.
struct One {
    latency: Duration,
    ttfb: Duration,
    max_gap: Duration,
    streamed: bool,
    delays_us: Vec<u32>,
}

impl One {
    fn add_to(self, samples: &mut Samples) {
        samples.latency_us.push(micros(self.latency));
        if self.streamed {
            samples.ttfb_us.push(micros(self.ttfb));
            samples.max_gap_us.push(micros(self.max_gap));
        }
        samples.chunk_delay_us.extend(self.delays_us);
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

async fn exchange(sender: &mut Sender, request: http::Request<Full<Bytes>>, started: Instant) -> Result<One, String> {
    sender.ready().await.map_err(|e| format!("connection: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let streamed = response.headers().get(CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"text/event-stream") || v.as_bytes().starts_with(b"application/x-ndjson")
    });
    let mut body = response.into_body();
    let (mut ttfb, mut last, mut max_gap, mut chunks) = (None, started, Duration::ZERO, 0usize);
    let mut delays_us = Vec::new();
    let mut error_body = Vec::new();
    let mut error_event = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("body: {e}"))?;
        let Ok(data) = frame.into_data() else { continue };
        if data.is_empty() {
            continue;
        }
        let now = Instant::now();
        let arrived_us = wire::now_us();
        ttfb.get_or_insert(now - started);
        if chunks > 0 {
            max_gap = max_gap.max(now - last);
        }
        last = now;
        chunks += 1;
        if streamed {
            error_event |= memchr::memmem::find(&data, b"\"error\":{").is_some();
            delays_us.extend(
                wire::stamps(&data).map(|sent| arrived_us.saturating_sub(sent).min(u64::from(u32::MAX)) as u32),
            );
        }
        if !status.is_success() && error_body.len() < 300 {
            error_body.extend_from_slice(&data);
        }
    }
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&error_body)));
    }
    // A stream that ended in an error event is a failure too, whatever its status.
    if error_event {
        return Err("the stream ended with an error event".into());
    }
    let latency = started.elapsed();
    Ok(One { latency, ttfb: ttfb.unwrap_or(latency), max_gap, streamed, delays_us })
}

/// One request on a fresh connection, the body read to its end; `Err` unless it succeeded.
pub async fn once(addr: SocketAddr, spec: &RequestSpec) -> Result<(), String> {
    let mut sender = connect(addr).await?;
    let mut request = http::Request::post(spec.path.as_str())
        .header(HOST, HeaderValue::from_static("localhost"))
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(spec.body.clone()))
        .map_err(|e| e.to_string())?;
    request.headers_mut().extend(spec.headers.iter().cloned());
    exchange(&mut sender, request, Instant::now()).await.map(|_| ())
}
