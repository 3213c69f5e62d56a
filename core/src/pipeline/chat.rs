//! The chat request path, phase by phase: read → stored state (Responses) → probe → resolve →
//! plan → dispatch → respond → keep (Responses `store`) → record. Same format both sides: the
//! body passes through with only the model rewritten. Different formats: client codec → hub →
//! provider codec, and back.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::Response;
use http::header::{HeaderName, HeaderValue};

use crate::body::Body;
use crate::error::GatewayError;
use crate::formats::{self, StreamFraming};
use crate::gateway::call::read_body;
use crate::gateway::{Gateway, RequestContext};
use crate::hub::{ChatRequest, Namespaces};
use crate::pipeline::answer::{Plan, deliver};
use crate::pipeline::cached::{self, Lookup};
use crate::pipeline::chat_context::{ChatCall, ChatState};
use crate::pipeline::dispatch::{AccountChoice, Attempt, Prepared, Reply, dispatch};
use crate::pipeline::endpoint::ChatEndpoint;
use crate::pipeline::fit::{self, ModelLimits};
use crate::pipeline::idempotency_gate::{self, Start};
use crate::pipeline::passthrough::{self, ChatProbe};
use crate::pipeline::progress;
use crate::pipeline::record::{AttemptRecord, Observed};
use crate::pipeline::stored::{self, StorePlan};
use crate::providers::WireFormat;
use crate::render;
use crate::routing::key_policy;
use crate::routing::plan::{PlannedTarget, plan};

/// A chat endpoint's answer: the upstream's (or the cache's), else the gateway's error in the
/// client's format.
pub async fn handle(
    gateway: &Gateway,
    ctx: &RequestContext,
    endpoint: &ChatEndpoint,
    headers: &HeaderMap,
    body: Body,
) -> Response<Body> {
    match chat(gateway, ctx, endpoint, headers, body).await {
        Ok(response) => response,
        Err(err) => {
            gateway.telemetry.metrics.gateway_error(err.code());
            render::error(ctx.client_format, &err)
        }
    }
}

