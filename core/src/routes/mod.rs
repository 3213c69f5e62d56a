//! The HTTP surface of the gateway: one `handle` for every runtime. It routes a request,
//! admits it (host, IP filter, credentials, key limits), hands it to the inference pipeline or
//! the management API, and adds what every answer carries (request id, CORS, budget warning).

pub mod matcher;

use std::sync::atomic::Ordering;

use http::header::HeaderValue;
use http::{Request, Response};
use tracing::Instrument;

use crate::admin::{cache_api, resilience_api, telemetry_api};
use crate::auth::Caller;
use crate::auth::guard;
use crate::body::Body;
use crate::error::GatewayError;
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::{chat, cors, count_tokens, in_span, info, respond};
use crate::usage::budget::{period_name, usd};
use matcher::{Access, Route, route};

impl Gateway {
    /// Serves one request. Never panics on client input; every error is a response.
    pub async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let route = route(&parts.method, parts.uri.path(), parts.uri.query());
        let access = route.access(&parts.method, parts.uri.path());
        let spends = matches!(route, Route::Chat(_));
        let mut ctx = RequestContext {
            request_id: self.request_id(&parts.headers),
            started_us: self.ports.clock.monotonic_us(),
            client_format: route.client_format(),
            caller: Caller::Anonymous,
            client_addr: None,
        };
        // Everything logged for this request, its stream included, carries the request id. A
        // span is only entered when its level is enabled: at ERROR it is there whenever any
        // line is logged (`RUST_LOG=warn` included).
        let span = tracing::error_span!("request", request_id = %ctx.request_id, method = %parts.method, path = parts.uri.path());
        let admitted = span.in_scope(|| self.admit(&route, access, &parts, &mut ctx));
        let response = match admitted {
            Ok(()) => self.serve(route, &ctx, &parts, body).instrument(span.clone()).await,
            Err(err) => {
                self.telemetry.metrics.gateway_error(err.code());
                let client = ctx.client_addr.map(|a| a.to_string()).unwrap_or_default();
                span.in_scope(|| tracing::info!(status = err.status().as_u16(), code = err.code(), %client, reason = %err, "request refused"));
                match access {
                    Access::Inference => respond::error(ctx.client_format, &err),
                    _ => crate::admin::respond::error(&err),
                }
            }
        };
        let mut response = response;
        if access == Access::Inference {
            let snapshot = self.snapshot();
            cors::add_headers(&snapshot.access.security.cors_origins, &parts.headers, response.headers_mut());
        }
        span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "request answered"));
        let mut response = response.map(|body| in_span::in_span(body, span));
        if let Ok(value) = HeaderValue::from_str(&ctx.request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        if spends {
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
        route: &Route,
        access: Access,
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
            if let (Route::Chat(_), Some(budget)) = (route, &key.budget) {
                let status = self.budgets.status(&key.id, budget, now_ms);
                if status.exceeded {
                    return Err(GatewayError::BudgetExceeded(format!(
                        "API key '{}' has spent its {} budget (${} of ${}); it resets at {}",
                        key.name,
                        period_name(budget.period),
                        usd(status.spent_usd),
                        usd(status.limit_usd),
                        crate::admin::respond::timestamp(status.resets_at_ms),
                    )));
                }
            }
            if matches!(route, Route::Chat(_) | Route::CountTokens) {
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

    async fn serve(
        &self,
        route: Route,
        ctx: &RequestContext,
        parts: &http::request::Parts,
        body: Body,
    ) -> Response<Body> {
        match route {
            Route::Chat(endpoint) => chat::handle(self, ctx, &endpoint, &parts.headers, body).await,
            Route::CountTokens => count_tokens::handle(self, ctx, &parts.headers, body).await,
            Route::ListModels => info::list_models(self),
            Route::GetModel(id) => info::get_model(self, &id),
            Route::GeminiModels => info::gemini_models(self),
            Route::GeminiModel(id) => info::gemini_model(self, &id),
            Route::OllamaTags => info::ollama_tags(self),
            Route::OllamaVersion => info::ollama_version(),
            Route::ProviderModels(provider) => info::provider_models(self, &provider),
            Route::Resilience => resilience_api::report(self),
            Route::PatchResilience => resilience_api::patch(self, body).await,
            Route::ResetResilience => resilience_api::reset(self, body).await,
            Route::RateLimits => resilience_api::rate_limits(self),
            Route::Availability => resilience_api::availability(self),
            Route::ModelAvailability => resilience_api::check_model(self, body).await,
            Route::Sessions => resilience_api::sessions(self),
            Route::TelemetrySummary => telemetry_api::summary(self, parts.uri.query()),
            Route::Metrics => telemetry_api::metrics(self),
            Route::CacheStats => cache_api::cache_stats(self),
            Route::ClearCache => cache_api::clear_cache(self),
            Route::Health => info::health(self),
            Route::Admin => crate::admin::handle(self, ctx, parts, body).await,
            Route::Preflight(allowed) => {
                cors::preflight(&self.snapshot().access.security.cors_origins, allowed, &parts.headers)
            }
            Route::NotFound(format) => {
                respond::error(format, &GatewayError::NotFound(format!("{} {}", parts.method, parts.uri.path())))
            }
            Route::MethodNotAllowed(format, allowed) => {
                respond::error(format, &GatewayError::method_not_allowed(&parts.method, allowed))
            }
        }
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
