//! The HTTP surface of the gateway: one `handle` for every runtime. It routes a request,
//! admits it (host, IP filter, credentials, key limits), hands it to the inference pipeline or
//! the management API, and adds what every answer carries (request id, CORS, budget warning).

pub mod matcher;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod spec;
pub mod table;

use std::sync::atomic::Ordering;

use http::header::HeaderValue;
use http::{Request, Response};
use tracing::Instrument;

use crate::auth::Caller;
use crate::auth::guard;
use crate::body::Body;
use crate::error::GatewayError;
use crate::gateway::call::Call;
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::{cors, in_span};
use crate::render;
use crate::usage::budget::{period_name, usd};
use matcher::Matched;
use table::{Access, ErrorFormat, Upstream};

impl Gateway {
    /// Serves one request. Never panics on client input; every error is a response.
    pub async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let path = matcher::normalize(parts.uri.path());
        let matched = matcher::resolve(&parts.method, &path);
        let (access, errors) = (matched.access(), matched.errors());
        let upstream = matched.row().map_or(Upstream::None, |row| row.upstream);
        let mut ctx = RequestContext {
            request_id: self.request_id(&parts.headers),
            started_us: self.ports.clock.monotonic_us(),
            client_format: errors.wire_format(),
            caller: Caller::Anonymous,
            client_addr: None,
        };
        // Everything logged for this request, its stream included, carries the request id. A
        // span is only entered when its level is enabled: at ERROR it is there whenever any
        // line is logged (`RUST_LOG=warn` included).
        let span = tracing::error_span!("request", request_id = %ctx.request_id, method = %parts.method, path = parts.uri.path());
        let route = matched.row().map_or("-", |row| row.path);
        let admitted = span.in_scope(|| self.admit(access, upstream, &parts, &mut ctx));
        let refused = admitted.is_err();
        let mut response = match admitted {
            Ok(()) => self.serve(matched, &ctx, &parts, body).instrument(span.clone()).await,
            Err(err) => {
                self.telemetry.metrics.gateway_error(err.code());
                render(errors, &err)
            }
        };
        if response.status().as_u16() >= 400 {
            span.in_scope(|| log_failure(&mut response, route, &ctx, refused));
        }
        if access == Access::Inference {
            let snapshot = self.snapshot();
            cors::add_headers(&snapshot.access.security.cors_origins, &parts.headers, response.headers_mut());
        }
        span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "request answered"));
        let mut response = response.map(|body| in_span::in_span(body, span));
        if let Ok(value) = HeaderValue::from_str(&ctx.request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        if upstream == Upstream::Spends {
            self.budget_warning(&ctx, response.headers_mut());
        }
        response
    }

    /// `X-OmniRoute-Budget-Warning` once the key's spend reached its warning share.
    fn budget_warning(&self, ctx: &RequestContext, headers: &mut http::HeaderMap) {
        let Some(key) = ctx.caller.key() else { return };
        let Some(budget) = &key.budget else { return };
        let status = self.budgets.status(&key.id, budget, self.ports.clock.now_unix_ms());
        if status.warning
            && let Ok(value) = HeaderValue::from_str(&status.warning_header())
        {
            headers.insert("x-omniroute-budget-warning", value);
        }
    }

    /// The guard: IP filter, then the route's access rule, then the key's rate limits on calls
    /// that reach an upstream. Fills in who is calling.
    fn admit(
        &self,
        access: Access,
        upstream: Upstream,
        parts: &http::request::Parts,
        ctx: &mut RequestContext,
    ) -> Result<(), GatewayError> {
        let snapshot = self.snapshot();
        let rules = &snapshot.access;
        ctx.client_addr = guard::client_addr(parts, rules.security.forwarded_hops());
        guard::check_host(parts, &self.options.allowed_hosts)?;
        guard::check_ip(rules, ctx.client_addr)?;
        let now_ms = self.ports.clock.now_unix_ms();
        ctx.caller = match access {
            Access::Public => Caller::Anonymous,
            Access::Inference => {
                guard::check_inference_origin(parts, &rules.security.cors_origins)?;
                let required = self.options.require_api_key || rules.security.require_api_key;
                guard::inference(rules, &parts.headers, parts.uri.query(), required, now_ms)?
            }
            Access::Metrics if rules.security.metrics_public => Caller::Anonymous,
            Access::Management | Access::Metrics => guard::management(rules, parts, now_ms)?,
        };
        if let Some(key) = ctx.caller.key() {
            // A spent budget refuses before anything reaches an upstream (or a rate-limit slot).
            if let (Upstream::Spends, Some(budget)) = (upstream, &key.budget) {
                let status = self.budgets.status(&key.id, budget, now_ms);
                if status.exceeded {
                    return Err(GatewayError::BudgetExceeded(format!(
                        "API key '{}' has spent its {} budget (${} of ${}); it resets at {}",
                        key.name,
                        period_name(budget.period),
                        usd(status.spent_usd),
                        usd(status.limit_usd),
                        crate::time::format_rfc3339(status.resets_at_ms / 1000),
                    )));
                }
            }
            if upstream != Upstream::None {
                self.key_limits.admit(&key.id, key.requests_per_minute, key.requests_per_day, now_ms).map_err(
                    |retry_after_secs| GatewayError::RateLimited {
                        message: format!("API key '{}' is over its request limit", key.name),
                        retry_after_secs,
                    },
                )?;
            }
            self.note_key_used(&key.id, now_ms);
        }
        Ok(())
    }

    /// Runs the matched row's handler, or answers why nothing matched.
    async fn serve(
        &self,
        matched: Matched<'_>,
        ctx: &RequestContext,
        parts: &http::request::Parts,
        body: Body,
    ) -> Response<Body> {
        let errors = matched.errors();
        let err = match matched {
            Matched::Row { row, params } => {
                let call = Call { gateway: self, ctx, parts, params, body };
                match (row.handler)(call).await {
                    Ok(response) => return response,
                    Err(err) => err,
                }
            }
            Matched::Preflight { allow } => {
                return cors::preflight(&self.snapshot().access.security.cors_origins, allow, &parts.headers);
            }
            Matched::MethodNotAllowed { allow, .. } => GatewayError::method_not_allowed(&parts.method, allow),
            Matched::NotFound { .. } => GatewayError::NotFound(format!("{} {}", parts.method, parts.uri.path())),
        };
        render(errors, &err)
    }

    /// The client's `X-Request-Id` when it is sane, else a fresh one.
    fn request_id(&self, headers: &http::HeaderMap) -> String {
        if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok())
            && !id.is_empty()
            && id.len() <= 128
            && id.bytes().all(|b| b.is_ascii_graphic())
        {
            return id.to_owned();
        }
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        // `req_{now_ms:x}{n:06x}`, written by hand: `format!` was 1% of a request's CPU.
        let mut id = String::with_capacity(26);
        id.push_str("req_");
        push_hex(&mut id, self.ports.clock.now_unix_ms(), 1);
        push_hex(&mut id, n & 0xff_ffff, 6);
        id
    }
}

