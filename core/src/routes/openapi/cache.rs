//! Documentation of the response cache's settings (`/api/settings/cache`) and of the shapes of
//! its statistics (`/api/cache`, documented with the other operations).
#![allow(dead_code)]

use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::common::ManagementErrors;
use crate::cache::{CacheStats, IdempotencyStats, SemanticCacheStats, SemanticStats};
use crate::config::settings::{CacheSettings, SemanticCacheSettings};

#[derive(OpenApi)]
#[openapi(
    paths(get_cache_settings, put_cache_settings, patch_cache_settings),
    components(schemas(
        CacheSettings,
        SemanticCacheSettings,
        CacheSettingsPatch,
        SemanticCacheSettingsPatch,
        CacheStats,
        SemanticCacheStats,
        SemanticStats,
        IdempotencyStats
    ))
)]
pub struct Doc;

/// A JSON merge patch of [`CacheSettings`]: the same fields, each optional, `null` resetting it
/// to its default.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheSettingsPatch {
    pub enabled: Option<bool>,
    #[schema(minimum = 1, maximum = 31536000000_u64)]
    pub ttl_ms: Option<u64>,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_entries: Option<u32>,
    #[schema(minimum = 1024, maximum = 1_073_741_824)]
    pub max_bytes: Option<u64>,
    pub semantic: Option<SemanticCacheSettingsPatch>,
}

/// A JSON merge patch of [`SemanticCacheSettings`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SemanticCacheSettingsPatch {
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}/[^\s\x00-\x1f\x7f-\x9f]{1,256}$")]
    pub embedding_model: Option<String>,
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub threshold: Option<f64>,
    #[schema(minimum = 1, maximum = 100_000)]
    pub max_entries: Option<u32>,
    #[schema(minimum = 1, maximum = 60_000)]
    pub timeout_ms: Option<u64>,
}

/// The response cache settings: on/off, TTL, memory bounds, the semantic cache.
#[utoipa::path(get, path = "/api/settings/cache", tag = "settings", responses((status = 200, body = CacheSettings), ManagementErrors))]
fn get_cache_settings() {}

/// Set the whole document (absent fields take their defaults). Applied to the running cache at
/// once; a new TTL applies to answers stored from then on. An embedding model must name a
/// configured OpenAI-compatible provider (`provider/model`).
#[utoipa::path(put, path = "/api/settings/cache", tag = "settings", request_body = CacheSettings, responses((status = 200, body = CacheSettings), ManagementErrors))]
fn put_cache_settings() {}

/// A JSON merge patch of the document: fields left out keep their value, `null` resets one to
/// its default (`{"semantic": {"embeddingModel": null}}` turns the semantic cache off).
#[utoipa::path(patch, path = "/api/settings/cache", tag = "settings", request_body = CacheSettingsPatch, responses((status = 200, body = CacheSettings), ManagementErrors))]
fn patch_cache_settings() {}
