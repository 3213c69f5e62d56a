//! Routing and resilience: from the model a client names to an ordered plan of upstream
//! attempts, and the state that keeps failing upstreams out of it (breakers, cooldowns,
//! latency and usage estimates). Pure logic over the Clock port; no I/O.

pub mod breaker_profiles;
pub mod failure_scope;
pub mod health;
pub mod health_key;
pub mod key_policy;
pub mod plan;
pub mod resolve;
pub mod retry_after;
pub mod router;
pub mod select;
pub mod sessions;
pub mod shared_reset;
