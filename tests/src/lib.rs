//! omniroute-tests: end-to-end harness. A mock OpenAI upstream on loopback, helpers that start
//! the real gateway (in-process, as the `omniroute` binary, under Lambda and Wrangler), and the
//! paths of the tools the README's test command installs.

pub mod clients;
pub mod gateway;
pub mod mock_upstream;
pub mod sdk;
pub mod sse;
pub mod tools;
