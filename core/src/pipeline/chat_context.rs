//! The per-request chat context: what the phases of one chat request share, so each phase takes
//! the request as one borrowed value instead of a list of its pieces.
//!
//! Two halves, because a phase often reads the one while it fills the other (a target's body is
//! built from the client's request and fills in the hub form for the next target): the request as
//! it came ([`ChatCall`], fixed once probed), and what the phases work out on the way
//! ([`ChatState`]). Behind a single `&mut` the borrow checker would forbid that without clones.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;

use crate::error::GatewayError;
use crate::gateway::{Gateway, RequestContext};
use crate::hub::ChatRequest;
use crate::pipeline::cached::Miss;
use crate::pipeline::dispatch::Attempt;
use crate::pipeline::endpoint::ChatEndpoint;
use crate::pipeline::passthrough::{ChatProbe, probe};
use crate::providers::find_catalog_provider;
use crate::routing::key_policy;
use crate::routing::plan::PlannedTarget;
use crate::routing::sessions::{SessionEntry, Sessions};
use crate::snapshot::ConfigSnapshot;

/// One chat request as its phases read it: the client's request, probed and admitted.
pub struct ChatCall<'r> {
    pub gateway: &'r Gateway,
    pub ctx: &'r RequestContext,
    pub endpoint: &'r ChatEndpoint,
    pub headers: &'r HeaderMap,
    /// The client's body as read (within the size limit): passed through, or decoded from.
    pub body: Bytes,
    /// `model` and `stream` as the client sent them, and where the model sits in `body`.
    pub probe: ChatProbe,
    /// The config this request is served with: one snapshot for every phase.
    pub snapshot: Arc<ConfigSnapshot>,
    /// The router's time at admission; the session is read and renewed with it.
    pub now_ms: u64,
    /// The client's sticky-session id (`X-Session-Id`), normalized.
    pub session_id: Option<String>,
    /// Where that session was last served, while it is live.
    pub session: Option<SessionEntry>,
    /// The model to plan for: the client's, with the provider's prefix on a provider route.
    pub model: String,
}

/// What the phases of one chat request work out and pass on, filled in as they run.
#[derive(Default)]
pub struct ChatState {
    /// The client's request in hub form (the settings' edits applied), decoded at most once: by
    /// the cache lookup for its key, else by the first target that needs translation.
    pub hub: Option<ChatRequest>,
    /// The passthrough body with the settings' edits and its probe, made at most once.
    pub edited: Option<(Bytes, ChatProbe)>,
    /// The cache missed: where the answer may be stored once complete.
    pub cache_miss: Option<Miss>,
    /// The plan: the targets to try, best first.
    pub targets: Vec<PlannedTarget>,
    /// Every try against an upstream, in order.
    pub attempts: Vec<Attempt>,
    /// What was changed to fit each target's model (`pipeline::fit`), by target label.
    pub adapted: Vec<(String, Vec<String>)>,
}

impl<'r> ChatCall<'r> {
    /// Probes the body (model and stream, without decoding the rest) and admits the request:
    /// a conversation within the item limit, a model the route and the caller's key allow. Cheap
    /// refusals come first, before the cache or any upstream is asked.
    pub fn admit(
        gateway: &'r Gateway,
        ctx: &'r RequestContext,
        endpoint: &'r ChatEndpoint,
        headers: &'r HeaderMap,
        body: Bytes,
    ) -> Result<Self, GatewayError> {
        let probe = probe(endpoint, &body)?;
        probe.check_items(gateway.options.max_message_items)?;
        let snapshot = gateway.snapshot();
        let now_ms = gateway.router.now_ms();
        let session_id = session_id(headers);
        let session = session_id.as_deref().and_then(|id| gateway.router.sessions.get(id, now_ms));
        let model = match &endpoint.provider {
            Some(scope) => scoped_model(&snapshot, scope, &probe.model)?,
            None => probe.model.clone(),
        };
        key_policy::check_model(&ctx.caller, &model)?;
        Ok(ChatCall { gateway, ctx, endpoint, headers, body, probe, snapshot, now_ms, session_id, session, model })
    }
}

/// The model under `/v1/providers/{scope}/...`: the prefix is added when missing; another
/// provider's prefix is the client's mistake.
fn scoped_model(snapshot: &ConfigSnapshot, scope: &str, model: &str) -> Result<String, GatewayError> {
    let Some(provider) = snapshot.provider(scope) else {
        return Err(GatewayError::UnknownProvider(format!("provider '{scope}' is not configured")));
    };
    // A prefix naming a configured or a catalog provider is a provider prefix; anything else
    // is part of the model name (`meta-llama/...`).
    let named = model.split_once('/').and_then(|(prefix, _)| {
        snapshot.provider(prefix).map(|p| p.id.clone()).or_else(|| find_catalog_provider(prefix).map(|e| e.id.clone()))
    });
    match named {
        Some(named) if named == provider.id => Ok(model.to_owned()),
        Some(named) => Err(GatewayError::InvalidRequest(format!(
            "model '{model}' belongs to provider '{named}', but this route is for provider '{}'",
            provider.id
        ))),
        None => Ok(format!("{}/{model}", provider.id)),
    }
}

/// The client's sticky-session id: `X-Session-Id` (or `x_session_id` as a header name some
/// clients use), normalized.
fn session_id(headers: &HeaderMap) -> Option<String> {
    ["x-session-id", "x_session_id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .and_then(Sessions::normalize)
}
