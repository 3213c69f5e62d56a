//! Phase 5, dispatch: walk the plan — targets in order, each target's accounts in the
//! provider's selection order, retries per the target's policy — until one answers. Failing
//! upstreams are skipped (open breaker, cooldown after a 429) and every try feeds the health
//! state of the scope it failed in (`routing/failure_scope.rs`): a model's failures hold off
//! that model of that account, a bad key or exhausted credit the whole account, an origin
//! nothing could reach every model behind it, a request's own fault nobody — except that a
//! prompt too long for one target moves on to a later target with a larger context window.
//! Retries only on retryable failures (connect error, timeout, configured statuses), and for
//! streams only before the first body byte, which is read here (the peek).

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use crate::body::BodyError;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::maybe_send::BoxStream;
use crate::pipeline::attempt::{AttemptError, Attempted, attempt};
use crate::pipeline::upstream::build_request;
use crate::pipeline::walk_outcome::Outcome;
use crate::routing::failure_scope::{Scope, classify, exceeds_context};
use crate::routing::health::{Admission, CoolKind, Failure, HealthKey, RejectReason};
use crate::routing::plan::PlannedTarget;
use crate::routing::retry_after::retry_after_ms;
use crate::snapshot::ResolvedConnection;

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
    let mut walk =
        Walk { gateway, retryable, stream, accounts, attempts, outcome: Outcome::default(), larger_context_than: None };
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
    /// Set when a target refused the prompt as too long: only targets whose context window is
    /// known to be larger than this one (tokens; 0 when the refusing one's is unknown) are tried.
    larger_context_than: Option<u64>,
}

/// A target the walk may try: its place in the plan, its request, its model's estimates key,
/// and the origin it is reached at.
struct Admitted<'t> {
    index: usize,
    target: &'t PlannedTarget,
    prepared: Prepared,
    model_key: HealthKey,
    endpoint: HealthKey,
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
    /// Done with this target (its endpoint is out, or the prompt is too long for it).
    NextTarget,
}

/// Where the walk goes after an account.
enum Next {
    Reply(Box<Reply>),
    Account,
    Target,
}

