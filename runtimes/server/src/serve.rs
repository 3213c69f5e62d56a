//! Serving: bind, answer within the client limits (`connections`), flush usage every second,
//! pick up config changes, re-read per-key spend (budgets), prune usage past its retention and
//! discover providers' models (at start, then periodically) off the request path, and on shutdown (a signal, or `POST /api/shutdown` / `/api/restart`)
//! stop accepting, let in-flight requests (streams too) finish within the grace period, then
//! flush the usage buffer.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use omniroute_core::ports::{LifecycleAction, UsageSink};
use omniroute_native::Bootstrapped;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::bootstrap::{StartError, bootstrap};
use crate::connections::{self, events::ConnectionEvents, limits::ClientLimits};
use crate::http_adapter::Adapter;
use crate::lifecycle::ServerControls;
use crate::settings::Settings;

const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The stored config version is read this often (one small query); when another instance on the
/// same database (or this one) changed it, the snapshot is reloaded. This is the bound on how
/// long a key, provider or combo change made elsewhere takes to apply here (docs/consistency.md).
pub const REFRESH_EVERY: Duration = Duration::from_millis(omniroute_core::gateway::catch_up::CATCH_UP_EVERY_MS);
/// How soon a provider added over the API has its models discovered (a snapshot read when
/// nothing is new).
const NEW_PROVIDER_CHECK: Duration = Duration::from_secs(2);

/// A server started in the background (tests, embedding).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub booted: Arc<Bootstrapped>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Triggers graceful shutdown and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds and serves in a background task until `shutdown`.
pub async fn start(settings: Settings, env: &dyn Fn(&str) -> Option<String>) -> Result<RunningServer, StartError> {
    let booted = Arc::new(bootstrap(&settings, env).await?);
    let listener = bind(&settings).await?;
    let addr =
        listener.local_addr().map_err(|e| StartError::Bind { addr: settings.host.clone(), message: e.to_string() })?;
    let (tx, rx) = oneshot::channel();
    let grace = settings.shutdown_grace;
    let serving = booted.clone();
    let every = Intervals::from(&settings);
    let limits = settings.clients;
    // The server's own lifetime task, joined by `shutdown`, not request work for the Spawner.
    #[allow(clippy::disallowed_methods)]
    let task = tokio::spawn(async move {
        // Embedded: a shutdown over the API stops this server; only the binary restarts itself.
        serve(
            listener,
            serving,
            grace,
            every,
            limits,
            async {
                let _ = rx.await;
            },
            false,
        )
        .await;
    });
    Ok(RunningServer { addr, booted, shutdown: Some(tx), task })
}

/// Binds `host:port`.
pub async fn bind(settings: &Settings) -> Result<TcpListener, StartError> {
    let addr = format!("{}:{}", settings.host, settings.port);
    TcpListener::bind(&addr).await.map_err(|e| StartError::Bind { addr, message: e.to_string() })
}

/// How often the background work runs.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Deleting usage rows past the retention setting.
    pub usage_prune: Duration,
    /// Model discovery after the one at start (`None`: only that one).
    pub model_discovery: Option<Duration>,
}

impl From<&Settings> for Intervals {
    fn from(settings: &Settings) -> Self {
        Intervals { usage_prune: settings.usage_prune_every, model_discovery: settings.model_discovery_every }
    }
}

/// Serves until `signal` completes or the management API asks, then shuts down gracefully.
/// Returns what the API asked for, if anything (`Restart`: the caller starts again).
pub async fn serve(
    listener: TcpListener,
    booted: Arc<Bootstrapped>,
    grace: Duration,
    every: Intervals,
    limits: ClientLimits,
    signal: impl Future<Output = ()> + Send + 'static,
    restartable: bool,
) -> Option<LifecycleAction> {
    let (controls, mut asked) = ServerControls::new(restartable);
    let answer = asked.clone();
    booted.gateway.set_lifecycle(Arc::new(controls));
    let stop = async move {
        tokio::select! {
            () = signal => {}
            _ = asked.wait_for(Option::is_some) => {}
        }
    };
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "omniroute listening (OpenAI-compatible: POST /v1/chat/completions, GET /v1/models)");
    }
    // Aborted below once serving stops; the final flush happens after it.
    #[allow(clippy::disallowed_methods)]
    let background = tokio::spawn(background_work(booted.clone(), every));
    #[allow(clippy::disallowed_methods)]
    let discovery = tokio::spawn(discover_models(booted.clone(), every.model_discovery));
    // Its own task: a slow upload never holds up the usage flush or the config refresh.
    #[allow(clippy::disallowed_methods)]
    let backups = tokio::spawn(scheduled_backups(booted.clone()));
    let (signalled_tx, signalled_rx) = oneshot::channel::<()>();
    tracing::info!(
        header_timeout = ?limits.header_timeout,
        body_idle_timeout = ?limits.body_idle_timeout,
        body_timeout = ?limits.body_timeout,
        max_connections_per_ip = limits.max_connections_per_ip,
        "client limits"
    );
    let adapter =
        Arc::new(Adapter { gateway: booted.gateway.clone(), limits, events: Arc::new(ConnectionEvents::default()) });
    let server = connections::serve(listener, adapter, async move {
        stop.await;
        tracing::info!("shutting down: no new connections; waiting for in-flight requests");
        let _ = signalled_tx.send(());
    });
    let bounded = async {
        if signalled_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = server => {},
        () = bounded => {
            tracing::warn!(grace_secs = grace.as_secs(), "grace period over; ending the streams still open");
            // Each open stream ends with its client's error event and records its usage (before
            // the flush below); a moment lets the connections write those last bytes.
            booted.gateway.closing.fire();
            tokio::time::sleep(CLOSING_WRITE_TIME).await;
        }
    }
    background.abort();
    backups.abort();
    discovery.abort();
    // Wait until they are gone: an aborted task drops its handle on the database only when
    // polled again, and a restart must not find the old one mid-write.
    let _ = background.await;
    let _ = discovery.await;
    let _ = backups.await;
    booted.spawner.drain().await;
    booted.usage.flush().await;
    tracing::info!(dropped_usage_rows = booted.usage.dropped(), "usage flushed; bye");
    *answer.borrow()
}

