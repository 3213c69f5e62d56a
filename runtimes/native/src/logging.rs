//! Structured logs via `tracing`: human-readable by default, JSON with `OMNIROUTE_LOG_FORMAT=json`,
//! level from `RUST_LOG` (default `info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("OMNIROUTE_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    // Colour codes only for a person at a terminal, never into files or log collectors.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // A second init (tests start several servers in one process) is harmless; ignore it.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
