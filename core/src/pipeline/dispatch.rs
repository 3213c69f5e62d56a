//! Phase 5, dispatch: walk the plan — targets in order, each target's accounts in the
//! provider's selection order, retries per the target's policy — until one answers. Failing
//! upstreams are skipped (open breaker, cooldown after a 429) and every try feeds the health
//! state. Retries only on retryable failures (connect error, timeout, configured statuses),
//! and for streams only before the first body byte, which is read here (the peek).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{HeaderName, HeaderValue};

use crate::body::BodyError;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::maybe_send::BoxStream;
use crate::pipeline::answer_check::{self, NotTheAnswer};
use crate::pipeline::timeouts::within;
use crate::pipeline::upstream::build_request;
use crate::ports::{Clock, HttpClient, HttpError};
use crate::routing::health::{Admission, Failure, HealthKey, RejectReason};
use crate::routing::plan::PlannedTarget;
use crate::routing::retry_after::retry_after_ms;
use crate::snapshot::ResolvedConnection;

/// How long an account cools down after a 429 that names no time.
const DEFAULT_COOLDOWN_MS: u64 = 5_000;

/// One try against one account, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Index of the target in the plan.
    pub target: usize,
    pub connection_id: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// The upstream response the client will get: headers, plus a body that is either complete
/// (non-stream) or the peeked first chunk and the rest.
pub struct Reply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub connection: ResolvedConnection,
    /// Index of the target that answered.
    pub target: usize,
    pub body: ReplyBody,
}

pub enum ReplyBody {
    Full(Bytes),
    Stream { first: Option<Bytes>, rest: BoxStream<'static, Result<Bytes, BodyError>> },
}

/// One attempt's view of the call (what `build_request` needs).
pub struct Call<'a> {
    pub provider: &'a crate::snapshot::ResolvedProvider,
    pub path: &'a str,
    pub model: &'a str,
    pub body: Bytes,
    /// Client headers the provider should see (e.g. `anthropic-beta`), after its own.
    pub headers: &'a [(HeaderName, HeaderValue)],
    pub stream: bool,
    pub first_byte_timeout: Duration,
    pub max_response_bytes: usize,
}

