//! The isolate's one `Gateway`, built on first use from the Worker's bindings and reused by
//! every later request: `OMNIROUTE_CONFIG` (TOML) plus `<PROVIDER>_API_KEY` / `_BASE_URL`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use omniroute_core::bootstrap::ensure_admin_password;
use omniroute_core::config::{FileConfig, declare};
use omniroute_core::ports::ConfigStore;
use omniroute_core::ports::memory::{
    MemoryBackupStore, MemoryCacheStore, MemoryConfigStore, MemoryCooldownStore, MemoryUsageSink,
};
use omniroute_core::{Gateway, GatewayOptions, Ports};
use worker::Env;

use crate::{CryptoEntropy, WaitUntilSpawner, WorkerClock, WorkerHttpClient};

/// The binding holding the config file's text, same format as `omniroute.toml`.
pub const CONFIG_VAR: &str = "OMNIROUTE_CONFIG";

thread_local! {
    static GATEWAY: RefCell<Option<Rc<Gateway>>> = const { RefCell::new(None) };
}

/// Why the gateway could not be built; the message is safe to show a client.
#[derive(Debug)]
pub struct StartError {
    pub code: &'static str,
    pub message: String,
}

/// The isolate's gateway, built on the first request. A failed build is not cached, so fixing a
/// binding takes effect on the next request (a new deployment starts a new isolate anyway).
pub async fn gateway(env: &Env) -> Result<Rc<Gateway>, StartError> {
    if let Some(gateway) = GATEWAY.with(|cell| cell.borrow().clone()) {
        return Ok(gateway);
    }
    let built = Rc::new(build(env).await?);
    // Two first requests can both get here; the first stored wins and both use it.
    Ok(GATEWAY.with(|cell| cell.borrow_mut().get_or_insert(built).clone()))
}

async fn build(env: &Env) -> Result<Gateway, StartError> {
    // `var` reads plain vars and `wrangler secret`s alike: both are strings on `env`.
    let read = |name: &str| env.var(name).ok().map(|value| value.to_string());
    let file = match read(CONFIG_VAR).filter(|text| !text.trim().is_empty()) {
        Some(text) => Some(FileConfig::parse(&text).map_err(|err| {
            worker::console_error!("omniroute: {CONFIG_VAR}: {}", err);
            StartError {
                code: "invalid_config",
                message: format!("{CONFIG_VAR} is not a valid omniroute config; see the Worker's logs"),
            }
        })?),
        None => None,
    };
    // Declaration errors name providers, fields and variable names, never values.
    let declared = declare(file.as_ref(), &read).map_err(|err| StartError {
        code: "invalid_config",
        message: format!("invalid provider configuration: {err}"),
    })?;

    let config = Arc::new(MemoryConfigStore::default());
    config.sync_declared(declared).await.map_err(|err| {
        worker::console_error!("omniroute: config store: {err}");
        StartError { code: "internal_error", message: "the config store could not be initialised".into() }
    })?;
    // One isolate's rows until the Worker writes usage to Turso: the API reads what it has.
    let usage = Arc::new(MemoryUsageSink::default());
    let ports = Ports {
        http: Arc::new(WorkerHttpClient),
        clock: Arc::new(WorkerClock::default()),
        config,
        usage: usage.clone(),
        usage_query: usage,
        cache: Arc::new(MemoryCacheStore::new(|| js_sys::Date::now() as u64)),
        backup: Arc::new(MemoryBackupStore::default()),
        archive: None,
        spawner: Arc::new(WaitUntilSpawner),
        // One isolate's memory until the Worker gets a shared store (Turso).
        cooldowns: Arc::new(MemoryCooldownStore::default()),
        entropy: Arc::new(CryptoEntropy),
        // One isolate's memory until the Worker stores responses in Turso: a conversation
        // continued on another isolate does not find its previous response.
        responses: Arc::new(omniroute_core::ports::memory::MemoryResponseStore::default()),
    };
    let options = file.as_ref().map(GatewayOptions::from_file).unwrap_or_default().with_env(&read);
    let gateway = Gateway::new(ports, options).await.map_err(|err| {
        worker::console_error!("omniroute: loading config: {err}");
        StartError { code: "internal_error", message: "the gateway could not load its config".into() }
    })?;
    // The admin password comes from the INITIAL_PASSWORD secret; a generated one is never
    // printed here (Worker logs are shipped), so the management API needs that secret.
    ensure_admin_password(&gateway, read("INITIAL_PASSWORD").as_deref()).await.map_err(|err| {
        worker::console_error!("omniroute: admin password: {err}");
        StartError { code: "invalid_config", message: err.to_string() }
    })?;
    Ok(gateway)
}
