//! Request telemetry fed from the request path: sliding-window summaries per provider and model
//! (`GET /api/telemetry/summary`) and cumulative Prometheus metrics (`GET /metrics`). One
//! [`Telemetry::record`] per finished request feeds both; time comes in as unix ms arguments.

pub mod metrics;
pub mod sketch;
pub mod window;

pub use metrics::{CacheHitKind, Gauge, Metrics};
pub use sketch::Sketch;
pub use window::{KeySummary, Outcome, Percentiles, StatsKey, Summary, Window, WindowConfig};

/// One finished request, as the request path knows it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestRecord<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    /// Latency, time to first token, failed or not.
    pub outcome: Outcome,
    /// HTTP status of the upstream response; 0 when there was none.
    pub status: u16,
    /// Label of `omniroute_errors_total` when `outcome.error` (default: the status).
    pub error_code: Option<&'a str>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

/// Window statistics and cumulative metrics side by side, shared through `&self`.
#[derive(Debug, Default)]
pub struct Telemetry {
    pub window: Window,
    pub metrics: Metrics,
}

impl Telemetry {
    pub fn new(window: WindowConfig, max_series: usize) -> Self {
        Telemetry { window: Window::new(window), metrics: Metrics::new(max_series) }
    }

    /// Feeds one finished request to the window and to the metrics.
    pub fn record(&self, now_ms: u64, request: &RequestRecord<'_>) {
        let key = StatsKey::new(request.provider, request.model);
        self.window.record(now_ms, &key, &request.outcome);
        let RequestRecord { provider, model, status, error_code, .. } = *request;
        self.metrics.observe_request(provider, model, status, &request.outcome, error_code);
        if request.tokens_in > 0 || request.tokens_out > 0 {
            self.metrics.observe_tokens(provider, model, request.tokens_in, request.tokens_out);
        }
        if request.cost_usd > 0.0 {
            self.metrics.observe_cost(provider, model, request.cost_usd);
        }
    }

    /// The body of `GET /api/telemetry/summary` for the last `window_ms`.
    pub fn summary(&self, now_ms: u64, window_ms: u64) -> Summary {
        self.window.summarize(now_ms, window_ms)
    }

    /// The body of `GET /metrics` (content type `text/plain; version=0.0.4`).
    pub fn render_metrics(&self, gauges: &[Gauge<'_>]) -> String {
        self.metrics.render(gauges)
    }
}

/// Content type of [`Telemetry::render_metrics`]'s output.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_feeds_both() {
        let telemetry = Telemetry::default();
        let now = 1_700_000_000_000;
        let ok = RequestRecord {
            provider: "openai",
            model: "gpt-4o",
            outcome: Outcome { latency_ms: 800, ttft_ms: Some(120), error: false },
            status: 200,
            tokens_in: 1200,
            tokens_out: 300,
            cost_usd: 0.0125,
            ..RequestRecord::default()
        };
        telemetry.record(now, &ok);
        let failed = RequestRecord {
            outcome: Outcome { latency_ms: 40, ttft_ms: None, error: true },
            status: 503,
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: 0.0,
            ..ok
        };
        telemetry.record(now + 1000, &failed);

        let summary = telemetry.summary(now + 2000, 60_000);
        assert_eq!(summary.models.len(), 1);
        let s = &summary.models[0];
        assert_eq!((s.count, s.errors, s.error_rate), (2, 1, 0.5));
        assert_eq!(s.ttft_ms.p50, Some(120.0));
        assert_eq!(summary.providers[0].count, 2);

        let text = telemetry.render_metrics(&[Gauge::UsageBufferRows(0)]);
        for line in [
            "omniroute_requests_total{provider=\"openai\",model=\"gpt-4o\",status=\"200\"} 1",
            "omniroute_requests_total{provider=\"openai\",model=\"gpt-4o\",status=\"503\"} 1",
            "omniroute_errors_total{provider=\"openai\",code=\"503\"} 1",
            "omniroute_tokens_total{provider=\"openai\",model=\"gpt-4o\",direction=\"input\"} 1200",
            "omniroute_tokens_total{provider=\"openai\",model=\"gpt-4o\",direction=\"output\"} 300",
            "omniroute_cost_usd_total{provider=\"openai\",model=\"gpt-4o\"} 0.0125",
            "omniroute_request_duration_seconds_count{provider=\"openai\",model=\"gpt-4o\"} 2",
            "omniroute_request_duration_seconds_sum{provider=\"openai\",model=\"gpt-4o\"} 0.84",
            "omniroute_time_to_first_token_seconds_count{provider=\"openai\",model=\"gpt-4o\"} 1",
            "omniroute_usage_buffer_rows 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