/// The chat request as a sequence of phases over one [`ChatCall`] (read) and one [`ChatState`]
/// (filled): each step below is one phase of `docs/architecture.md`'s request path.
async fn chat(
    gateway: &Gateway,
    ctx: &RequestContext,
    endpoint: &ChatEndpoint,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response<Body>, GatewayError> {
    let body = read_body(gateway, body).await?;
    let guard = match idempotency_gate::start(gateway, headers, &idempotency_scope(ctx, endpoint), &body).await? {
        Start::Answer(response) => return Ok(response),
        Start::Proceed(guard) => guard,
    };
    // Stored state the body names is filled in before anything reads it (Responses only).
    let (scope, resolved) = match endpoint.format {
        WireFormat::OpenaiResponses => {
            let scope = stored::scope(&ctx.caller);
            let resolved = stored::resolve(gateway, &scope, &body).await?;
            (Some(scope), resolved)
        }
        _ => (None, None),
    };
    let body = resolved.as_ref().map_or(body, |resolved| resolved.body.clone());
    let call = ChatCall::admit(gateway, ctx, endpoint, headers, body)?;
    let store = scope.and_then(|scope| StorePlan::for_call(&call, scope, resolved));
    let mut state = ChatState::default();
    if let Some(hit) = call.serve_from_cache(&mut state).await {
        // A hit is what the client got, so it is what is stored (under the hit's own new id).
        return Ok(match store {
            Some(store) => store.keep(hit).await,
            None => hit,
        });
    }
    call.plan_targets(&mut state)?;
    let result = call.try_targets(&mut state).await;
    call.record_failures(&state, result.is_ok());
    let response = call.answer(&state, result?)?;
    let response = match store {
        Some(store) => store.keep(response).await,
        None => response,
    };
    Ok(match guard {
        Some(guard) => idempotency_gate::finish(gateway, guard, response),
        None => response,
    })
}

/// Where an idempotency key is looked up: a duplicate of a request in flight or just answered
/// gets that answer, but one client's key never returns another client's answer (scoped by API
/// key) nor another endpoint's (scoped by format).
fn idempotency_scope(ctx: &RequestContext, endpoint: &ChatEndpoint) -> String {
    format!("{}:{}", endpoint.format.as_str(), ctx.caller.key().map_or("", |k| k.id.as_str()))
}

/// Cache, plan and dispatch: the phases that decide who answers.
impl ChatCall<'_> {
    /// A deterministic request already answered costs nothing: the cached answer, if any. On a
    /// miss `state` keeps where to store the answer, and the decoded request for translation.
    async fn serve_from_cache(&self, state: &mut ChatState) -> Option<Response<Body>> {
        match cached::lookup(self, &mut state.hub).await {
            Lookup::Hit(response) => Some(response),
            Lookup::Miss(miss) => {
                state.cache_miss = Some(miss);
                None
            }
            Lookup::Skip => None,
        }
    }

    /// The targets to try, best first (alias, combo, provider/model; session first), narrowed to
    /// what the caller's key may use.
    fn plan_targets(&self, state: &mut ChatState) -> Result<(), GatewayError> {
        let gateway = self.gateway;
        let targets = plan(&self.snapshot, &gateway.router, &gateway.options, &self.model, self.session.as_ref())?;
        state.targets = key_policy::allowed_targets(&self.ctx.caller, targets)?;
        Ok(())
    }

    /// Walks the plan. Every upstream cooling down: waits for the earliest recovery once, when
    /// the request or the config allows that long, and walks it again.
    async fn try_targets(&self, state: &mut ChatState) -> Result<Reply, GatewayError> {
        let result = self.walk_plan(state).await;
        match self.recovery_wait(&result) {
            Some(wait) => {
                self.gateway.ports.clock.sleep(wait).await;
                self.walk_plan(state).await
            }
            None => result,
        }
    }

    /// How long to wait before walking the plan again: only after rate limits everywhere, and
    /// only as long as `x-omniroute-max-wait-ms` (or `[routing] max_wait_ms`) allows.
    fn recovery_wait(&self, result: &Result<Reply, GatewayError>) -> Option<Duration> {
        let Err(GatewayError::RateLimited { retry_after_secs, .. }) = result else { return None };
        let wait_ms = retry_after_secs.saturating_mul(1000);
        let allowed = max_wait_ms(self.headers, self.snapshot.routing().max_wait_ms);
        (wait_ms <= allowed).then(|| Duration::from_millis(wait_ms))
    }

    /// One walk of the plan by [`dispatch`], each target's body built when it is reached.
    async fn walk_plan(&self, state: &mut ChatState) -> Result<Reply, GatewayError> {
        // Split so the body builder can fill the hub form while dispatch reads the plan.
        let ChatState { hub, edited, targets, attempts, adapted, .. } = state;
        let mut prepare = |target: &PlannedTarget| self.prepare(target, hub, edited, adapted);
        let retryable = &self.snapshot.routing().retryable_statuses;
        dispatch(self.gateway, retryable, targets, &mut prepare, self.probe.stream, self.accounts(), attempts).await
    }

    /// The accounts the request may use: the one it pins (`x-omniroute-connection`), else the
    /// provider's order with its sticky session's account first.
    fn accounts(&self) -> AccountChoice<'_> {
        let pinned = self.headers.get("x-omniroute-connection").and_then(|v| v.to_str().ok()).map(str::trim);
        match pinned {
            Some(id) if !id.is_empty() => AccountChoice::Pinned(id),
            _ => AccountChoice::Preferred(self.session.as_ref().map(|s| s.connection_id.as_str())),
        }
    }
}