/// Which targets and accounts are tried, and in what order.
impl Walk<'_, '_> {
    /// The target, when it can be tried: a context window that fits (after a too-long refusal),
    /// an account, a request its format can carry, and an endpoint whose breaker is not open.
    /// Why not is kept for the answer when nothing else answers.
    fn admit<'t>(
        &mut self,
        index: usize,
        target: &'t PlannedTarget,
        prepare: &mut impl FnMut(&PlannedTarget) -> Result<Prepared, GatewayError>,
    ) -> Option<Admitted<'t>> {
        let provider = &target.provider;
        if let Some(refused_at) = self.larger_context_than
            && context_window(target).is_none_or(|window| window <= refused_at)
        {
            return None;
        }
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
        let endpoint = HealthKey::endpoint_of(&provider.base_url);
        if let Admission::Rejected { until_ms, reason } = self.gateway.router.health.admit(&endpoint, provider.auth) {
            self.outcome.note_skip(until_ms, reason, || None);
            return None;
        }
        let model_key = HealthKey::model(provider.id.clone(), target.model.clone());
        Some(Admitted { index, target, prepared, model_key, endpoint })
    }

    /// Tries the target's accounts in order until one answers or the target is done.
    async fn try_target(&mut self, admitted: &Admitted<'_>) -> Option<Reply> {
        for connection in self.accounts_of(admitted) {
            match self.try_account(admitted, connection).await {
                Next::Reply(reply) => return Some(*reply),
                Next::Account => {}
                Next::Target => return None,
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
    async fn try_account(&mut self, admitted: &Admitted<'_>, connection: ResolvedConnection) -> Next {
        let account = Account {
            key: HealthKey::account(connection.id.clone()),
            deployment: HealthKey::deployment(connection.id.clone(), admitted.target.model.clone()),
            connection,
        };
        let gateway = self.gateway;
        let health = &gateway.router.health;
        for key in [&account.key, &account.deployment] {
            if let Admission::Rejected { until_ms, reason } = health.admit(key, admitted.target.provider.auth) {
                self.outcome.note_skip(until_ms, reason, || health.cooldown_reason(key));
                return Next::Account;
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
                    return Next::Reply(Box::new(Reply { status, headers, connection, target: admitted.index, body }));
                }
                Tried::Again => {}
                Tried::NextAccount => return Next::Account,
                Tried::NextTarget => return Next::Target,
            }
        }
        Next::Account
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
        if result.is_ok() {
            // Any HTTP answer proves the origin reachable (and closes a half-open endpoint).
            gateway.router.health.on_success(&admitted.endpoint, target.provider.auth, latency_ms);
        }
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
        let scope = classify(target.provider.format, code, body);
        let too_long = scope == Scope::Request && exceeds_context(code, body);
        let retryable = self.retryable.contains(&code);
        // A 404 for the model: this account does not serve it (withdrawn, or not open to its
        // organisation); another account or target may. Counted against nobody (a typo in a
        // model name must not open a breaker).
        let not_served = scope == Scope::Model && code == 404;
        if !(scope == Scope::Account || too_long || retryable || not_served) {
            // Not worth another try (the request's fault): as it came.
            return self.answered(admitted, account, record, answer);
        }
        // Every other refusal is kept to pass on as it came if nothing better answers.
        self.keep(admitted, account, record, answer);
        match scope {
            Scope::Account => self.account_out(admitted, account, code),
            _ if too_long => self.too_long(admitted),
            _ if retryable => self.refused(admitted, account, code, scope),
            _ => Tried::NextAccount,
        }
    }

    /// The prompt is too long for this target's model: nobody's fault, and no other account
    /// of it helps. Passed on as it came unless a later target's context window is known to
    /// be larger (a combo of small and large models).
    fn too_long(&mut self, admitted: &Admitted<'_>) -> Tried {
        let window = context_window(admitted.target).unwrap_or(0);
        self.larger_context_than = Some(self.larger_context_than.map_or(window, |w| w.max(window)));
        tracing::info!(target = %admitted.target.label(), window, "prompt too long for the model; trying a larger context window");
        Tried::NextTarget
    }

    /// A retryable status. A model-scoped 429 cools that model of the account down (the next
    /// account, at once); other model-scoped failures count towards its breaker (and are tried
    /// again); a request-scoped one counts for nobody.
    fn refused(&mut self, admitted: &Admitted<'_>, account: &Account, code: u16, scope: Scope) -> Tried {
        let provider = &admitted.target.provider;
        tracing::warn!(provider = %provider.id, connection = %account.connection.id, status = code, ?scope, "upstream refused; trying the next option");
        if scope != Scope::Model {
            return Tried::Again;
        }
        if code != 429 {
            self.model_failed(admitted, account, Failure::Status(code));
            return Tried::Again;
        }
        let (health, now) = (&self.gateway.router.health, self.gateway.ports.clock.now_unix_ms());
        let headers = self.outcome.last_reply.as_ref().map(|r| &r.headers);
        let fallback = now.saturating_add(health.profiles().rate_limit_cooldown_ms);
        let until = headers.and_then(|h| retry_after_ms(h, now)).unwrap_or(fallback);
        health.cool_down(&account.deployment, until, "rate limited (429)", CoolKind::RateLimited);
        self.outcome.note_skip(until, RejectReason::CoolingDown, || None);
        Tried::NextAccount
    }

    /// The account's key or credit failed (401/403, 402, `insufficient_quota`): the whole account
    /// is out for the configured time, whatever the model; the next account may serve.
    fn account_out(&mut self, admitted: &Admitted<'_>, account: &Account, code: u16) -> Tried {
        let health = &self.gateway.router.health;
        let until = self.gateway.ports.clock.now_unix_ms().saturating_add(health.profiles().account_cooldown_ms);
        let reason = format!("account: status {code}");
        health.cool_down(&account.key, until, &reason, CoolKind::AccountOut);
        self.outcome.note_skip(until, RejectReason::AccountOut, || Some(reason));
        let provider = &admitted.target.provider;
        tracing::warn!(provider = %provider.id, connection = %account.connection.id, status = code, "account refused (key or credit); taking it out");
        Tried::NextAccount
    }

    /// Records a refusal and keeps it to pass on if nothing better comes.
    fn keep(&mut self, admitted: &Admitted<'_>, account: &Account, mut record: Attempt, answer: Attempted) {
        let (status, headers, body) = answer;
        record.status = Some(status.as_u16());
        self.attempts.push(record);
        let connection = account.connection.clone();
        self.outcome.last_reply = Some(Reply { status, headers, connection, target: admitted.index, body });
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

    /// No answer (timeout, connection, broken body, not the promised answer), tried again. An
    /// origin that could not be reached counts against its endpoint, and once that breaker is
    /// open no account of the target is tried; timeouts count against the model on this
    /// account, and against the endpoint too once several of its models time out; the rest
    /// against the model on this account.
    fn failed(&mut self, admitted: &Admitted<'_>, account: &Account, mut record: Attempt, err: AttemptError) -> Tried {
        let (provider, health) = (&admitted.target.provider, &self.gateway.router.health);
        record.error = Some(err.to_string());
        self.attempts.push(record);
        let failure = err.failure();
        self.outcome.timed_out |= failure == Failure::Timeout;
        tracing::warn!(provider = %provider.id, connection = %account.connection.id, error = %err, "upstream attempt failed");
        if err.unreachable() {
            health.on_failure(&admitted.endpoint, provider.auth, failure);
            health.observe_failure(&admitted.model_key, provider.auth);
        } else {
            self.model_failed(admitted, account, failure);
            if failure == Failure::Timeout {
                health.endpoint_timeout(&admitted.endpoint, provider.auth, &admitted.target.model);
            }
        }
        if let Admission::Rejected { until_ms, reason } = health.peek(&admitted.endpoint, provider.auth) {
            self.outcome.note_skip(until_ms, reason, || None);
            return Tried::NextTarget;
        }
        Tried::Again
    }
}

/// The target model's context window in tokens, when the catalog or the operator knows it.
fn context_window(target: &PlannedTarget) -> Option<u64> {
    target.provider.models.iter().find(|m| m.id == target.model)?.context.filter(|w| *w > 0)
}
