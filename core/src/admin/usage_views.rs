//! What the usage endpoints answer: rows, attempts, aggregates and totals as camelCase JSON,
//! built from the UsageQuery port's records. No secret is ever in a usage row.

use serde::Serialize;

use crate::admin::json::timestamp;
use crate::ports::usage_query::{StoredUsage, UsageTotals};

/// One usage row (one upstream attempt).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageRowView {
    pub id: u64,
    pub request_id: String,
    pub timestamp: String,
    pub timestamp_ms: u64,
    pub provider: String,
    pub connection_id: String,
    pub requested_model: String,
    pub upstream_model: String,
    /// The combo the request was routed through, if any.
    pub combo: Option<String>,
    pub client_format: String,
    pub upstream_format: String,
    /// The upstream's HTTP status; 0 when it gave none (connect error, timeout).
    pub status: u16,
    pub stream: bool,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub cached_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    /// The upstream sent no usage: tokens and cost are the gateway's estimate.
    pub estimated: bool,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
    /// The gateway API key the request came with.
    pub key_id: Option<String>,
}

impl UsageRowView {
    pub fn of(row: &StoredUsage) -> UsageRowView {
        let r = &row.record;
        UsageRowView {
            id: row.id,
            request_id: r.request_id.clone(),
            timestamp: timestamp(r.timestamp_ms),
            timestamp_ms: r.timestamp_ms,
            provider: r.provider.clone(),
            connection_id: r.connection_id.clone(),
            requested_model: r.requested_model.clone(),
            upstream_model: r.upstream_model.clone(),
            combo: r.combo.clone(),
            client_format: r.client_format.clone(),
            upstream_format: r.upstream_format.clone(),
            status: r.status,
            stream: r.stream,
            tokens_in: r.input_tokens,
            tokens_out: r.output_tokens,
            cached_tokens: r.cached_tokens,
            reasoning_tokens: r.reasoning_tokens,
            estimated: r.estimated,
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
            cost_usd: r.cost_usd,
            error: r.error.clone(),
            key_id: r.api_key_id.clone(),
        }
    }
}

/// A page of rows.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageLogPage {
    pub logs: Vec<UsageRowView>,
    /// Rows matching the filters in all.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// One request with its attempts, in order.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestLogView {
    pub request_id: String,
    /// When its first attempt was recorded.
    pub timestamp: String,
    pub key_id: Option<String>,
    pub requested_model: String,
    pub combo: Option<String>,
    /// The last attempt's status: what the client got from the upstream.
    pub status: u16,
    pub attempts: Vec<UsageRowView>,
    /// The request body, when request logging was on and the key is not `no_log`.
    pub request_body: Option<String>,
    /// The answer the client got, under the same conditions.
    pub response_body: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestLogPage {
    pub requests: Vec<RequestLogView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// One cell of a history: a period and a group, with its sums.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HistoryPoint {
    /// The start of the hour or day (UTC).
    pub period: String,
    pub period_ms: u64,
    /// The provider, `provider/model` or key id; null for requests without a key.
    pub group: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub totals: UsageTotals,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// `hour` or `day`.
    pub bucket: &'static str,
    /// `provider`, `model` or `key`.
    pub group_by: &'static str,
    pub since: String,
    pub until: String,
    pub series: Vec<HistoryPoint>,
    pub totals: UsageTotals,
}

/// One model's sums on a connection.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelUsage {
    /// `provider/model`.
    pub model: String,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub totals: UsageTotals,
}

/// `GET /api/usage/{connectionId}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionUsage {
    pub connection_id: String,
    /// The provider it belongs to (from config, else from its rows).
    pub provider: Option<String>,
    /// Whether the account is still configured.
    pub configured: bool,
    pub since: String,
    pub until: String,
    pub totals: UsageTotals,
    pub by_model: Vec<ModelUsage>,
    /// Its newest row, when it has one.
    pub last_used_at: Option<String>,
}
