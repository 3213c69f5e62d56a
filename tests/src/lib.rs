//! omniroute-tests: end-to-end harness. A mock OpenAI upstream on loopback, helpers that start
//! the real gateway (in-process, as the `omniroute` binary, under Lambda and Wrangler), and the
//! paths of the tools the README's test command installs.

// A test harness fails loudly: unwrap/expect/panic are how it reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Native-only test code: real time and bare tokio tasks are fine here.
#![allow(clippy::disallowed_methods)]

pub mod gateway;
pub mod mock_upstream;
pub mod sdk;
pub mod sse;
pub mod tools;
