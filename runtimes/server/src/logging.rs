//! Structured logs via `tracing`: human-readable by default, JSON with `OMNIROUTE_LOG_FORMAT=json`,
//! level from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("OMNIROUTE_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests start several servers in one process) is harmless; ignore it.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
