//! Documentation of the routing config: model aliases, combos (and their test) and the model
//! catalog.
#![allow(dead_code)]

use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::common::ManagementErrors;
use crate::admin::aliases_api::{AliasDeleted, AliasInput, AliasList, AliasView};
use crate::admin::catalog_api::{ComboModelEntry, ModelCatalog, ModelEntry, Pricing, ProviderModels};
use crate::admin::combo_test::{ComboTestReport, TargetResult};
use crate::admin::combos_api::{
    ComboConfig, ComboDeleted, ComboInput, ComboList, ComboModel, ComboModelInput, ComboView,
};
use crate::admin::json::ErrorBody;

/// A JSON merge patch of a combo: fields given replace (`models` as a whole), `config` merges,
/// `null` resets a field to its default.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComboPatch {
    pub name: Option<String>,
    pub strategy: Option<crate::config::policy::ComboStrategy>,
    pub models: Option<Vec<ComboModelInput>>,
    pub config: Option<ComboConfigPatch>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComboConfigPatch {
    pub retries: Option<u32>,
    pub retry_delay_ms: Option<u64>,
    pub attempt_timeout_ms: Option<u64>,
    pub first_byte_ms: Option<u64>,
    pub idle_ms: Option<u64>,
    pub total_ms: Option<u64>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_aliases,
        create_alias,
        put_alias,
        delete_alias_by_query,
        delete_alias,
        model_catalog,
        list_combos,
        create_combo,
        get_combo,
        replace_combo,
        patch_combo,
        delete_combo,
        test_combo
    ),
    components(schemas(
        AliasView,
        AliasList,
        AliasInput,
        AliasDeleted,
        ModelCatalog,
        ProviderModels,
        ModelEntry,
        Pricing,
        ComboModelEntry,
        ComboView,
        ComboModel,
        ComboModelInput,
        ComboConfig,
        ComboInput,
        crate::config::policy::ComboStrategy,
        ComboPatch,
        ComboConfigPatch,
        ComboList,
        ComboDeleted,
        ComboTestReport,
        TargetResult
    ))
)]
pub struct Doc;

/// Every model alias, in resolution order (an exact alias beats any glob; among globs the
/// first listed wins), and as an `alias → model` map.
#[utoipa::path(get, path = "/api/models/alias", tag = "routing", responses((status = 200, body = AliasList), ManagementErrors))]
fn list_aliases() {}

/// Create an alias, or replace the one with this name (201 when new, 200 when replaced). The
/// model must name a configured or catalog provider, or a combo; the config file's aliases are
/// read-only (409).
#[utoipa::path(post, path = "/api/models/alias", tag = "routing", request_body = AliasInput,
    responses((status = 200, body = AliasView), (status = 201, body = AliasView), (status = 409, body = ErrorBody), ManagementErrors))]
fn create_alias() {}

/// Same as `POST`.
#[utoipa::path(put, path = "/api/models/alias", tag = "routing", request_body = AliasInput,
    responses((status = 200, body = AliasView), (status = 201, body = AliasView), (status = 409, body = ErrorBody), ManagementErrors))]
fn put_alias() {}

/// Delete the alias `?alias=` names.
#[utoipa::path(delete, path = "/api/models/alias", tag = "routing", params(("alias" = String, Query, description = "The alias (percent-encoded)")),
    responses((status = 200, body = AliasDeleted), (status = 409, body = ErrorBody), ManagementErrors))]
fn delete_alias_by_query() {}

/// Delete one alias.
#[utoipa::path(delete, path = "/api/models/alias/{alias}", tag = "routing", params(("alias" = String, Path, description = "The alias (percent-encoded)")),
    responses((status = 200, body = AliasDeleted), (status = 409, body = ErrorBody), ManagementErrors))]
fn delete_alias() {}

/// Every model the gateway knows, by provider (configured or not), with capabilities, context
/// and prices; and the combos.
#[utoipa::path(get, path = "/api/models/catalog", tag = "routing", responses((status = 200, body = ModelCatalog), ManagementErrors))]
fn model_catalog() {}

/// Every combo, in stored order.
#[utoipa::path(get, path = "/api/combos", tag = "routing", responses((status = 200, body = ComboList), ManagementErrors))]
fn list_combos() {}

/// Create a combo (`name` and `models` required; 409 when the name is taken).
#[utoipa::path(post, path = "/api/combos", tag = "routing", request_body = ComboInput,
    responses((status = 201, body = ComboView), (status = 409, body = ErrorBody), ManagementErrors))]
fn create_combo() {}

/// One combo.
#[utoipa::path(get, path = "/api/combos/{id}", tag = "routing", params(("id" = String, Path, description = "The combo's name")),
    responses((status = 200, body = ComboView), ManagementErrors))]
fn get_combo() {}

/// Replace a combo (absent fields take their defaults; another `name` renames it).
#[utoipa::path(put, path = "/api/combos/{id}", tag = "routing", params(("id" = String, Path)), request_body = ComboInput,
    responses((status = 200, body = ComboView), (status = 409, body = ErrorBody), ManagementErrors))]
fn replace_combo() {}

/// Change a combo: a JSON merge patch of its fields (`null` resets one).
#[utoipa::path(patch, path = "/api/combos/{id}", tag = "routing", params(("id" = String, Path)), request_body = ComboPatch,
    responses((status = 200, body = ComboView), (status = 409, body = ErrorBody), ManagementErrors))]
fn patch_combo() {}

/// Delete a combo (409 while an alias, another combo or the default model names it).
#[utoipa::path(delete, path = "/api/combos/{id}", tag = "routing", params(("id" = String, Path)),
    responses((status = 200, body = ComboDeleted), (status = 409, body = ErrorBody), ManagementErrors))]
fn delete_combo() {}

/// Send a real, minimal chat request to each of the combo's targets (nested combos expanded)
/// and report each one's status, latency and error.
#[utoipa::path(post, path = "/api/combos/{id}/test", tag = "routing", params(("id" = String, Path)),
    responses((status = 200, body = ComboTestReport), ManagementErrors))]
fn test_combo() {}
