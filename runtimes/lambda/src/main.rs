//! The `omniroute-lambda` binary (the `bootstrap` of a `provided.al2023` function): read the
//! settings, bootstrap the gateway once at cold start, then serve streamed invocations.

use std::process::ExitCode;

use omniroute_lambda::{handler, settings};
use omniroute_native::{bootstrap, logging};

#[tokio::main]
async fn main() -> ExitCode {
    logging::init();
    let env = |key: &str| std::env::var(key).ok();
    let started = async {
        let settings = settings::from_env(&env)?;
        tracing::info!(data_dir = %settings.data_dir.display(), "omniroute-lambda cold start");
        bootstrap(&settings, &env).await
    };
    let handler = match started.await {
        Ok(booted) => {
            // Lambda has no background loop: usage past its retention goes once per cold start.
            if let Err(e) = booted.gateway.prune_usage().await {
                tracing::warn!(error = %e, "pruning old usage rows failed");
            }
            Some(handler::LambdaHandler::new(&booted))
        }
        Err(e) => {
            tracing::error!(error = %e, "omniroute could not start; every invocation will answer 500");
            None
        }
    };
    match handler::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the Lambda runtime loop failed");
            ExitCode::FAILURE
        }
    }
}
