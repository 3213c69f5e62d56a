//! omniroute-core: the whole gateway as sans-IO logic behind ports.
//! Runtimes convert their request type, supply the ports and call [`Gateway::handle`].

pub mod admin;
pub mod auth;
pub mod body;
pub mod bootstrap;
pub mod cache;
pub mod config;
pub mod error;
pub mod formats;
pub mod gateway;
pub mod hub;
pub mod maybe_send;
pub mod percent;
pub mod pipeline;
pub mod ports;
pub mod providers;
pub mod render;
pub mod rewrite;
pub mod routes;
pub mod routing;
pub mod snapshot;
pub mod telemetry;
pub mod time;
pub mod usage;

pub use body::{Body, BodyError};
pub use config::GatewayOptions;
pub use gateway::Gateway;
pub use ports::Ports;
