//! omniroute-tests: end-to-end harness. Mock upstreams speaking every provider format on
//! loopback, the official SDK scripts that check them and the gateway, helpers that start the
//! real gateway (in-process, as the `omniroute` binary, under Lambda and Wrangler), and the
//! paths of the tools the README's test command installs; the real coding agents (`agents`);
//! a real sqld for the remote store (`sqld`); SeaweedFS as the S3 of the backup tests (`seaweed`,
//! `backup_support`); and the benchmark harness (`bench`).

pub mod agents;
pub mod backup_support;
pub mod bench;
pub mod clients;
pub mod eventually;
pub mod forward_proxy;
pub mod gateway;
pub mod log_capture;
pub mod mock_upstream;
pub mod sdk;
pub mod seaweed;
pub mod sqld;
pub mod sse;
pub mod tools;
pub mod wrangler;
