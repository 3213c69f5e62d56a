//! The stream side of keeping an answer: watches the Responses event stream on its way to the
//! client and, at the terminal event (`response.completed` / `response.incomplete`, which
//! carries the whole response), holds that chunk back until the response is stored. The output
//! items are the ones the client received: the terminal event's, or the `output_item.done`
//! items when a server sends a terminal event without them.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;

use super::write::StorePlan;
use crate::body::BodyError;
use crate::formats::sse::{SseEvent, SseParser};
use crate::maybe_send::{BoxFuture, BoxStream};

/// The relayed stream, with the terminal event held until the response is stored.
pub(super) struct StoreTap {
    inner: BoxStream<'static, Result<Bytes, BodyError>>,
    sse: SseParser,
    /// Output items seen done, in order.
    items: Vec<Value>,
    /// Taken when the terminal event is seen: one write per stream.
    plan: Option<StorePlan>,
    /// The chunk with the terminal event, and the write it waits for.
    held: Option<(Bytes, BoxFuture<'static, ()>)>,
}

impl StoreTap {
    pub(super) fn new(inner: BoxStream<'static, Result<Bytes, BodyError>>, plan: StorePlan) -> Self {
        StoreTap { inner, sse: SseParser::new(), items: Vec::new(), plan: Some(plan), held: None }
    }

    /// Reads a chunk's events; the finished response object once the terminal event is seen.
    fn scan(&mut self, chunk: &[u8]) -> Option<Value> {
        let mut finished = None;
        for event in self.sse.push(chunk) {
            match kind(&event) {
                Some(Kind::ItemDone) => {
                    if let Some(item) = parse(&event.data).and_then(|mut data| data.get_mut("item").map(Value::take)) {
                        self.items.push(item);
                    }
                }
                Some(Kind::Finished) => {
                    finished = parse(&event.data).and_then(|mut data| data.get_mut("response").map(Value::take));
                }
                None => {}
            }
        }
        let mut response = finished.filter(Value::is_object)?;
        let empty = response.get("output").and_then(Value::as_array).is_none_or(Vec::is_empty);
        if empty && !self.items.is_empty() {
            response["output"] = Value::Array(std::mem::take(&mut self.items));
        }
        Some(response)
    }
}

enum Kind {
    ItemDone,
    Finished,
}

/// What an event is to the tap, by its name or (servers that send no `event:` line) its data.
fn kind(event: &SseEvent) -> Option<Kind> {
    const ITEM_DONE: &str = "response.output_item.done";
    const FINISHED: [&str; 2] = ["response.completed", "response.incomplete"];
    let named = |name: &str| match name {
        ITEM_DONE => Some(Kind::ItemDone),
        name if FINISHED.contains(&name) => Some(Kind::Finished),
        _ => None,
    };
    match event.event.as_deref() {
        Some(name) => named(name),
        // Only an event that mentions a wanted type is parsed to read it.
        None if event.data.contains(ITEM_DONE) || FINISHED.iter().any(|f| event.data.contains(f)) => {
            parse(&event.data)?.get("type").and_then(Value::as_str).and_then(named)
        }
        None => None,
    }
}

fn parse(data: &str) -> Option<Value> {
    serde_json::from_str(data).ok()
}

impl Stream for StoreTap {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some((_, write)) = &mut this.held {
                ready!(write.poll_unpin(cx));
                let chunk = this.held.take().map(|(chunk, _)| chunk).unwrap_or_default();
                return Poll::Ready(Some(Ok(chunk)));
            }
            let chunk = match ready!(this.inner.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => chunk,
                other => return Poll::Ready(other),
            };
            if this.plan.is_some()
                && let Some(response) = this.scan(&chunk)
                && let Some(plan) = this.plan.take()
            {
                this.held = Some((chunk, plan.write(response)));
                continue;
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
    }
}
