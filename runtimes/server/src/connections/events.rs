//! Logging refused and timed-out connections without letting an attacker flood the log: every
//! event at `debug`; per reason, at most one line every ten seconds at `info`/`warn` with the
//! event's details, and a line every ten seconds counting the ones that got no line of their own.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::body_timeout::Stalled;

/// One detailed line per reason this often, and the summary of the rest as often: 2,000
/// refusals a second are two lines per ten seconds.
pub const LINE_EVERY: Duration = Duration::from_secs(10);

/// When a reason last got a line, and how many events were only counted since.
#[derive(Default)]
struct Throttle {
    state: Mutex<ThrottleState>,
}

#[derive(Default)]
struct ThrottleState {
    last_line: Option<Instant>,
    left_out: u64,
}

impl Throttle {
    /// Whether this event, at `now`, gets a line of its own (else it is counted).
    fn admit(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.last_line {
            Some(last) if now.duration_since(last) < LINE_EVERY => {
                state.left_out += 1;
                false
            }
            _ => {
                state.last_line = Some(now);
                true
            }
        }
    }

    /// The events counted since the last call.
    fn take_left_out(&self) -> u64 {
        std::mem::take(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()).left_out)
    }
}

/// The connection events of one server.
#[derive(Default)]
pub struct ConnectionEvents {
    refused: Throttle,
    header_timeout: Throttle,
    body_timeout: Throttle,
    accept_failed: Throttle,
}

impl ConnectionEvents {
    /// A connection closed at once: its address holds `open` connections, the cap.
    pub fn refused(&self, peer: SocketAddr, open: usize) {
        let peer = peer.ip();
        tracing::debug!(%peer, open, "connection refused: the address holds max_connections_per_ip connections");
        if self.refused.admit(Instant::now()) {
            tracing::warn!(
                %peer,
                open,
                "connection refused: the address already holds max_connections_per_ip connections (more within 10 s are counted, not shown)"
            );
        }
    }

    /// A connection closed because no complete request head came within `timeout`, after
    /// `requests` requests. After one or more, that is a keep-alive connection left idle: the
    /// normal end of a pooled connection, logged at `debug` only.
    pub fn header_timeout(&self, peer: SocketAddr, requests: u64, timeout: Option<Duration>) {
        let peer = peer.ip();
        let timeout_ms = timeout.map_or(0, |t| t.as_millis() as u64);
        if requests > 0 {
            tracing::debug!(%peer, requests, timeout_ms, "closed an idle keep-alive connection (no new request head in time)");
            return;
        }
        tracing::debug!(%peer, timeout_ms, "connection closed: no complete request head in time");
        if self.header_timeout.admit(Instant::now()) {
            tracing::info!(
                %peer,
                timeout_ms,
                "connection closed: it sent no complete request head within header_timeout (more within 10 s are counted, not shown)"
            );
        }
    }

    /// A request answered 408 and its connection closed: its body stopped arriving.
    pub fn body_timeout(&self, peer: SocketAddr, path: &str, stalled: Stalled) {
        let peer = peer.ip();
        tracing::debug!(%peer, path, reason = %stalled, "request body timed out; answered 408 and closing");
        if self.body_timeout.admit(Instant::now()) {
            tracing::info!(
                %peer,
                path,
                reason = %stalled,
                "request body timed out; answered 408 and closed the connection (more within 10 s are counted, not shown)"
            );
        }
    }

    /// `accept` failed for a reason that is not the one connection's (out of file descriptors).
    pub fn accept_failed(&self, error: &std::io::Error) {
        tracing::debug!(%error, "accepting a connection failed");
        if self.accept_failed.admit(Instant::now()) {
            tracing::error!(
                %error,
                "accepting connections failed (out of file descriptors? raise LimitNOFILE / ulimit -n); retrying"
            );
        }
    }

    /// Counts the events that got no line of their own since the last call (every
    /// `LINE_EVERY`, from the accept loop).
    pub fn summarise(&self) {
        let refused = self.refused.take_left_out();
        if refused > 0 {
            tracing::warn!(
                count = refused,
                "more connections refused in the last 10 s (their addresses held max_connections_per_ip)"
            );
        }
        let header_timeouts = self.header_timeout.take_left_out();
        if header_timeouts > 0 {
            tracing::info!(
                count = header_timeouts,
                "more connections closed in the last 10 s for no complete request head within header_timeout"
            );
        }
        let body_timeouts = self.body_timeout.take_left_out();
        if body_timeouts > 0 {
            tracing::info!(
                count = body_timeouts,
                "more requests answered 408 in the last 10 s for a body that stopped arriving"
            );
        }
        let accept_failures = self.accept_failed.take_left_out();
        if accept_failures > 0 {
            tracing::error!(count = accept_failures, "more failures accepting connections in the last 10 s");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_counting_the_rest() {
        let throttle = Throttle::default();
        let start = Instant::now();
        assert!(throttle.admit(start));
        for _ in 0..1999 {
            assert!(!throttle.admit(start + Duration::from_secs(1)));
        }
        assert_eq!(throttle.take_left_out(), 1999);
        assert_eq!(throttle.take_left_out(), 0, "counted once");
        let later = start + LINE_EVERY;
        assert!(throttle.admit(later));
        assert!(!throttle.admit(later));
        assert_eq!(throttle.take_left_out(), 1);
    }
}
