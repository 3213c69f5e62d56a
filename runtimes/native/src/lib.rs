//! omniroute-native: what the native runtimes share. It is a library, not a runtime: it serves
//! nothing and has no binary. `omniroute-server` (a long-running process) and
//! `omniroute-lambda` (one sandbox per function instance) both depend on it, and on no other
//! runtime crate, so the Lambda does not pull the server's listener, axum or clap.
//!
//! Here: the core's ports on tokio (`clock`, `spawner`), the upstream HTTP client
//! (`http_client`: hyper direct, reqwest through a proxy), the settings every native runtime
//! reads the same way (`settings`), start-up on libSQL (`bootstrap`: database, secret key,
//! ports, `Gateway::new`, the admin password) and logging (`logging`). How requests arrive,
//! and what runs between them, stays with each runtime.

pub mod bootstrap;
pub mod clock;
pub mod http_client;
pub mod logging;
pub mod settings;
pub mod spawner;

pub use bootstrap::{Bootstrapped, StartError, bootstrap};
pub use settings::NativeSettings;