/// The one log line of a request answered with an error: info for 4xx, warn for 5xx, with the
/// route, status, code, reason and (when an upstream answered) the model; the request id comes
/// from the span. What the client was told, so never a secret (upstream messages are scrubbed).
fn log_failure(response: &mut Response<Body>, route: &str, ctx: &RequestContext, refused: bool) {
    let status = response.status().as_u16();
    let failure = response.extensions_mut().remove::<render::Failure>().unwrap_or_default();
    let (code, reason) = (failure.code.as_str(), failure.reason.as_str());
    let model = failure.model.as_deref().unwrap_or("-");
    let client = ctx.client_addr.map(|a| a.to_string()).unwrap_or_default();
    match (status >= 500, refused) {
        (false, true) => tracing::info!(status, code, route, %client, reason, "request refused"),
        (true, true) => tracing::warn!(status, code, route, %client, reason, "request refused"),
        (false, false) => tracing::info!(status, code, route, model, %client, reason, "request failed"),
        (true, false) => tracing::warn!(status, code, route, model, %client, reason, "request failed"),
    }
}

/// An error in the shape the route answers in.
fn render(errors: ErrorFormat, err: &GatewayError) -> Response<Body> {
    match errors {
        ErrorFormat::Client(format) => render::error(format, err),
        ErrorFormat::Management => crate::admin::json::error(err),
    }
}

/// Appends `value` in lower-case hex, zero-padded to at least `min_digits`.
fn push_hex(out: &mut String, value: u64, min_digits: usize) {
    let digits = (u64::BITS - value.leading_zeros()).div_ceil(4) as usize;
    for i in (0..digits.max(min_digits)).rev() {
        let nibble = value.checked_shr(4 * i as u32).unwrap_or(0) & 0xf;
        out.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

#[cfg(test)]
mod request_id_tests {
    use super::push_hex;

    #[test]
    fn hex_is_written_as_format_writes_it() {
        for (value, min) in [(0_u64, 1), (0, 6), (0xabc, 6), (0x19_3a4b_5c6d_7e8f, 1), (u64::MAX, 6), (0xff_ffff, 6)] {
            let mut out = String::new();
            push_hex(&mut out, value, min);
            assert_eq!(out, format!("{value:0min$x}"), "{value:#x} at {min} digits");
        }
    }
}
