//! A gateway over in-memory ports for unit tests of gateway-level behaviour (no upstream: every
//! HTTP call fails to connect).

use std::sync::Arc;

use bytes::Bytes;

use crate::body::Body;
use crate::config::GatewayOptions;
use crate::gateway::Gateway;
use crate::maybe_send::BoxFuture;
use crate::ports::entropy::OsEntropy;
use crate::ports::memory::{
    ManualClock, MemoryBackupStore, MemoryCacheStore, MemoryConfigStore, MemoryCooldownStore, MemoryResponseStore,
    MemoryUsageSink,
};
use crate::ports::{HttpClient, HttpError, Ports, Spawner};

struct NoUpstream;

impl HttpClient for NoUpstream {
    fn send(&self, _: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        Box::pin(async { Err(HttpError::Connect("no upstream in unit tests".into())) })
    }
}

struct Inline;

impl Spawner for Inline {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        futures_executor::block_on(task);
    }
}

/// The memory stores a test gateway uses, to look into.
pub struct TestPorts {
    pub config: Arc<MemoryConfigStore>,
    pub usage: Arc<MemoryUsageSink>,
    pub clock: Arc<ManualClock>,
    pub responses: Arc<MemoryResponseStore>,
}

/// A gateway at `now_ms` on a manual clock, with empty memory stores.
pub fn memory_gateway(now_ms: u64) -> (Gateway, TestPorts) {
    let config = Arc::new(MemoryConfigStore::default());
    let usage = Arc::new(MemoryUsageSink::default());
    let clock = Arc::new(ManualClock::new(now_ms));
    let cache_clock = clock.clone();
    let responses = Arc::new(MemoryResponseStore::default());
    let ports = Ports {
        http: Arc::new(NoUpstream),
        clock: clock.clone(),
        config: config.clone(),
        usage: usage.clone(),
        usage_query: usage.clone(),
        cache: Arc::new(MemoryCacheStore::new(move || crate::ports::Clock::now_unix_ms(cache_clock.as_ref()))),
        backup: Arc::new(MemoryBackupStore::default()),
        archive: None,
        spawner: Arc::new(Inline),
        cooldowns: Arc::new(MemoryCooldownStore::default()),
        entropy: Arc::new(OsEntropy),
        responses: responses.clone(),
    };
    let gateway = futures_executor::block_on(Gateway::new(ports, GatewayOptions::default())).expect("memory gateway");
    (gateway, TestPorts { config, usage, clock, responses })
}
