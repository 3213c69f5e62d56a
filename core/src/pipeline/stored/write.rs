//! Keeping an answer: which Responses answers are stored ([`StorePlan::for_call`]), what a stored
//! response holds, and when it is written.
//!
//! When: off the request's own work, after the answer is complete, but before its end reaches
//! the client. A tool loop sends its next request the moment a stream ends, naming this
//! response; had the write still been on its way, that request (on this instance or another on
//! the same store) would get `previous_response_not_found`. Making reads wait for pending writes
//! would only help on this instance, so instead the end of the answer waits for the write: a
//! whole JSON answer is sent once written, a stream's terminal event (`response.completed`) once
//! written (see `tap.rs`). The write itself runs on the spawner, so a client that goes away
//! cannot cut it short, and the answer waits for it at most [`WRITE_WAIT`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{Either, select};
use http::Response;
use serde::Deserialize;
use serde_json::Value;

use super::resolve::{Resolved, input_items};
use super::tap::StoreTap;
use crate::body::Body;
use crate::maybe_send::{BoxFuture, boxed};
use crate::pipeline::chat_context::ChatCall;
use crate::ports::{Clock, ResponseStore, Spawner, StoredResponse};
use crate::providers::WireFormat;

/// The longest an answer waits for its response to be stored; past it the answer goes on and
/// the write finishes in the background.
pub const WRITE_WAIT: Duration = Duration::from_secs(5);

/// How this request's answer is to be kept.
pub struct StorePlan {
    store: Arc<dyn ResponseStore>,
    clock: Arc<dyn Clock>,
    spawner: Arc<dyn Spawner>,
    scope: String,
    previous_response_id: Option<String>,
    input: Input,
    ttl_ms: u64,
}

/// Where the stored input items come from.
enum Input {
    /// Resolution made them (references filled in).
    Resolved(Vec<Value>),
    /// The client's body as sent, read only once there is an answer to keep.
    Body(Bytes),
}

impl StorePlan {
    /// The plan for `call`, when its answer is to be kept: a Responses request without
    /// `"store": false`, responses kept at all (`responsesRetentionDays` above 0), and a
    /// caller whose key is not marked `noLog`. Everything here is already in memory: deciding
    /// costs the hot path nothing.
    pub fn for_call(call: &ChatCall<'_>, scope: String, resolved: Option<Resolved>) -> Option<StorePlan> {
        if call.endpoint.format != WireFormat::OpenaiResponses || !call.probe.store {
            return None;
        }
        if call.ctx.caller.key().is_some_and(|key| key.no_log) {
            return None;
        }
        let ttl_ms = call.snapshot.usage_settings().stored_response_ttl_ms()?;
        let (input, previous_response_id) = match resolved {
            Some(resolved) => (Input::Resolved(resolved.input), resolved.previous_response_id),
            None => (Input::Body(call.body.clone()), None),
        };
        let ports = &call.gateway.ports;
        Some(StorePlan {
            store: ports.responses.clone(),
            clock: ports.clock.clone(),
            spawner: ports.spawner.clone(),
            scope,
            previous_response_id,
            input,
            ttl_ms,
        })
    }

    /// A plan over `ports` for tests: responses kept for `ttl_ms`.
    #[cfg(test)]
    pub(super) fn for_test(
        ports: &crate::ports::Ports,
        scope: &str,
        resolved: Option<Resolved>,
        body: Bytes,
        ttl_ms: u64,
    ) -> StorePlan {
        let (input, previous_response_id) = match resolved {
            Some(resolved) => (Input::Resolved(resolved.input), resolved.previous_response_id),
            None => (Input::Body(body), None),
        };
        StorePlan {
            store: ports.responses.clone(),
            clock: ports.clock.clone(),
            spawner: ports.spawner.clone(),
            scope: scope.to_owned(),
            previous_response_id,
            input,
            ttl_ms,
        }
    }

    /// The answer, kept once complete: a whole JSON answer is written before it is returned, a
    /// stream before its terminal event is passed on. Errors and other answers are not kept.
    pub async fn keep(self, response: Response<Body>) -> Response<Body> {
        if !response.status().is_success() {
            return response;
        }
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Full(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(object) => {
                    self.write(object).await;
                    Body::Full(bytes)
                }
                // A stream replayed whole (a cache hit): read as the stream it is.
                Err(_) => Body::from_stream(StoreTap::new(Body::Full(bytes).into_stream(), self)),
            },
            Body::Stream(stream) => Body::from_stream(StoreTap::new(stream, self)),
        };
        Response::from_parts(parts, body)
    }

    /// Writes the response object the client got (on the spawner) and waits for the write, at
    /// most [`WRITE_WAIT`]. An object that is not a finished response is not kept.
    pub(super) fn write(self, object: Value) -> BoxFuture<'static, ()> {
        let (store, clock, spawner) = (self.store.clone(), self.clock.clone(), self.spawner.clone());
        let Some(record) = self.record(object) else { return boxed(async {}) };
        let id = record.id.clone();
        let write = boxed(async move {
            if let Err(e) = store.put(record).await {
                tracing::warn!(error = %e, "a response could not be stored; it cannot be continued or read back");
            }
        })
        .shared();
        spawner.spawn(boxed(write.clone()));
        boxed(async move {
            if let Either::Right(_) = select(write, clock.sleep(WRITE_WAIT)).await {
                tracing::warn!(response_id = %id, "storing a response took longer than {WRITE_WAIT:?}; answering without waiting");
            }
        })
    }

    /// What is stored for the response object `object`: a completed or incomplete response
    /// with an id, marked stored, with this request's input items.
    fn record(self, mut object: Value) -> Option<StoredResponse> {
        let id = object.get("id").and_then(Value::as_str).filter(|id| !id.is_empty())?.to_owned();
        let status = object.get("status").and_then(Value::as_str).unwrap_or("completed");
        if !matches!(status, "completed" | "incomplete") {
            return None;
        }
        if self.previous_response_id.as_deref() == Some(id.as_str()) {
            // An upstream that reused the id of the response it continues: storing it would
            // make the conversation name itself.
            tracing::warn!(response_id = %id, "the upstream answered with the id of the response it continues; not stored");
            return None;
        }
        object["store"] = Value::Bool(true);
        object["previous_response_id"] = self.previous_response_id.clone().map_or(Value::Null, Value::String);
        let model = object.get("model").and_then(Value::as_str).unwrap_or_default().to_owned();
        let input = match self.input {
            Input::Resolved(items) => items,
            Input::Body(body) => body_input(&body),
        };
        let created_ms = self.clock.now_unix_ms();
        Some(StoredResponse {
            scope: self.scope,
            id,
            model,
            created_ms,
            expires_ms: created_ms.saturating_add(self.ttl_ms),
            previous_response_id: self.previous_response_id,
            input,
            response: object,
        })
    }
}

/// The input items of a request body (already validated by the decode that answered it).
fn body_input(body: &[u8]) -> Vec<Value> {
    #[derive(Deserialize)]
    struct InputOnly {
        input: Option<Value>,
    }
    serde_json::from_slice::<InputOnly>(body)
        .ok()
        .and_then(|request| input_items(request.input).ok())
        .unwrap_or_default()
}
