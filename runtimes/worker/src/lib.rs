#![cfg(target_arch = "wasm32")]
//! omniroute as a Cloudflare Worker: `#[event(fetch)]` hands every request to the core's
//! `Gateway::handle`, with ports built on `fetch`, `Date.now`/`setTimeout` and `ctx.waitUntil`.
//!
//! Config is seeded from the Worker's bindings (`OMNIROUTE_CONFIG` TOML plus the catalog's
//! `<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL`), once per isolate, into the shared libSQL
//! database when `OMNIROUTE_DATABASE_URL` names one (Turso over `fetch`), else into the
//! isolate's memory, read-only over the management API.
//! Build with `worker-build --release` (wrangler.toml runs it); this crate is wasm32 only.

mod clock;
mod convert;
mod entropy;
mod entry;
mod error;
mod gateway;
mod http_client;
mod spawner;
mod usage_flush;

pub use clock::WorkerClock;
pub use entropy::CryptoEntropy;
pub use http_client::WorkerHttpClient;
pub use spawner::WaitUntilSpawner;