/// A target's request, built once the plan reaches it (its format decides the body).
pub struct Prepared {
    pub path: String,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Which accounts a request may use.
#[derive(Debug, Clone, Copy)]
pub enum AccountChoice<'a> {
    /// The provider's selection order, this one first while healthy (a sticky session's).
    Preferred(Option<&'a str>),
    /// Only this account (`x-omniroute-connection`).
    Pinned(&'a str),
}

/// Why nothing answered, and what the client should be told.
struct Outcome {
    /// A retryable upstream answer kept to pass on if nothing better comes.
    last_reply: Option<Reply>,
    /// The earliest time a skipped (cooling or open) upstream recovers.
    earliest_recovery: Option<u64>,
    /// Some upstream was skipped because it is cooling down after a 429 (else: breakers).
    cooling: bool,
    /// A target could not take the request (e.g. content its format cannot carry).
    refusal: Option<GatewayError>,
    timed_out: bool,
}

/// Tries the plan until an upstream answers with anything but a retryable failure.
pub async fn dispatch(
    gateway: &Gateway,
    retryable: &[u16],
    targets: &[PlannedTarget],
    prepare: &mut (dyn FnMut(&PlannedTarget) -> Result<Prepared, GatewayError> + Send),
    stream: bool,
    accounts: AccountChoice<'_>,
    attempts: &mut Vec<Attempt>,
) -> Result<Reply, GatewayError> {
    let router = &gateway.router;
    let http = gateway.ports.http.as_ref();
    let clock = &gateway.ports.clock;
    let mut outcome =
        Outcome { last_reply: None, earliest_recovery: None, cooling: false, refusal: None, timed_out: false };
    for (index, target) in targets.iter().enumerate() {
        let provider = &target.provider;
        if provider.connections.is_empty() {
            outcome.refusal.get_or_insert(GatewayError::NoAccount(provider.id.clone()));
            continue;
        }
        let prepared = match prepare(target) {
            Ok(prepared) => prepared,
            Err(err) => {
                outcome.refusal.get_or_insert(err);
                continue;
            }
        };
        let model_key = HealthKey::model(provider.id.clone(), target.model.clone());
        if let Admission::Rejected { until_ms, reason } = router.health.admit(&model_key, provider.auth) {
            outcome.note_skip(until_ms, reason);
            continue;
        }
        let connections: Vec<ResolvedConnection> = match accounts {
            AccountChoice::Pinned(id) => provider.connections.iter().filter(|c| c.id == id).cloned().collect(),
            AccountChoice::Preferred(preferred) => {
                router.order_accounts(provider, if index == 0 { preferred } else { None })
            }
        };
        if let AccountChoice::Pinned(id) = accounts
            && connections.is_empty()
        {
            outcome.refusal.get_or_insert(GatewayError::InvalidRequest(format!(
                "x-omniroute-connection: '{id}' is not an account of provider '{}'",
                provider.id
            )));
            continue;
        }
        for connection in connections {
            let account_key = HealthKey::account(connection.id.clone());
            if let Admission::Rejected { until_ms, reason } = router.health.admit(&account_key, provider.auth) {
                outcome.note_skip(until_ms, reason);
                continue;
            }
            router.mark_used(&connection.id);
            for try_number in 0..=target.policy.retries {
                if try_number > 0 && !target.policy.retry_delay.is_zero() {
                    clock.sleep(target.policy.retry_delay).await;
                }
                let call = Call {
                    provider,
                    path: &prepared.path,
                    model: &target.model,
                    body: prepared.body.clone(),
                    headers: &prepared.headers,
                    stream,
                    first_byte_timeout: if stream {
                        target.policy.first_byte_timeout
                    } else {
                        target.policy.total_timeout
                    },
                    max_response_bytes: gateway.options.max_response_bytes,
                };
                let started = clock.monotonic_us();
                let result = match build_request(&call, &connection) {
                    Ok(request) => attempt(http, clock.as_ref(), request, &call).await,
                    Err(err) => {
                        outcome.refusal.get_or_insert(err);
                        break;
                    }
                };
                let latency_ms = clock.monotonic_us().saturating_sub(started) / 1000;
                let mut record = Attempt {
                    target: index,
                    connection_id: connection.id.clone(),
                    status: None,
                    error: None,
                    latency_ms,
                };
                match result {
                    Ok((status, headers, body)) if retryable.contains(&status.as_u16()) => {
                        let code = status.as_u16();
                        record.status = Some(code);
                        attempts.push(record);
                        // A 429 is the account's quota, handled by its cooldown below; only real
                        // failures count towards the breakers.
                        if code != 429 {
                            for key in [&account_key, &model_key] {
                                router.health.on_failure(key, provider.auth, Failure::Status(code));
                            }
                        }
                        tracing::warn!(provider = %provider.id, connection = %connection.id, status = code, "upstream refused; trying the next option");
                        outcome.last_reply =
                            Some(Reply { status, headers, connection: connection.clone(), target: index, body });
                        if code == 429 {
                            let now = clock.now_unix_ms();
                            let headers = outcome.last_reply.as_ref().map(|r| &r.headers);
                            let until =
                                headers.and_then(|h| retry_after_ms(h, now)).unwrap_or(now + DEFAULT_COOLDOWN_MS);
                            router.health.cool_down(&connection.id, until);
                            outcome.note_skip(until, RejectReason::CoolingDown);
                            break; // this account is cooling: the next one
                        }
                    }
                    Ok((status, headers, body)) => {
                        record.status = Some(status.as_u16());
                        attempts.push(record);
                        if status.is_success() {
                            for key in [&account_key, &model_key] {
                                router.health.on_success(key, provider.auth, latency_ms);
                            }
                        }
                        return Ok(Reply { status, headers, connection, target: index, body });
                    }
                    Err(err) => {
                        record.error = Some(err.to_string());
                        attempts.push(record);
                        let failure = match err {
                            AttemptError::Timeout(_) => Failure::Timeout,
                            AttemptError::Http(_) => Failure::Connect,
                            AttemptError::Body(_) => Failure::StreamBroken,
                            AttemptError::NotTheAnswer(_) => Failure::Status(502),
                        };
                        outcome.timed_out |= failure == Failure::Timeout;
                        for key in [&account_key, &model_key] {
                            router.health.on_failure(key, provider.auth, failure);
                        }
                        tracing::warn!(provider = %provider.id, connection = %connection.id, error = %err, "upstream attempt failed");
                    }
                }
            }
        }
    }
    outcome.conclude(targets, attempts, clock.now_unix_ms())
}

impl Outcome {
    fn note_skip(&mut self, until_ms: u64, reason: RejectReason) {
        self.earliest_recovery = Some(self.earliest_recovery.map_or(until_ms, |t| t.min(until_ms)));
        self.cooling |= reason == RejectReason::CoolingDown;
    }

    /// The answer when nothing succeeded: the last upstream refusal as it came (honest status
    /// and body), else a gateway error saying why.
    fn conclude(self, targets: &[PlannedTarget], attempts: &[Attempt], now_ms: u64) -> Result<Reply, GatewayError> {
        if let Some(reply) = self.last_reply
            && attempts.last().is_some_and(|a| a.status.is_some())
        {
            return Ok(reply);
        }
        if attempts.is_empty() {
            if let Some(until) = self.earliest_recovery {
                let retry_after_secs = until.saturating_sub(now_ms).div_ceil(1000).max(1);
                return Err(if self.cooling {
                    GatewayError::RateLimited {
                        message: format!(
                            "every upstream for this model is cooling down after rate limits; retry in {retry_after_secs} s"
                        ),
                        retry_after_secs,
                    }
                } else {
                    GatewayError::CircuitOpen {
                        message: format!(
                            "every upstream for this model is failing (circuit open); retry in {retry_after_secs} s"
                        ),
                        retry_after_secs,
                    }
                });
            }
            if let Some(refusal) = self.refusal {
                return Err(refusal);
            }
        }
        let summary = attempts
            .iter()
            .map(|a| {
                let target = targets.get(a.target).map(PlannedTarget::label).unwrap_or_default();
                let result = a.error.clone().unwrap_or_else(|| format!("HTTP {}", a.status.unwrap_or(0)));
                format!("{target} via {}: {result}", a.connection_id)
            })
            .collect::<Vec<_>>()
            .join("; ");
        let message = format!("no upstream answered ({} attempt(s): {summary})", attempts.len());
        Err(if self.timed_out {
            GatewayError::UpstreamTimeout(message)
        } else {
            GatewayError::UpstreamUnavailable(message)
        })
    }
}

#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// Which limit ran out: streams wait for their first byte, complete answers for all of it.
    #[error("no response within the {0} timeout")]
    Timeout(&'static str),
    #[error("{0}")]
    Http(HttpError),
    #[error("response body failed: {0}")]
    Body(String),
    #[error(transparent)]
    NotTheAnswer(#[from] NotTheAnswer),
}

type Attempted = (http::StatusCode, http::HeaderMap, ReplyBody);

async fn attempt(
    http: &dyn HttpClient,
    clock: &dyn Clock,
    request: http::Request<Bytes>,
    call: &Call<'_>,
) -> Result<Attempted, AttemptError> {
    let limit = call.first_byte_timeout;
    let which = if call.stream { "first-byte" } else { "total" };
    let response = within(clock, limit, http.send(request))
        .await
        .ok_or(AttemptError::Timeout(which))?
        .map_err(AttemptError::Http)?;
    let (parts, body) = response.into_parts();
    let streaming = call.stream && parts.status.is_success();
    if parts.status.is_success() {
        answer_check::content_type(&parts.headers, streaming, parts.status)?;
    }
    if !streaming {
        let collected = within(clock, limit, body.collect(call.max_response_bytes))
            .await
            .ok_or(AttemptError::Timeout(which))?
            .map_err(|e| AttemptError::Body(e.to_string()))?;
        if parts.status.is_success() {
            answer_check::body_start(&collected, false, parts.status)?;
        }
        return Ok((parts.status, parts.headers, ReplyBody::Full(collected)));
    }
    let mut rest = body.into_stream();
    // The peek: the first chunk must arrive before we commit to this upstream.
    let first = match within(clock, limit, rest.next()).await {
        None => return Err(AttemptError::Timeout(which)),
        Some(Some(Err(err))) => return Err(AttemptError::Body(err.0)),
        Some(Some(Ok(chunk))) => Some(chunk),
        Some(None) => None,
    };
    if let Some(first) = &first {
        answer_check::body_start(first, true, parts.status)?;
    }
    Ok((parts.status, parts.headers, ReplyBody::Stream { first, rest }))
}
