//! The `omniroute` binary: parse settings, start the gateway, serve until SIGINT/SIGTERM or
//! `POST /api/shutdown`; after `POST /api/restart`, start again as the same command.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use omniroute_core::ports::LifecycleAction;
use omniroute_native::logging;
use omniroute_server::settings::{Cli, Settings};
use omniroute_server::{bootstrap, lifecycle, serve};

// Measured faster than the system allocator on the request path (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    logging::init();
    let runtime = match runtime_builder().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run());
    // Everything is flushed and closed by now; nothing left may hold the port or the database.
    runtime.shutdown_timeout(Duration::from_secs(5));
    match outcome {
        Err(()) => ExitCode::FAILURE,
        Ok(Some(LifecycleAction::Restart)) => {
            tracing::info!("restarting");
            let error = lifecycle::reexec();
            tracing::error!(error = %error, "could not restart; start omniroute again by hand");
            ExitCode::FAILURE
        }
        Ok(_) => ExitCode::SUCCESS,
    }
}

/// A single-threaded runtime when the process may use one core (a container's CPU limit,
/// `taskset`): a multi-threaded one there only adds cross-thread wake-ups (BENCHMARKS.md);
/// one worker per core otherwise.
fn runtime_builder() -> tokio::runtime::Builder {
    match std::thread::available_parallelism() {
        Ok(cores) if cores.get() == 1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
}

/// Serves once; what the management API asked for when it ended.
async fn run() -> Result<Option<LifecycleAction>, ()> {
    let env = |key: &str| std::env::var(key).ok();
    let started = async {
        let settings = Settings::from_cli(Cli::parse())?;
        if let Some(path) = &settings.config_path {
            tracing::info!(config = %path.display(), "reading config file");
        }
        let booted = bootstrap(&settings, &env).await?;
        release_free_memory();
        let listener = serve::bind(&settings).await?;
        Ok::<_, omniroute_server::StartError>((settings, booted, listener))
    };
    match started.await {
        Ok((settings, booted, listener)) => {
            let every = serve::Intervals::from(&settings);
            let (grace, limits) = (settings.shutdown_grace, settings.clients);
            Ok(serve::serve(listener, Arc::new(booted), grace, every, limits, serve::os_signal(), true).await)
        }
        Err(e) => {
            tracing::error!(error = %e, "omniroute could not start");
            Err(())
        }
    }
}

/// Gives the allocator's free pages back to the OS. A first start hashes the admin password
/// with Argon2id, whose 19 MiB of working memory mimalloc would otherwise keep until its next
/// purge, which an idle server never reaches (idle RSS 31 MB, 12 MB with this: BENCHMARKS.md).
#[allow(unsafe_code)]
fn release_free_memory() {
    // SAFETY: mi_collect takes no arguments to trust; it only walks mimalloc's own heaps.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
