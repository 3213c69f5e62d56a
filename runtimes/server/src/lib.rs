//! omniroute-server: the self-hosted runtime. Native ports (reqwest, tokio, libSQL), settings
//! from CLI/env/file, connections served within the client limits, the HTTP adapter around
//! `Gateway::handle`, and graceful shutdown.
//! The Lambda runtime reuses the ports and bootstrap from here.

pub mod bootstrap;
pub mod clock;
pub mod connections;
pub mod http_adapter;
pub mod http_client;
pub mod lifecycle;
pub mod logging;
pub mod serve;
pub mod settings;
pub mod spawner;

pub use bootstrap::{Bootstrapped, StartError, bootstrap};
pub use serve::{RunningServer, start};
pub use settings::Settings;
