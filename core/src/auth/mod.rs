//! Authentication and access control: gateway API keys and their policies, the admin password
//! and login sessions, the IP filter, per-key/per-login rate limits and the SSRF guard on
//! upstream URLs.

pub mod access;
pub mod guard;
pub mod ip_filter;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod ssrf;
pub mod tokens;

pub use access::AccessIndex;
pub use guard::{Caller, ClientAddr};
