//! The server's start-up: the shared native bootstrap (`omniroute_native::bootstrap`), with the
//! host names a server bound to loopback answers to; and why the server could not start.

use omniroute_native::Bootstrapped;

use crate::settings::Settings;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The gateway could not be built (config, storage, admin password).
    #[error(transparent)]
    Native(#[from] omniroute_native::StartError),
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
}

/// Builds the gateway. `env` reads environment variables (injectable for tests).
pub async fn bootstrap(settings: &Settings, env: &dyn Fn(&str) -> Option<String>) -> Result<Bootstrapped, StartError> {
    let mut native = settings.native.clone();
    if bound_to_loopback(&settings.host) {
        // Against DNS rebinding: a page whose name now resolves to 127.0.0.1 still says its
        // own name in `Host`. ALLOWED_HOSTS adds names (a reverse proxy's), `*` allows any.
        native.gateway.allowed_hosts.extend(omniroute_core::auth::guard::LOOPBACK_HOSTS.map(str::to_owned));
    }
    Ok(omniroute_native::bootstrap(&native, env).await?)
}

/// `127.0.0.1`, `::1`, `localhost`: reachable from this machine only.
fn bound_to_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
