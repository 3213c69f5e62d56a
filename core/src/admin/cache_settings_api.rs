//! `GET/PUT/PATCH /api/settings/cache`: the response cache's settings document (on/off, TTL,
//! memory bounds, the semantic cache). `PUT` sets the whole document (absent fields take their
//! defaults), `PATCH` is a JSON merge patch (`null` resets a field). The running cache takes
//! the change when the snapshot reloads, at once on this instance.

use crate::admin::commit::put_setting;
use crate::admin::json::{invalid, ok, parse, parse_merged};
use crate::config::settings::{CacheSettings, keys, split_model_ref};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::embed::serves_embeddings;

const EMBEDDING_MODEL: &str = "semantic.embeddingModel";

/// `GET /api/settings/cache`.
pub async fn get(call: Call<'_>) -> Answer {
    Ok(ok(&call.gateway.snapshot().cache))
}

/// `PUT /api/settings/cache`: the whole document.
pub async fn put(mut call: Call<'_>) -> Answer {
    let wanted = parse(&call.body_bytes().await?)?;
    store(call.gateway, call.ctx, wanted).await
}

/// `PATCH /api/settings/cache`: a JSON merge patch of the stored document.
pub async fn patch(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    let wanted = parse_merged(&call.gateway.snapshot().cache, &body)?;
    store(call.gateway, call.ctx, wanted).await
}

async fn store(gateway: &Gateway, ctx: &RequestContext, wanted: CacheSettings) -> Answer {
    let current = gateway.snapshot().cache.clone();
    check(gateway, &wanted)?;
    put_setting(gateway, ctx, "settings.cache", keys::CACHE, &current, &wanted).await?;
    Ok(ok(&wanted))
}

/// The bounds, and an embedding model that this gateway can call.
fn check(gateway: &Gateway, wanted: &CacheSettings) -> Result<(), GatewayError> {
    wanted.check().map_err(|e| invalid(e.field, e.message))?;
    let Some(model) = &wanted.semantic.embedding_model else { return Ok(()) };
    let Some((provider, _)) = split_model_ref(model) else {
        return Err(invalid(EMBEDDING_MODEL, "must be `provider/model`"));
    };
    match gateway.snapshot().provider(provider) {
        None => Err(invalid(EMBEDDING_MODEL, format!("provider '{provider}' is not configured"))),
        Some(p) if !serves_embeddings(p.format) => Err(invalid(
            EMBEDDING_MODEL,
            format!(
                "provider '{}' speaks {}; embeddings need an OpenAI-compatible provider (POST /embeddings)",
                p.id,
                p.format.as_str()
            ),
        )),
        Some(_) => Ok(()),
    }
}
