//! The management API (`/api/*` besides Ollama's paths, and `/metrics`): keys, login,
//! providers and their accounts, models and probes, the outbound proxy, aliases, combos, the
//! model catalog, settings, system controls, audit log, usage, budgets, pricing, routing state,
//! telemetry, the cache, database backups. Each endpoint is a row of `routes::table` whose handler is a function
//! here; every write goes through [`commit::commit`] (validated, audited, snapshot reloaded).

pub mod aliases_api;
pub mod audit_api;
pub mod auth_api;
pub mod backup_export;
pub mod backups;
pub mod backups_api;
pub mod budget_api;
pub mod cache_api;
pub mod cache_settings_api;
pub mod catalog_api;
pub mod combo_test;
pub mod combos_api;
pub mod commit;
pub mod connections;
pub mod json;
pub mod keys;
pub mod model_discovery;
pub mod pricing_api;
pub mod provider_models;
pub mod provider_nodes;
pub mod provider_probe;
pub mod provider_rows;
pub mod provider_validate;
pub mod proxy_api;
pub mod query;
pub mod resilience_api;
pub mod settings_api;
pub mod settings_docs_api;
pub mod sync_api;
pub mod system_api;
pub mod targets;
pub mod telemetry_api;
pub mod usage_api;
pub mod usage_settings_api;
pub mod usage_views;
