//! omniroute-core: the whole gateway as sans-IO logic behind ports.
//! Runtimes convert their request type, supply the ports and call [`Gateway::handle`].

pub mod admin;
pub mod auth;
pub mod body;
pub mod cache;
pub mod config;
pub mod error;
pub mod formats;
pub mod hub;
pub mod maybe_send;
pub mod percent;
pub mod pipeline;
pub mod ports;
pub mod providers;
pub mod rewrite;
pub mod routing;
pub mod telemetry;
pub mod time;
pub mod usage;

pub use body::{Body, BodyError};
pub use pipeline::{Gateway, GatewayOptions};
pub use ports::Ports;
