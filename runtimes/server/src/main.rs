//! The `omniroute` binary: parse settings, start the gateway, serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use omniroute_server::settings::{Cli, Settings};
use omniroute_server::{bootstrap, logging, serve};

// Measured faster than the system allocator on the request path (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    logging::init();
    let env = |key: &str| std::env::var(key).ok();
    let started = async {
        let settings = Settings::from_cli(Cli::parse())?;
        if let Some(path) = &settings.config_path {
            tracing::info!(config = %path.display(), "reading config file");
        }
        let booted = bootstrap(&settings, &env).await?;
        let listener = serve::bind(&settings).await?;
        Ok::<_, omniroute_server::StartError>((settings, booted, listener))
    };
    match started.await {
        Ok((settings, booted, listener)) => {
            serve::serve(listener, Arc::new(booted), settings.shutdown_grace, serve::os_signal()).await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "omniroute could not start");
            ExitCode::FAILURE
        }
    }
}
