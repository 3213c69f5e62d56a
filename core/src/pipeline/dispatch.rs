//! Phase 5, dispatch: walk the plan — targets in order, each target's accounts in the
//! provider's selection order, retries per the target's policy — until one answers. Failing
//! upstreams are skipped (open breaker, cooldown after a 429) and every try feeds the health
//! state of the scope it failed in (`routing/failure_scope.rs`): a model's failures hold off
//! that model of that account, a bad key or exhausted credit the whole account, a request's
//! own fault nobody. Retries only on retryable failures (connect error, timeout, configured statuses),
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
use crate::routing::failure_scope::{Scope, classify};
use crate::routing::health::{Admission, Failure, HealthKey, RejectReason};
use crate::routing::plan::PlannedTarget;
use crate::routing::retry_after::retry_after_ms;
use crate::snapshot::ResolvedConnection;

/// How long a model of an account cools down after a 429 that names no time.
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
#[derive(Default)]
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

/// Tries the plan until an upstream answers with anything but a retryable failure. `prepare`
/// builds a target's request when the walk reaches it (the target's format decides the body).
pub async fn dispatch(
    gateway: &Gateway,
    retryable: &[u16],
    targets: &[PlannedTarget],
    prepare: &mut impl FnMut(&PlannedTarget) -> Result<Prepared, GatewayError>,
    stream: bool,
    accounts: AccountChoice<'_>,
    attempts: &mut Vec<Attempt>,
) -> Result<Reply, GatewayError> {
    let mut walk = Walk { gateway, retryable, stream, accounts, attempts, outcome: Outcome::default() };
    for (index, target) in targets.iter().enumerate() {
        let Some(admitted) = walk.admit(index, target, prepare) else { continue };
        if let Some(reply) = walk.try_target(&admitted).await {
            return Ok(reply);
        }
    }
    walk.outcome.conclude(targets, walk.attempts, gateway.ports.clock.now_unix_ms())
}

/// One walk of a plan: what its tries share, and what they taught so far.
struct Walk<'w, 'a> {
    gateway: &'w Gateway,
    retryable: &'w [u16],
    stream: bool,
    accounts: AccountChoice<'a>,
    attempts: &'w mut Vec<Attempt>,
    outcome: Outcome,
}

/// A target the walk may try: its place in the plan, its request, its model's health key.
struct Admitted<'t> {
    index: usize,
    target: &'t PlannedTarget,
    prepared: Prepared,
    model_key: HealthKey,
}

/// An account of an admitted target, with its health keys, for the tries against it.
struct Account {
    connection: ResolvedConnection,
    key: HealthKey,
    /// This target's model on this account: where model-scoped failures land.
    deployment: HealthKey,
}

/// What one try came to, for the account's retry loop.
enum Tried {
    /// The answer the client gets (a success, or a status not worth retrying).
    Answered(Attempted),
    /// A retryable failure: this account again, while its target's policy allows.
    Again,
    /// Done with this account (cooling down, or its request cannot be built): the next one.
    NextAccount,
}

