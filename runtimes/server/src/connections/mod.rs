//! Accepting and serving client connections within what one client may cost: HTTP/1.1 with a
//! request-head timeout (also the keep-alive idle limit), body read timeouts (`body_timeout`,
//! applied by the adapter), a cap on open connections per client address, every refusal and
//! timeout logged (`events`); and graceful shutdown: stop accepting, let open requests finish.
//!
//! HTTP/1.1 only: hyper's header timer covers HTTP/1 alone, and cleartext HTTP/2 (h2c, never
//! documented here) would leave its preface and idle connections without a limit. TLS and
//! HTTP/2 belong to the reverse proxy in front.

pub mod body_timeout;
pub mod events;
pub mod limits;
pub mod per_ip;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http_adapter::Adapter;
use events::ConnectionEvents;
use per_ip::{PerIpCap, Permit};

/// After an `accept` failure that is not the one connection's (no file descriptor left), wait
/// this long before the next: retrying at once would spin while nothing can be accepted.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves connections from `listener` until `stop` completes, then stops accepting and waits
/// for the open connections to finish their requests (the caller bounds that wait).
pub async fn serve(listener: TcpListener, adapter: Arc<Adapter>, stop: impl Future<Output = ()>) {
    let limits = adapter.limits;
    let events = adapter.events.clone();
    let cap = PerIpCap::new(limits.max_connections_per_ip);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let http = Arc::new(http);
    let closing = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut summary = tokio::time::interval(events::LINE_EVERY);
    let mut stop = pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => break,
            _ = summary.tick() => {
                events.summarise();
                continue;
            }
            accepted = accept(&listener, &events) => accepted,
        };
        let permit = match cap.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(full) => {
                events.refused(peer, full.open);
                // A reset, not a close: nothing is owed to this client, and the server side
                // keeps no TIME_WAIT entry for each of a flood of refusals.
                let _ = tcp.set_zero_linger();
                drop(tcp);
                continue;
            }
        };
        let connection = Connection { peer, permit, adapter: adapter.clone(), http: http.clone() };
        connections.spawn(connection.serve(tcp, closing.clone()));
    }
    // New connections are refused from here on; open ones end after their current request.
    drop(listener);
    closing.cancel();
    connections.close();
    connections.wait().await;
}

/// The next connection; errors that concern one connection only are skipped.
async fn accept(listener: &TcpListener, events: &ConnectionEvents) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                events.accept_failed(&e);
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// The client gave up during the handshake: nothing is wrong with the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset)
}

/// One admitted connection.
struct Connection {
    peer: SocketAddr,
    /// Held until the connection ends: its place under the per-address cap.
    permit: Permit,
    adapter: Arc<Adapter>,
    http: Arc<http1::Builder>,
}

impl Connection {
    async fn serve(self, tcp: TcpStream, closing: CancellationToken) {
        // Without TCP_NODELAY, small SSE writes wait on the client's delayed ACK (~40 ms each).
        let _ = tcp.set_nodelay(true);
        let Connection { peer, permit, adapter, http } = self;
        let requests = Arc::new(AtomicU64::new(0));
        let service = {
            let (adapter, requests) = (adapter.clone(), requests.clone());
            hyper::service::service_fn(move |request| {
                requests.fetch_add(1, Ordering::Relaxed);
                let adapter = adapter.clone();
                async move { Ok::<_, Infallible>(adapter.handle(peer, request).await) }
            })
        };
        let served = {
            let mut connection = pin!(http.serve_connection(TokioIo::new(tcp), service));
            tokio::select! {
                served = connection.as_mut() => served,
                () = closing.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            }
            // The socket is closed here, before its place under the cap is given back.
        };
        if let Err(error) = served {
            if error.is_timeout() {
                let requests = requests.load(Ordering::Relaxed);
                adapter.events.header_timeout(peer, requests, adapter.limits.header_timeout);
            } else {
                // A client that went away or sent something unparsable (hyper answered it).
                tracing::debug!(peer = %peer.ip(), %error, "connection ended with an error");
            }
        }
        drop(permit);
    }
}
