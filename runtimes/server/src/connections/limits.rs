//! What one client may cost the server: how long it may take to send a request's headers and
//! body, and how many connections one address may hold open. The defaults and why.

use std::time::Duration;

use omniroute_core::config::file::ServerSection;

/// Time to send a request head, counted from when the connection starts waiting for one (just
/// accepted, or its last response written), so it is also the keep-alive idle limit. hyper's
/// own default; above the 5–15 s most client pools keep idle connections (httpx, undici), so a
/// pooled connection is rarely closed under a client, and below the 40 s that slow-header
/// clients held connections for in issue 14.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest silence while the gateway waits for more of a request body. A live client sends
/// its (at most `max_body_bytes`) body without pausing; 15 s covers a few TCP retransmissions on
/// a lossy link, and a stalled body (shorter than its Content-Length, an unfinished chunked
/// body) is cut instead of holding its connection.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Time for a whole request body, so a client trickling a byte every few seconds cannot hold a
/// connection forever either. The default 10 MB body limit fits in it at ~35 KB/s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(300);

/// Open connections per client address. Above what one honest host opens (SDK pools use tens;
/// the benchmark's 1,000 slow streams from one address fit), below what lets one address take
/// every file descriptor of a process whose limit is raised as it should be (LimitNOFILE).
/// Behind a reverse proxy every client shares the proxy's address: raise it or set 0 there.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 1024;

/// The limits in force; `None` / 0: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    pub header_timeout: Option<Duration>,
    pub body_idle_timeout: Option<Duration>,
    pub body_timeout: Option<Duration>,
    /// 0: no cap.
    pub max_connections_per_ip: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            header_timeout: Some(DEFAULT_HEADER_TIMEOUT),
            body_idle_timeout: Some(DEFAULT_BODY_IDLE_TIMEOUT),
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
        }
    }
}

/// The values an operator gave (`[server]` keys, flags or env vars); unset ones keep theirs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    pub header_timeout_secs: Option<u64>,
    pub body_idle_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub max_connections_per_ip: Option<usize>,
}

impl LimitOverrides {
    /// The `[server]` section's keys.
    pub fn from_file(server: &ServerSection) -> LimitOverrides {
        LimitOverrides {
            header_timeout_secs: server.header_timeout_secs,
            body_idle_timeout_secs: server.body_idle_timeout_secs,
            body_timeout_secs: server.body_timeout_secs,
            max_connections_per_ip: server.max_connections_per_ip,
        }
    }
}

impl ClientLimits {
    /// These limits with `overrides` applied (0 seconds: that timeout off).
    pub fn with(self, overrides: LimitOverrides) -> ClientLimits {
        let secs = |given: Option<u64>, current: Option<Duration>| match given {
            Some(0) => None,
            Some(secs) => Some(Duration::from_secs(secs)),
            None => current,
        };
        ClientLimits {
            header_timeout: secs(overrides.header_timeout_secs, self.header_timeout),
            body_idle_timeout: secs(overrides.body_idle_timeout_secs, self.body_idle_timeout),
            body_timeout: secs(overrides.body_timeout_secs, self.body_timeout),
            max_connections_per_ip: overrides.max_connections_per_ip.unwrap_or(self.max_connections_per_ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name_and_zero_turns_off() {
        let limits = ClientLimits::default().with(LimitOverrides {
            header_timeout_secs: Some(0),
            body_idle_timeout_secs: Some(3),
            body_timeout_secs: None,
            max_connections_per_ip: Some(0),
        });
        assert_eq!(limits.header_timeout, None);
        assert_eq!(limits.body_idle_timeout, Some(Duration::from_secs(3)));
        assert_eq!(limits.body_timeout, Some(DEFAULT_BODY_TIMEOUT));
        assert_eq!(limits.max_connections_per_ip, 0);
    }
}