/// Which targets and accounts are tried, and in what order.
impl Walk<'_, '_> {
    /// The target, when it can be tried: it needs an account, a request its format can carry,
    /// and a model that is neither cooling down nor failing (open breaker). Why not is kept for
    /// the answer when nothing else answers.
    fn admit<'t>(
        &mut self,
        index: usize,
        target: &'t PlannedTarget,
        prepare: &mut impl FnMut(&PlannedTarget) -> Result<Prepared, GatewayError>,
    ) -> Option<Admitted<'t>> {
        let provider = &target.provider;
        if provider.connections.is_empty() {
            self.outcome.refusal.get_or_insert(GatewayError::NoAccount(provider.id.clone()));
            return None;
        }
        let prepared = match prepare(target) {
            Ok(prepared) => prepared,
            Err(err) => {
                self.outcome.refusal.get_or_insert(err);
                return None;
            }
        };
        let model_key = HealthKey::model(provider.id.clone(), target.model.clone());
        if let Admission::Rejected { until_ms, reason } = self.gateway.router.health.admit(&model_key, provider.auth) {
            self.outcome.note_skip(until_ms, reason);
            return None;
        }
        Some(Admitted { index, target, prepared, model_key })
    }

    /// Tries the target's accounts in order until one answers.
    async fn try_target(&mut self, admitted: &Admitted<'_>) -> Option<Reply> {
        for connection in self.accounts_of(admitted) {
            if let Some(reply) = self.try_account(admitted, connection).await {
                return Some(reply);
            }
        }
        None
    }

    /// The accounts to try: only the pinned one (a client's mistake when the provider has no
    /// such account), else the provider's selection order, the preferred (sticky session's)
    /// account first on the first target only.
    fn accounts_of(&mut self, admitted: &Admitted<'_>) -> Vec<ResolvedConnection> {
        let (index, provider) = (admitted.index, &admitted.target.provider);
        let id = match self.accounts {
            AccountChoice::Preferred(preferred) => {
                return self.gateway.router.order_accounts(provider, if index == 0 { preferred } else { None });
            }
            AccountChoice::Pinned(id) => id,
        };
        let pinned: Vec<ResolvedConnection> = provider.connections.iter().filter(|c| c.id == id).cloned().collect();
        if pinned.is_empty() {
            self.outcome.refusal.get_or_insert(GatewayError::InvalidRequest(format!(
                "x-omniroute-connection: '{id}' is not an account of provider '{}'",
                provider.id
            )));
        }
        pinned
    }

    /// Tries one account (unless it is cooling down or failing) up to its target's retries, with
    /// the policy's delay between tries.
    async fn try_account(&mut self, admitted: &Admitted<'_>, connection: ResolvedConnection) -> Option<Reply> {
        let account = Account {
            key: HealthKey::account(connection.id.clone()),
            deployment: HealthKey::deployment(connection.id.clone(), admitted.target.model.clone()),
            connection,
        };
        let gateway = self.gateway;
        for key in [&account.key, &account.deployment] {
            if let Admission::Rejected { until_ms, reason } =
                gateway.router.health.admit(key, admitted.target.provider.auth)
            {
                self.outcome.note_skip(until_ms, reason);
                return None;
            }
        }
        gateway.router.mark_used(&account.connection.id);
        let policy = &admitted.target.policy;
        for try_number in 0..=policy.retries {
            if try_number > 0 && !policy.retry_delay.is_zero() {
                gateway.ports.clock.sleep(policy.retry_delay).await;
            }
            match self.try_once(admitted, &account).await {
                Tried::Answered((status, headers, body)) => {
                    let connection = account.connection;
                    return Some(Reply { status, headers, connection, target: admitted.index, body });
                }
                Tried::Again => {}
                Tried::NextAccount => return None,
            }
        }
        None
    }
}

/// One try, and what it teaches: the attempt's record, the health state, the outcome.
impl Walk<'_, '_> {
    /// One request to one account, timed and recorded.
    async fn try_once(&mut self, admitted: &Admitted<'_>, account: &Account) -> Tried {
        let (gateway, target, prepared) = (self.gateway, admitted.target, &admitted.prepared);
        let call = Call {
            provider: &target.provider,
            path: &prepared.path,
            model: &target.model,
            body: prepared.body.clone(),
            headers: &prepared.headers,
            stream: self.stream,
            first_byte_timeout: if self.stream {
                target.policy.first_byte_timeout
            } else {
                target.policy.total_timeout
            },
            max_response_bytes: gateway.options.max_response_bytes,
        };
        let clock = gateway.ports.clock.as_ref();
        let started = clock.monotonic_us();
        let request = match build_request(&call, &account.connection) {
            Ok(request) => request,
            Err(err) => {
                self.outcome.refusal.get_or_insert(err);
                return Tried::NextAccount;
            }
        };
        let result = attempt(gateway.ports.http.as_ref(), clock, request, &call).await;
        let latency_ms = clock.monotonic_us().saturating_sub(started) / 1000;
        let connection_id = account.connection.id.clone();
        let record = Attempt { target: admitted.index, connection_id, status: None, error: None, latency_ms };
        let answer = match result {
            Ok(answer) if answer.0.is_success() => return self.answered(admitted, account, record, answer),
            Ok(answer) => answer,
            Err(err) => return self.failed(admitted, account, record, err),
        };
        let code = answer.0.as_u16();
        let body = match &answer.2 {
            ReplyBody::Full(body) => body.as_ref(),
            ReplyBody::Stream { .. } => &[],
        };
        match classify(target.provider.format, code, body) {
            Scope::Account => self.account_out(admitted, account, record, answer),
            scope if self.retryable.contains(&code) => self.refused(admitted, account, record, answer, scope),
            // Not worth another try (the request's fault, or a withdrawn model): as it came.
            _ => self.answered(admitted, account, record, answer),
        }
    }

