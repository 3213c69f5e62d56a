//! `GET/PUT/PATCH /api/settings/usage`: how many days usage rows are kept (pruned off the
//! request path by the runtime), whether request/response bodies are logged, and how many days
//! stored Responses API responses are kept.

use serde::Deserialize;

use crate::admin::commit::put_setting;
use crate::admin::json::{invalid, ok, parse};
use crate::config::settings::{UsageSettings, keys};
use crate::gateway::call::{Answer, Call};

/// Ten years: longer is "keep forever", which is 0.
const MAX_RETENTION_DAYS: u32 = 3650;

/// Fields to change; absent ones keep their value.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UsageSettingsInput {
    /// Days usage rows are kept (0: forever).
    #[cfg_attr(feature = "openapi", schema(maximum = 3650))]
    pub retention_days: Option<u32>,
    /// Log request and response bodies (never for `no_log` keys).
    pub request_logging: Option<bool>,
    /// Days stored Responses API responses are kept (0: none are stored).
    #[cfg_attr(feature = "openapi", schema(maximum = 3650))]
    pub responses_retention_days: Option<u32>,
}

/// `GET /api/settings/usage`.
pub async fn get(call: Call<'_>) -> Answer {
    Ok(ok(&call.gateway.snapshot().usage_settings()))
}

/// `PUT`/`PATCH /api/settings/usage`: the fields sent change, the rest stay.
pub async fn update(mut call: Call<'_>) -> Answer {
    let input: UsageSettingsInput = parse(&call.body_bytes().await?)?;
    let current = call.gateway.snapshot().usage_settings();
    let mut next = current;
    if let Some(days) = input.retention_days {
        if days > MAX_RETENTION_DAYS {
            return Err(invalid("retentionDays", format!("at most {MAX_RETENTION_DAYS} (0 keeps rows forever)")));
        }
        next.retention_days = days;
    }
    if let Some(logging) = input.request_logging {
        next.request_logging = logging;
    }
    if let Some(days) = input.responses_retention_days {
        if days > MAX_RETENTION_DAYS {
            return Err(invalid(
                "responsesRetentionDays",
                format!("at most {MAX_RETENTION_DAYS} (0 stores no responses)"),
            ));
        }
        next.responses_retention_days = days;
    }
    put_setting(call.gateway, call.ctx, "settings.update", keys::USAGE, &current, &next).await?;
    Ok(ok::<UsageSettings>(&next))
}