/// Building each target's request: the body goes through as sent where it can.
impl ChatCall<'_> {
    /// A target's request, built when the plan reaches it: passthrough when it speaks the
    /// client's format (and framing), else translated through the hub. Each form is made once
    /// and kept in `hub` / `edited` for the targets after it.
    fn prepare(
        &self,
        target: &PlannedTarget,
        hub: &mut Option<ChatRequest>,
        edited: &mut Option<(Bytes, ChatProbe)>,
        adapted: &mut Vec<(String, Vec<String>)>,
    ) -> Result<Prepared, GatewayError> {
        let provider = &target.provider;
        let limits = self.limits(target);
        let body = if translates(self.endpoint, provider.format) || self.may_need_fitting(limits) {
            let (body, changes) = self.translated(target, hub, limits)?;
            if changes.is_empty() && !translates(self.endpoint, provider.format) {
                // Nothing to fit after all: the client's bytes go as they came.
                self.passed_through(target, edited)?
            } else {
                if !changes.is_empty() {
                    adapted.push((target.label(), changes));
                }
                body
            }
        } else {
            self.passed_through(target, edited)?
        };
        let path = match (&provider.stream_chat_path, self.probe.stream) {
            (Some(stream_path), true) => stream_path.clone(),
            _ => provider.chat_path.clone(),
        };
        Ok(Prepared { path, body, headers: forwarded_request_headers(provider.format, self.headers) })
    }

    /// What the target model takes, from the catalog; `None` for a key that wants its requests
    /// sent as they came.
    fn limits(&self, target: &PlannedTarget) -> Option<ModelLimits> {
        if self.ctx.caller.key().is_some_and(|key| key.strict_parameters) {
            return None;
        }
        Some(ModelLimits::of(target.provider.models.iter().find(|m| m.id == target.model)))
    }

    /// Whether a body the target could take as it came might need fitting: the model has known
    /// limits and the body names a parameter they bound (a byte search, no decode).
    fn may_need_fitting(&self, limits: Option<ModelLimits>) -> bool {
        limits.is_some_and(|l| l.constrain()) && fit::names_a_fitted_parameter(&self.body)
    }

    /// The request in the target's format, from the hub form (decoded, with the settings'
    /// edits, on first need) with the target's model and the client's stream flag, fitted to
    /// the model (the changes are returned).
    fn translated(
        &self,
        target: &PlannedTarget,
        hub: &mut Option<ChatRequest>,
        limits: Option<ModelLimits>,
    ) -> Result<(Bytes, Vec<String>), GatewayError> {
        let provider = target.provider.format;
        let decoded = match hub {
            Some(decoded) => decoded,
            None => {
                let mut decoded = formats::decode_request(self.endpoint.format, &self.body)?;
                self.snapshot.request_edits.apply_to_hub(&mut decoded);
                hub.insert(decoded)
            }
        };
        let mut request_for_target = decoded.clone();
        if provider != self.endpoint.format {
            request_for_target.drop_extras();
        }
        request_for_target.model.clone_from(&target.model);
        request_for_target.stream = self.probe.stream;
        // Usage is needed to translate it (and to account for it).
        request_for_target.stream_usage = self.probe.stream;
        let changes = limits.map(|limits| fit::fit(&mut request_for_target, provider, limits)).unwrap_or_default();
        Ok((formats::encode_request(provider, &request_for_target)?, changes))
    }

    /// The client's bytes with only the model rewritten; the settings' edits (system prompt,
    /// thinking budget) and the format's own fixes (Anthropic system turns), when any, are
    /// applied to the body once.
    fn passed_through(
        &self,
        target: &PlannedTarget,
        edited: &mut Option<(Bytes, ChatProbe)>,
    ) -> Result<Bytes, GatewayError> {
        let edits = &self.snapshot.request_edits;
        if !passthrough::needs_edit(self.endpoint, edits, &self.probe) {
            return Ok(self.probe.rewrite_model(&self.body, &target.model));
        }
        let (edited, probed) = match edited {
            Some(done) => done,
            None => edited.insert(passthrough::edited(self.endpoint, edits, &self.probe, &self.body)?),
        };
        Ok(probed.rewrite_model(edited, &target.model))
    }
}

