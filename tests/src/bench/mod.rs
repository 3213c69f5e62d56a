//! The benchmark harness of issue 7: a fast mock upstream, a load driver that measures latency,
//! time to first byte and per-chunk delay, the references (mock direct, nginx `proxy_pass`),
//! the gateway under test pinned to one core, and the scenarios a–g compared in one run.
//!
//! `scripts/bench` runs it in release; `tests/tests/bench_smoke.rs` runs a few seconds of it in
//! CI to prove it works. Figures are never asserted: they go to `BENCHMARKS.md` by hand.

pub mod gateway;
pub mod load;
pub mod mock;
pub mod nginx;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod shared_db;
pub mod wire;
