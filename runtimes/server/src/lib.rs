//! omniroute-server: the self-hosted runtime. Settings from CLI/env/file, connections served
//! within the client limits, the HTTP adapter around `Gateway::handle`, the background work
//! between requests, and graceful shutdown. The ports, the upstream HTTP client, start-up on
//! libSQL and logging come from `omniroute-native`, which the Lambda runtime shares.

pub mod bootstrap;
pub mod connections;
pub mod http_adapter;
pub mod lifecycle;
pub mod serve;
pub mod settings;

pub use bootstrap::{StartError, bootstrap};
pub use omniroute_native::Bootstrapped;
pub use serve::{RunningServer, start};
pub use settings::Settings;