/// Accounting and the answer: the phases after an upstream replied (or none did).
impl ChatCall<'_> {
    /// Records every attempt that is settled now: all but the one that answered, which is
    /// recorded with its answer once the body is done; all of them when none answered.
    fn record_failures(&self, state: &ChatState, answered: bool) {
        let attempts = &state.attempts;
        let settled = if answered { attempts.len().saturating_sub(1) } else { attempts.len() };
        for failed in &attempts[..settled] {
            let record = self.attempt_record(&state.targets, failed, false);
            self.gateway.record_handle().record(&record, failed, Observed::failed(failed.error.clone()));
        }
    }

    /// What accounting keeps of an attempt: the request's side of its usage row.
    fn attempt_record(&self, targets: &[PlannedTarget], attempt: &Attempt, log_bodies: bool) -> AttemptRecord {
        let target = targets.get(attempt.target);
        AttemptRecord {
            ctx: self.ctx.clone(),
            provider: target.map(|t| t.provider.id.clone()).unwrap_or_default(),
            requested_model: self.probe.model.clone(),
            upstream_model: target.map(|t| t.model.clone()).unwrap_or_default(),
            upstream_format: target.map_or(self.endpoint.format, |t| t.provider.format),
            stream: self.probe.stream,
            pricing: target.and_then(|t| self.snapshot.price(&t.provider.id, &t.model)),
            combo: target.and_then(|t| t.combo.clone()),
            request_body: self.body.clone(),
            log_bodies,
        }
    }

    /// Bodies are logged only when the setting asks and never for a `no_log` key.
    fn log_bodies(&self) -> bool {
        self.snapshot.usage_settings().request_logging && !self.ctx.caller.key().is_some_and(|key| key.no_log)
    }

    /// The client's answer from the upstream's reply (passed through or re-encoded; recorded
    /// once its body is done), with the session renewed and the gateway's headers added.
    fn answer(&self, state: &ChatState, reply: Reply) -> Result<Response<Body>, GatewayError> {
        let last = last_attempt(&state.attempts, &reply);
        let target = answering_target(&state.targets, reply.target)?;
        self.renew_session(target, &reply);
        let plan = self.reply_plan(target, state);
        let record = self.attempt_record(&state.targets, &last, self.log_bodies());
        let response = deliver(self.gateway, target, plan, reply, record, last);
        let mut response = self.with_progress(response);
        self.add_headers(response.headers_mut(), state, target);
        add_dropped_tools(response.headers_mut(), self.endpoint.format, target.provider.format, state.hub.as_ref());
        Ok(response)
    }

    /// A successful answer keeps the session on the target and account that gave it.
    fn renew_session(&self, target: &PlannedTarget, reply: &Reply) {
        if let Some(id) = &self.session_id
            && reply.status.is_success()
        {
            self.gateway.router.sessions.served(id, &target.label(), &reply.connection.id, self.now_ms);
        }
    }

    /// How the answer travels back from `target`: translated or not, its idle timeout, where a
    /// complete answer is cached, and the namespaces a translated answer's calls name again.
    fn reply_plan(&self, target: &PlannedTarget, state: &ChatState) -> Plan {
        let endpoint = self.endpoint;
        let translate = translates(endpoint, target.provider.format);
        let namespaces = match &state.hub {
            Some(hub) if translate => Namespaces::of(&hub.tools),
            _ => Namespaces::default(),
        };
        Plan {
            client: endpoint.format,
            provider: target.provider.format,
            translate,
            framing: endpoint.framing,
            idle_timeout: target.policy.idle_timeout,
            cache: state.cache_miss.as_ref().and_then(cached::Miss::write),
            namespaces,
        }
    }

    /// The answer with progress events while the client waits, when its format and the request
    /// ask for them.
    fn with_progress(&self, response: Response<Body>) -> Response<Body> {
        let gateway = self.gateway;
        match progress::event_for(self.endpoint, self.probe.stream, self.headers) {
            Some(event) => {
                progress::attach(response, event, gateway.ports.clock.clone(), gateway.options.progress_interval)
            }
            None => response,
        }
    }

    /// What the gateway tells the client about its own work: attempts made, the session, a
    /// cache miss.
    fn add_headers(&self, headers: &mut HeaderMap, state: &ChatState, target: &PlannedTarget) {
        let label = target.label();
        if let Some((_, changes)) = state.adapted.iter().find(|(t, _)| *t == label) {
            let adapted = changes.join(", ");
            tracing::info!(target = %label, %adapted, "request fitted to its target model");
            if let Ok(value) = HeaderValue::from_str(&adapted) {
                headers.insert("x-omniroute-adapted", value);
            }
        }
        headers.insert("x-omniroute-attempts", HeaderValue::from(state.attempts.len().max(1) as u64));
        if let Some(id) = self.session_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert("x-omniroute-session-id", id);
        }
        if state.cache_miss.is_some() {
            headers.insert("x-omniroute-cache", HeaderValue::from_static("MISS"));
        }
    }
}

