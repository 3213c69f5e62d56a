//! The isolate's one `Gateway`, built on first use from the Worker's bindings and reused by
//! every later request: `OMNIROUTE_CONFIG` (TOML) plus `<PROVIDER>_API_KEY` / `_BASE_URL`.
//!
//! With `OMNIROUTE_DATABASE_URL` (or `TURSO_DATABASE_URL`, or `[database] url`) the stores are
//! the shared libSQL database over Hrana (`omniroute-storage`, through `fetch`): keys, config,
//! usage and cooldowns persist and every isolate, server and Lambda on that database sees them.
//! Without one the config lives in the isolate's memory and is read-only over the management API
//! (a write there would be forgotten when the isolate is recycled).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use omniroute_core::bootstrap::ensure_admin_password;
use omniroute_core::config::{FileConfig, RemoteDatabase, declare, remote_database};
use omniroute_core::ports::memory::{
    MemoryBackupStore, MemoryCacheStore, MemoryConfigStore, MemoryCooldownStore, MemoryResponseStore, MemoryUsageSink,
};
use omniroute_core::ports::{Clock, ConfigStore, CooldownStore, HttpClient, ResponseStore, UsageQuery, UsageSink};
use omniroute_core::{Gateway, GatewayOptions, Ports};
use omniroute_storage::{Database, LibsqlStores, SecretBox};
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

    let http: Arc<dyn HttpClient> = Arc::new(WorkerHttpClient);
    let clock: Arc<dyn Clock> = Arc::new(WorkerClock::default());
    let stores = match remote_database(file.as_ref().map(|f| &f.database), &read) {
        Some(remote) => shared_stores(&remote, read("OMNIROUTE_SECRET"), http.clone(), clock.clone()).await?,
        None => memory_stores(),
    };
    stores.config.sync_declared(declared).await.map_err(|err| {
        worker::console_error!("omniroute: config store: {err}");
        StartError { code: "internal_error", message: "the config store could not be initialised".into() }
    })?;
    let ports = Ports {
        http,
        clock,
        config: stores.config,
        usage: stores.usage,
        usage_query: stores.usage_query,
        cache: Arc::new(MemoryCacheStore::new(|| js_sys::Date::now() as u64)),
        backup: Arc::new(MemoryBackupStore::default()),
        archive: None,
        spawner: Arc::new(WaitUntilSpawner),
        cooldowns: stores.cooldowns,
        entropy: Arc::new(CryptoEntropy),
        responses: stores.responses,
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

/// The stores a gateway keeps its state in.
struct Stores {
    config: Arc<dyn ConfigStore>,
    usage: Arc<dyn UsageSink>,
    usage_query: Arc<dyn UsageQuery>,
    cooldowns: Arc<dyn CooldownStore>,
    responses: Arc<dyn ResponseStore>,
}

/// Usage rows an isolate holds at most before new ones are counted as dropped (a Worker's
/// memory is 128 MB; rows wait only until the request's `waitUntil` writes them).
const USAGE_BUFFER_ROWS: usize = 10_000;

/// The shared database: migrations applied (once, whoever starts first), the secret checked
/// against the provider keys other instances sealed.
async fn shared_stores(
    remote: &RemoteDatabase,
    secret: Option<String>,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
) -> Result<Stores, StartError> {
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return Err(StartError {
            code: "invalid_config",
            message: "OMNIROUTE_SECRET must be set with a database (wrangler secret put OMNIROUTE_SECRET): every instance sharing it needs the same secret to read the stored provider keys".into(),
        });
    };
    // The message names the database by scheme, host and port only, never the token.
    let db = Database::open_remote(&remote.url, &remote.auth_token, http, clock).await.map_err(|err| {
        worker::console_error!("omniroute: {err}");
        StartError { code: "store_unavailable", message: err.to_string() }
    })?;
    let stores = LibsqlStores::new(db, SecretBox::from_passphrase(&secret), USAGE_BUFFER_ROWS);
    stores.config.check_secret().await.map_err(|err| StartError { code: "invalid_config", message: err.0 })?;
    Ok(Stores {
        config: stores.config,
        usage: stores.usage,
        usage_query: stores.usage_query,
        cooldowns: stores.cooldowns,
        responses: stores.responses,
    })
}

/// No database: one isolate's memory, and a management API that says it cannot keep changes.
fn memory_stores() -> Stores {
    let usage = Arc::new(MemoryUsageSink::default());
    Stores {
        config: Arc::new(MemoryConfigStore::read_only(
            "this Worker has no database, so the management API is read-only (a change would be forgotten when the isolate is recycled); set OMNIROUTE_DATABASE_URL and OMNIROUTE_DATABASE_AUTH_TOKEN to a Turso or libSQL database",
        )),
        usage: usage.clone(),
        usage_query: usage,
        cooldowns: Arc::new(MemoryCooldownStore::default()),
        responses: Arc::new(MemoryResponseStore::default()),
    }
}