    /// A retryable status: kept to pass on if nothing better comes. A model-scoped 429 cools
    /// that model of the account down (the next account, at once); other model-scoped failures
    /// count towards its breaker (and are tried again); a request-scoped one counts for nobody.
    fn refused(
        &mut self,
        admitted: &Admitted<'_>,
        account: &Account,
        mut record: Attempt,
        answer: Attempted,
        scope: Scope,
    ) -> Tried {
        let code = self.keep(admitted, account, &mut record, answer);
        let provider = &admitted.target.provider;
        tracing::warn!(provider = %provider.id, connection = %account.connection.id, status = code, ?scope, "upstream refused; trying the next option");
        if scope != Scope::Model {
            return Tried::Again;
        }
        if code != 429 {
            self.model_failed(admitted, account, Failure::Status(code));
            return Tried::Again;
        }
        let now = self.gateway.ports.clock.now_unix_ms();
        let headers = self.outcome.last_reply.as_ref().map(|r| &r.headers);
        let until = headers.and_then(|h| retry_after_ms(h, now)).unwrap_or(now + DEFAULT_COOLDOWN_MS);
        self.gateway.router.health.cool_down(&account.deployment, until, "rate limited (429)");
        self.outcome.note_skip(until, RejectReason::CoolingDown);
        Tried::NextAccount
    }

    /// The account's key or credit failed (401/403, 402, `insufficient_quota`): the whole account
    /// is out for the configured time, whatever the model; the next account may serve.
    fn account_out(
        &mut self,
        admitted: &Admitted<'_>,
        account: &Account,
        mut record: Attempt,
        answer: Attempted,
    ) -> Tried {
        let code = self.keep(admitted, account, &mut record, answer);
        let health = &self.gateway.router.health;
        let until = self.gateway.ports.clock.now_unix_ms().saturating_add(health.profiles().account_cooldown_ms);
        health.cool_down(&account.key, until, &format!("account: status {code}"));
        self.outcome.note_skip(until, RejectReason::CoolingDown);
        let provider = &admitted.target.provider;
        tracing::warn!(provider = %provider.id, connection = %account.connection.id, status = code, "account refused (key or credit); taking it out");
        Tried::NextAccount
    }

    /// Records a refusal and keeps it to pass on if nothing better comes; its status.
    fn keep(&mut self, admitted: &Admitted<'_>, account: &Account, record: &mut Attempt, answer: Attempted) -> u16 {
        let (status, headers, body) = answer;
        record.status = Some(status.as_u16());
        self.attempts.push(record.clone());
        let connection = account.connection.clone();
        self.outcome.last_reply = Some(Reply { status, headers, connection, target: admitted.index, body });
        status.as_u16()
    }

    /// A model-scoped failure: the breaker of this model on this account, and the model's
    /// estimates (not its breaker, which would hold the other accounts off too).
    fn model_failed(&self, admitted: &Admitted<'_>, account: &Account, failure: Failure) {
        let (health, auth) = (&self.gateway.router.health, admitted.target.provider.auth);
        health.on_failure(&account.deployment, auth, failure);
        health.observe_failure(&admitted.model_key, auth);
    }