/// `X-OmniRoute-Dropped-Tools`: the hosted tools of the client's request (web search, code
/// execution, …) that the answering provider did not get because its format cannot run them,
/// by their type, comma-separated. A provider of the client's own format gets them all.
fn add_dropped_tools(headers: &mut HeaderMap, client: WireFormat, provider: WireFormat, hub: Option<&ChatRequest>) {
    let Some(hub) = hub.filter(|_| provider != client) else { return };
    let mut kinds: Vec<&str> = Vec::new();
    for tool in &hub.hosted_tools {
        if !kinds.contains(&tool.kind.as_str()) {
            kinds.push(&tool.kind);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&kinds.join(", "))
        && !kinds.is_empty()
    {
        headers.insert("x-omniroute-dropped-tools", value);
    }
}

/// The attempt the answer came from: the last one made (an upstream refusal passed on as it
/// came is one too).
fn last_attempt(attempts: &[Attempt], reply: &Reply) -> Attempt {
    attempts.last().cloned().unwrap_or_else(|| Attempt {
        target: reply.target,
        connection_id: reply.connection.id.clone(),
        status: Some(reply.status.as_u16()),
        error: None,
        latency_ms: 0,
    })
}

/// The plan's target that answered; dispatch names one of the plan it was given.
fn answering_target(targets: &[PlannedTarget], index: usize) -> Result<&PlannedTarget, GatewayError> {
    targets.get(index).ok_or_else(|| {
        GatewayError::Internal(format!("the reply names target {index} of a plan with {}", targets.len()))
    })
}

/// The longest a request may wait for a cooling upstream: its own `x-omniroute-max-wait-ms`,
/// else the configured default, never more than two minutes.
fn max_wait_ms(headers: &HeaderMap, configured: u64) -> u64 {
    const CAP_MS: u64 = 120_000;
    let asked = headers.get("x-omniroute-max-wait-ms").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    asked.unwrap_or(configured).min(CAP_MS)
}

/// Whether a target in `provider` format needs translation for this client.
fn translates(endpoint: &ChatEndpoint, provider: WireFormat) -> bool {
    provider != endpoint.format || endpoint.framing != StreamFraming::Default
}

/// Client headers a provider of the same family should see: Anthropic's version and beta
/// flags (Claude Code sends betas the upstream must get).
pub(crate) fn forwarded_request_headers(provider: WireFormat, headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    const ANTHROPIC: [HeaderName; 2] =
        [HeaderName::from_static("anthropic-version"), HeaderName::from_static("anthropic-beta")];
    if provider != WireFormat::Anthropic {
        return Vec::new();
    }
    ANTHROPIC
        .iter()
        .flat_map(|name| headers.get_all(name).iter().map(move |value| (name.clone(), value.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HostedTool;

    #[test]
    fn dropped_tools_are_named_when_the_provider_speaks_another_format() {
        let tool = |kind: &str| HostedTool { kind: kind.into(), value: serde_json::json!({ "type": kind }) };
        let hub = ChatRequest {
            hosted_tools: vec![tool("web_search"), tool("file_search"), tool("web_search")],
            ..Default::default()
        };
        let dropped = |provider| {
            let mut headers = HeaderMap::new();
            add_dropped_tools(&mut headers, WireFormat::OpenaiResponses, provider, Some(&hub));
            headers.get("x-omniroute-dropped-tools").map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        assert_eq!(dropped(WireFormat::OpenaiChat).as_deref(), Some("web_search, file_search"));
        assert_eq!(dropped(WireFormat::OpenaiResponses), None, "the same format runs them");
        let mut headers = HeaderMap::new();
        add_dropped_tools(&mut headers, WireFormat::Anthropic, WireFormat::Gemini, Some(&ChatRequest::default()));
        assert!(headers.is_empty(), "nothing to drop, no header");
    }
}
