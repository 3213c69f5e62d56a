//! The proxy setting against the HttpClient port: refused where the runtime has no proxy
//! support (as on Workers), handed to the client on the next refresh where it has.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_executor::block_on;
use serde_json::{Value, json};

use crate::body::Body;
use crate::config::ConfigChange;
use crate::config::GatewayOptions;
use crate::gateway::Gateway;
use crate::maybe_send::{BoxFuture, boxed};
use crate::ports::entropy::OsEntropy;
use crate::ports::memory::{
    ManualClock, MemoryBackupStore, MemoryCacheStore, MemoryConfigStore, MemoryCooldownStore, MemoryUsageSink,
};
use crate::ports::{ConfigStore, HttpClient, HttpError, OutboundProxy, Ports, ProxyError, Spawner};

/// Never called: these tests make no upstream call.
struct NoNetwork {
    proxies: Option<Arc<Mutex<Vec<Option<OutboundProxy>>>>>,
}

impl HttpClient for NoNetwork {
    fn send(&self, _request: http::Request<Bytes>) -> BoxFuture<'_, Result<http::Response<Body>, HttpError>> {
        boxed(async { Err(HttpError::Connect("no network in this test".into())) })
    }

    fn proxy_supported(&self) -> bool {
        self.proxies.is_some()
    }

    fn set_proxy(&self, proxy: Option<&OutboundProxy>) -> Result<(), ProxyError> {
        let seen = self.proxies.as_ref().ok_or(ProxyError::Unsupported)?;
        seen.lock().unwrap().push(proxy.cloned());
        Ok(())
    }

    fn through_proxy(&self, _proxy: &OutboundProxy) -> Result<Box<dyn HttpClient>, ProxyError> {
        match &self.proxies {
            Some(_) => Ok(Box::new(NoNetwork { proxies: None })),
            None => Err(ProxyError::Unsupported),
        }
    }
}

struct Inline;

impl Spawner for Inline {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        block_on(task);
    }
}

fn gateway(http: NoNetwork) -> Gateway {
    let config = Arc::new(MemoryConfigStore::default());
    let open = ConfigChange::PutSetting { key: "security".into(), value: json!({ "requireLogin": false }) };
    block_on(config.apply(vec![open], None)).unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let usage = Arc::new(MemoryUsageSink::default());
    let ports = Ports {
        http: Arc::new(http),
        clock: clock.clone(),
        config,
        usage: usage.clone(),
        usage_query: usage,
        cache: Arc::new(MemoryCacheStore::new(|| 0)),
        backup: Arc::new(MemoryBackupStore::default()),
        archive: None,
        spawner: Arc::new(Inline),
        cooldowns: Arc::new(MemoryCooldownStore::default()),
        entropy: Arc::new(OsEntropy),
        responses: Arc::new(crate::ports::memory::MemoryResponseStore::default()),
    };
    block_on(Gateway::new(ports, GatewayOptions::default())).unwrap()
}

fn send(gateway: &Gateway, method: &str, body: Option<Value>) -> (u16, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri("/api/settings/proxy")
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let response = block_on(gateway.handle(request));
    let status = response.status().as_u16();
    let bytes = block_on(response.into_body().collect(1 << 20)).unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn a_runtime_without_proxy_support_says_so_and_refuses_to_enable_one() {
    let gateway = gateway(NoNetwork { proxies: None });
    let (status, shown) = send(&gateway, "GET", None);
    assert_eq!((status, shown["supported"].clone()), (200, json!(false)));
    let (status, error) = send(&gateway, "PUT", Some(json!({ "enabled": true, "url": "http://proxy.example:3128" })));
    assert_eq!((status, error["error"]["param"].clone()), (400, json!("enabled")), "{error}");
    // Saving a disabled one is harmless (e.g. prepared for another runtime).
    let (status, _) = send(&gateway, "PUT", Some(json!({ "url": "http://proxy.example:3128" })));
    assert_eq!(status, 200);
}

#[test]
fn a_saved_proxy_reaches_the_http_client_at_the_next_refresh_and_leaves_it_when_disabled() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gateway = gateway(NoNetwork { proxies: Some(seen.clone()) });
    assert!(seen.lock().unwrap().is_empty(), "no proxy set, none applied");
    let (status, _) = send(
        &gateway,
        "PUT",
        Some(json!({ "enabled": true, "url": "socks5h://u:p@proxy.example:1080", "noProxy": "internal" })),
    );
    assert_eq!(status, 200);
    let applied = seen.lock().unwrap().clone();
    assert_eq!(
        applied,
        [Some(OutboundProxy { url: "socks5h://u:p@proxy.example:1080".into(), no_proxy: "internal".into() })]
    );
    // An unrelated change does not rebuild the client.
    let (status, _) = send(&gateway, "PUT", Some(json!({ "noProxy": "internal" })));
    assert_eq!(status, 200);
    assert_eq!(seen.lock().unwrap().len(), 1);
    send(&gateway, "PUT", Some(json!({ "enabled": false })));
    assert_eq!(seen.lock().unwrap().last().unwrap(), &None);
}