    /// An answer to pass on as it is; a success also counts towards the account's and the
    /// model's health (and latency).
    fn answered(
        &mut self,
        admitted: &Admitted<'_>,
        account: &Account,
        mut record: Attempt,
        answer: Attempted,
    ) -> Tried {
        let latency_ms = record.latency_ms;
        record.status = Some(answer.0.as_u16());
        self.attempts.push(record);
        if answer.0.is_success() {
            for key in [&account.key, &account.deployment, &admitted.model_key] {
                self.gateway.router.health.on_success(key, admitted.target.provider.auth, latency_ms);
            }
        }
        Tried::Answered(answer)
    }

    /// No answer (timeout, connection, broken body, not the promised answer), tried again. A
    /// connection that never opened counts against the account (standing in for the endpoint
    /// scope, which has no key of its own yet); the rest against the model on this account.
    fn failed(&mut self, admitted: &Admitted<'_>, account: &Account, mut record: Attempt, err: AttemptError) -> Tried {
        let provider = &admitted.target.provider;
        record.error = Some(err.to_string());
        self.attempts.push(record);
        let failure = err.failure();
        self.outcome.timed_out |= failure == Failure::Timeout;
        if failure == Failure::Connect {
            self.gateway.router.health.on_failure(&account.key, provider.auth, failure);
        } else {
            self.model_failed(admitted, account, failure);
        }
        tracing::warn!(provider = %provider.id, connection = %account.connection.id, error = %err, "upstream attempt failed");
        Tried::Again
    }
}

impl Outcome {
    /// Remembers an upstream skipped without a try: when it recovers, and whether it was
    /// cooling down (a 429) rather than failing (an open breaker).
    fn note_skip(&mut self, until_ms: u64, reason: RejectReason) {
        self.earliest_recovery = Some(self.earliest_recovery.map_or(until_ms, |t| t.min(until_ms)));
        self.cooling |= reason == RejectReason::CoolingDown;
    }

    /// The answer when nothing succeeded: the last upstream refusal as it came (honest status
    /// and body), else a gateway error saying why.
    fn conclude(mut self, targets: &[PlannedTarget], attempts: &[Attempt], now_ms: u64) -> Result<Reply, GatewayError> {
        if let Some(reply) = self.last_reply.take()
            && attempts.last().is_some_and(|a| a.status.is_some())
        {
            return Ok(reply);
        }
        if attempts.is_empty()
            && let Some(err) = self.nothing_tried(now_ms)
        {
            return Err(err);
        }
        let message = format!("no upstream answered ({} attempt(s): {})", attempts.len(), summary(targets, attempts));
        Err(if self.timed_out {
            GatewayError::UpstreamTimeout(message)
        } else {
            GatewayError::UpstreamUnavailable(message)
        })
    }

    /// Why no upstream was even tried: every one cooling down or failing (retry when the
    /// earliest recovers), else the first target's refusal.
    fn nothing_tried(&mut self, now_ms: u64) -> Option<GatewayError> {
        let Some(until) = self.earliest_recovery else { return self.refusal.take() };
        let retry_after_secs = until.saturating_sub(now_ms).div_ceil(1000).max(1);
        Some(if self.cooling {
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
        })
    }
}

/// Every attempt in one line: which target, via which account, what came of it.
fn summary(targets: &[PlannedTarget], attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| {
            let target = targets.get(a.target).map(PlannedTarget::label).unwrap_or_default();
            let result = a.error.clone().unwrap_or_else(|| format!("HTTP {}", a.status.unwrap_or(0)));
            format!("{target} via {}: {result}", a.connection_id)
        })
        .collect::<Vec<_>>()
        .join("; ")
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

impl AttemptError {
    /// How the failure counts against the upstream's health.
    fn failure(&self) -> Failure {
        match self {
            AttemptError::Timeout(_) => Failure::Timeout,
            AttemptError::Http(_) => Failure::Connect,
            AttemptError::Body(_) => Failure::StreamBroken,
            AttemptError::NotTheAnswer(_) => Failure::Status(502),
        }
    }
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
