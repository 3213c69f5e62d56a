//! `GET/PUT/PATCH /api/settings/cache`: the response cache's settings document (on/off, TTL,
//! memory bounds, the semantic cache). `PUT` sets the whole document (absent fields take their
//! defaults), `PATCH` is a JSON merge patch (`null` resets a field). The running cache takes
//! the change when the snapshot reloads, at once on this instance.

use http::{Method, Response};

use crate::admin::commit::put_setting;
use crate::admin::respond::{invalid, ok, parse, parse_merged};
use crate::body::Body;
use crate::config::settings::{CacheSettings, keys, split_model_ref};
use crate::error::GatewayError;
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::embed::serves_embeddings;

const EMBEDDING_MODEL: &str = "semantic.embeddingModel";

pub async fn handle(
    gateway: &Gateway,
    ctx: &RequestContext,
    method: &Method,
    body: &[u8],
) -> Result<Response<Body>, GatewayError> {
    let current = gateway.snapshot().cache.clone();
    let wanted: CacheSettings = match *method {
        Method::GET => return Ok(ok(&current)),
        Method::PUT => parse(body)?,
        Method::PATCH => parse_merged(&current, body)?,
        _ => return Err(GatewayError::method_not_allowed(method, "GET, PUT, PATCH")),
    };
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
