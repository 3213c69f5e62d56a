//! The settings documents with a path of their own, each `GET` and `PUT` (the whole document;
//! absent fields take their defaults): `/api/settings/ip-filter` (allow/block lists of
//! addresses and CIDR ranges; a filter that would refuse the caller is refused),
//! `/api/settings/system-prompt` and `/api/settings/thinking-budget` (see [`crate::rewrite`]).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::admin::commit::put_setting;
use crate::admin::json::{invalid, ok, parse};
use crate::auth::ip_filter::{Cidr, IpFilter};
use crate::config::settings::{IpFilterSettings, SystemPromptSettings, ThinkingBudgetSettings, ThinkingMode, keys};
use crate::error::GatewayError;
use crate::gateway::RequestContext;
use crate::gateway::call::{Answer, Call};

const MAX_ENTRIES: usize = 1000;
const MAX_PROMPT_CHARS: usize = 100_000;
/// The largest thinking budget the policy may set or allow.
const MAX_BUDGET_TOKENS: u32 = 1_000_000;

/// `GET /api/settings/ip-filter`.
pub async fn get_ip_filter(call: Call<'_>) -> Answer {
    get::<IpFilterSettings>(&call, keys::IP_FILTER)
}

/// `PUT /api/settings/ip-filter`: a filter that would refuse the caller is refused.
pub async fn put_ip_filter(mut call: Call<'_>) -> Answer {
    let ctx = call.ctx;
    put(&mut call, keys::IP_FILTER, "settings.ip_filter", |w| check_ip_filter(w, ctx)).await
}

/// `GET /api/settings/system-prompt`.
pub async fn get_system_prompt(call: Call<'_>) -> Answer {
    get::<SystemPromptSettings>(&call, keys::SYSTEM_PROMPT)
}

/// `PUT /api/settings/system-prompt`.
pub async fn put_system_prompt(mut call: Call<'_>) -> Answer {
    put(&mut call, keys::SYSTEM_PROMPT, "settings.system_prompt", check_system_prompt).await
}

/// `GET /api/settings/thinking-budget`.
pub async fn get_thinking_budget(call: Call<'_>) -> Answer {
    get::<ThinkingBudgetSettings>(&call, keys::THINKING_BUDGET)
}

/// `PUT /api/settings/thinking-budget`.
pub async fn put_thinking_budget(mut call: Call<'_>) -> Answer {
    put(&mut call, keys::THINKING_BUDGET, "settings.thinking_budget", check_thinking_budget).await
}

/// The document under `key` as stored (its defaults when absent).
fn get<T: Serialize + DeserializeOwned + Default>(call: &Call<'_>, key: &'static str) -> Answer {
    Ok(ok(&call.gateway.snapshot().setting::<T>(key)))
}

/// Replaces the document under `key`: `check` turns the wanted document into the one stored
/// (or names the field at fault).
async fn put<T>(
    call: &mut Call<'_>,
    key: &'static str,
    action: &'static str,
    check: impl FnOnce(T) -> Result<T, GatewayError>,
) -> Answer
where
    T: Serialize + DeserializeOwned + Default + PartialEq,
{
    let wanted = check(parse(&call.body_bytes().await?)?)?;
    let (gateway, ctx) = (call.gateway, call.ctx);
    let current: T = gateway.snapshot().setting(key);
    put_setting(gateway, ctx, action, key, &current, &wanted).await?;
    Ok(ok(&wanted))
}

fn check_ip_filter(mut wanted: IpFilterSettings, ctx: &RequestContext) -> Result<IpFilterSettings, GatewayError> {
    let mut blocked = Vec::new();
    for (field, entries) in [("allow", &mut wanted.allow), ("block", &mut wanted.block)] {
        if entries.len() > MAX_ENTRIES {
            return Err(invalid(field, format!("at most {MAX_ENTRIES} entries")));
        }
        for (i, entry) in entries.iter_mut().enumerate() {
            *entry = entry.trim().to_owned();
            let range = Cidr::parse(entry).map_err(|e| invalid(&format!("{field}[{i}]"), e))?;
            if field == "block" {
                blocked.push(range);
            }
        }
    }
    if !wanted.enabled {
        return Ok(wanted);
    }
    // The one making the change must still get in afterwards.
    let addr = ctx.client_addr;
    if let Some(addr) = addr
        && let Some(i) = blocked.iter().position(|range| range.contains(addr))
    {
        return Err(invalid(
            &format!("block[{i}]"),
            format!("blocks your own address {addr}: the change would lock you out"),
        ));
    }
    if !IpFilter::parse(&wanted.allow, &wanted.block).is_ok_and(|filter| filter.admits(addr)) {
        let message = match addr {
            Some(addr) => format!("does not include your own address {addr}: the change would lock you out"),
            None => "this runtime cannot tell client addresses, so an allow list would refuse every request".into(),
        };
        return Err(invalid("allow", message));
    }
    Ok(wanted)
}

fn check_system_prompt(wanted: SystemPromptSettings) -> Result<SystemPromptSettings, GatewayError> {
    if wanted.prompt.chars().count() > MAX_PROMPT_CHARS {
        return Err(invalid("prompt", format!("at most {MAX_PROMPT_CHARS} characters")));
    }
    if wanted.enabled && wanted.prompt.trim().is_empty() {
        return Err(invalid("prompt", "must not be empty when the system prompt is enabled"));
    }
    Ok(wanted)
}

fn check_thinking_budget(wanted: ThinkingBudgetSettings) -> Result<ThinkingBudgetSettings, GatewayError> {
    let needs_budget = matches!(wanted.mode, ThinkingMode::Fixed | ThinkingMode::Cap);
    if needs_budget && !(1..=MAX_BUDGET_TOKENS).contains(&wanted.budget_tokens) {
        return Err(invalid("budgetTokens", format!("must be 1 to {MAX_BUDGET_TOKENS} in `fixed` and `cap` modes")));
    }
    Ok(wanted)
}