/// How long the connections get to write the error event of the streams ended at the close.
const CLOSING_WRITE_TIME: Duration = Duration::from_millis(250);

/// Cooldowns reach the store (and other instances' reach us) this often.
const COOLDOWN_SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// Per-key spend is re-read from the store this often (other instances' spend counts too). On a
/// shared (remote) database other instances spend too, so it is re-read more often there.
const BUDGET_SYNC_EVERY: Duration = Duration::from_secs(60);
pub const SHARED_BUDGET_SYNC_EVERY: Duration = Duration::from_secs(5);

/// Periodic usage flush, config refresh, cooldown sharing, budget re-reads and usage pruning,
/// one at a time (so a prune never runs beside a flush).
async fn background_work(booted: Arc<Bootstrapped>, every: Intervals) {
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut refresh = tokio::time::interval(REFRESH_EVERY);
    let mut cooldowns = tokio::time::interval(COOLDOWN_SYNC_EVERY);
    let shared = booted.gateway.store_is_shared();
    let mut budgets = tokio::time::interval(if shared { SHARED_BUDGET_SYNC_EVERY } else { BUDGET_SYNC_EVERY });
    // The gateway read spend at start; the first tick of an interval is immediate.
    budgets.tick().await;
    let mut prune = tokio::time::interval(every.usage_prune);
    loop {
        tokio::select! {
            _ = budgets.tick() => if let Err(e) = booted.gateway.load_usage_state().await {
                tracing::warn!(error = %e, "re-reading per-key spend failed; budgets keep their in-memory count");
            },
            _ = prune.tick() => if let Err(e) = booted.gateway.prune_usage().await {
                tracing::warn!(error = %e, "pruning old usage rows failed; trying again later");
            },
            _ = flush.tick() => booted.usage.flush().await,
            () = booted.usage.batch_ready() => booted.usage.flush().await,
            _ = refresh.tick() => match booted.gateway.refresh().await {
                Ok(true) => tracing::info!("config changed; snapshot reloaded"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "config refresh failed; keeping the current snapshot"),
            },
            _ = cooldowns.tick() => if let Err(e) = booted.gateway.share_cooldowns().await {
                tracing::warn!(error = %e, "sharing cooldowns with the store failed");
            },
        }
    }
}

/// Model discovery at start, then every `every`, and for a provider that becomes discoverable
/// in between (added over the API) within `NEW_PROVIDER_CHECK`: a task of its own, since a
/// round may wait on slow upstreams (up to the probe time limit) and must not hold up the flush
/// and refresh above.
async fn discover_models(booted: Arc<Bootstrapped>, every: Option<Duration>) {
    use omniroute_core::admin::model_discovery::{discover_all, discover_new, discoverable};
    let gateway = &booted.gateway;
    let mut next_round = Some(tokio::time::Instant::now());
    let mut seen = std::collections::BTreeSet::new();
    loop {
        if next_round.is_some_and(|at| tokio::time::Instant::now() >= at) {
            seen.extend(discoverable(gateway));
            let answered = discover_all(gateway).await;
            tracing::debug!(answered, "model discovery round done");
            next_round = every.map(|every| tokio::time::Instant::now() + every);
        } else {
            discover_new(gateway, &mut seen).await;
        }
        tokio::time::sleep(NEW_PROVIDER_CHECK).await;
    }
}

/// `[backup] every`: a backup each period (the first one a period after start), then the
/// newest `keep` kept. A failed run is logged and tried again at the next period.
async fn scheduled_backups(booted: Arc<Bootstrapped>) {
    let Some(every) = booted.backup.every else { return };
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer.tick().await;
    loop {
        timer.tick().await;
        match omniroute_core::admin::backups::scheduled(&booted.gateway, booted.backup.keep).await {
            Ok(backup) => tracing::info!(name = %backup.name, size = backup.size, "scheduled backup taken"),
            Err(e) => tracing::warn!(error = %e.client_message(), "scheduled backup failed; trying again next period"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn os_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
