//! Authentication and access control: gateway API keys and their policies, the admin password
//! and login sessions, the IP filter, per-key/per-login rate limits, the SSRF guard on upstream URLs
//! and credentials scrubbed from what upstreams echo.

pub mod access_index;
pub mod guard;
pub mod ip_filter;
pub mod password;
pub mod rate_limit;
pub mod redact;
pub mod ssrf;
pub mod tokens;

pub use access_index::AccessIndex;
pub use guard::{Caller, ClientAddr};
