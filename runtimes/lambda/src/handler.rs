//! One invocation: function URL request → `Gateway::handle` → streamed response whose body
//! drains background work and flushes usage before it ends; on a shared (remote) database, a
//! warm sandbox first catches up with what other instances changed. Also the Lambda event loop.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use omniroute_core::ports::UsageSink;
use omniroute_core::{Body, Gateway};
use omniroute_native::Bootstrapped;
use omniroute_native::spawner::TokioSpawner;
use tokio::time::Instant;

use crate::body::{ResponseBody, finish_before_end};
use crate::request::into_core;

/// The warm state of one sandbox: built once at cold start, shared by every invocation.
#[derive(Clone)]
pub struct LambdaHandler {
    gateway: Arc<Gateway>,
    usage: Arc<dyn UsageSink>,
    spawner: TokioSpawner,
}

impl LambdaHandler {
    pub fn new(booted: &Bootstrapped) -> Self {
        LambdaHandler { gateway: booted.gateway.clone(), usage: booted.usage.clone(), spawner: booted.spawner.clone() }
    }

    /// Serves one request. Never fails: every error is already an OpenAI-shaped response.
    pub async fn handle(&self, request: lambda_http::Request) -> Response<ResponseBody> {
        // A sandbox is frozen between invocations: on a shared database it catches up with
        // other instances here, at most once a second (`omniroute_core::gateway::catch_up`).
        self.gateway.catch_up().await;
        let response = self.gateway.handle(into_core(request)).await;
        let (parts, body) = response.into_parts();
        let (spawner, usage) = (self.spawner.clone(), self.usage.clone());
        // The Spawner port's Lambda contract is "inline": work spawned during the request
        // (and the usage rows it records) is done before the sandbox may freeze.
        let body = finish_before_end(body, async move {
            spawner.drain().await;
            usage.flush().await;
        });
        Response::from_parts(parts, body)
    }
}

/// The answer of a sandbox whose cold start failed (bad config, unwritable data dir): a 500 in
/// OpenAI's error shape, the details being in the function's logs only.
pub fn startup_failed() -> Response<ResponseBody> {
    let error = serde_json::json!({
        "error": {
            "message": "omniroute could not start; the function's logs say why",
            "type": "api_error",
            "param": null,
            "code": "startup_failed",
        }
    });
    let body = finish_before_end(Body::Full(Bytes::from(error.to_string())), async {});
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Runs the Lambda event loop until the runtime API goes away. `None` (cold start failed)
/// answers every invocation with [`startup_failed`] instead of crashing the init phase in a
/// loop, so clients get an error they can read.
///
/// lambda_runtime ends its loop on the first failed call to the runtime API. The pooled
/// connection it reuses for `/next` right after a streamed response can be closed under it
/// (the runtime API closes connections after streamed responses; `cargo lambda watch` hits
/// this in about one cold start in three, as `client error (SendRequest)`), which would kill
/// a healthy sandbox: so the loop is restarted, a few times per minute at most.
pub async fn run(handler: Option<LambdaHandler>) -> Result<(), lambda_http::Error> {
    let mut restarts: VecDeque<Instant> = VecDeque::new();
    loop {
        let error = match serve(handler.clone()).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let now = Instant::now();
        restarts.retain(|at| now.duration_since(*at) < RESTART_WINDOW);
        if restarts.len() >= MAX_RESTARTS {
            return Err(error);
        }
        restarts.push_back(now);
        tracing::warn!(error = ?error, restart = restarts.len(), "the Lambda runtime API call failed; polling for the next event again");
        tokio::time::sleep(RESTART_PAUSE * restarts.len() as u32).await;
    }
}

/// Runtime-loop restarts allowed within [`RESTART_WINDOW`] before the process gives up.
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(60);
const RESTART_PAUSE: Duration = Duration::from_millis(20);

async fn serve(handler: Option<LambdaHandler>) -> Result<(), lambda_http::Error> {
    lambda_http::run_with_streaming_response(lambda_http::service_fn(move |request: lambda_http::Request| {
        let handler = handler.clone();
        async move {
            let response = match handler {
                Some(handler) => handler.handle(request).await,
                None => startup_failed(),
            };
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}
