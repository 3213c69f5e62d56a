//! `GatewayOptions`: the limits, timeouts and access switches the core enforces, from the
//! file's `[limits]`/`[timeouts]` and the environment, the same on every runtime.

use std::time::Duration;

use crate::config::FileConfig;

/// Limits and timeouts the core enforces (connect timeouts belong to the HttpClient).
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Most messages and content blocks one chat request may carry (400 beyond): each expands
    /// to hundreds of bytes when decoded, so this bounds a request's memory where the byte
    /// limit alone does not.
    pub max_message_items: usize,
    /// Largest non-streamed upstream body buffered.
    pub max_response_bytes: usize,
    /// Streams: time until response headers and the first chunk.
    pub first_byte_timeout: Duration,
    /// Non-streamed requests: time until the whole answer (headers wait for generation).
    pub total_timeout: Duration,
    /// Streams: longest silence between two chunks.
    pub idle_timeout: Duration,
    /// Inference needs a gateway key whatever the settings say (`REQUIRE_API_KEY=true`).
    pub require_api_key: bool,
    /// Host names the gateway answers to (`ALLOWED_HOSTS`, comma-separated; a leading `.`
    /// allows subdomains); empty: any. A server bound to loopback defaults to the loopback
    /// names, against DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Streams with `X-OmniRoute-Progress: true`: the upstream silence after which a progress
    /// event goes to the client (where its format has one).
    pub progress_interval: Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            max_body_bytes: 10 * 1024 * 1024,
            // Real conversations (a long coding-agent session) stay in the low thousands.
            max_message_items: 20_000,
            max_response_bytes: 64 * 1024 * 1024,
            first_byte_timeout: Duration::from_secs(120),
            total_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(120),
            require_api_key: false,
            allowed_hosts: Vec::new(),
            progress_interval: Duration::from_secs(2),
        }
    }
}

impl GatewayOptions {
    /// `REQUIRE_API_KEY=true|1|yes` in the environment requires gateway keys whatever the file
    /// and settings say (every runtime reads it the same way).
    pub fn with_env(mut self, env: &dyn Fn(&str) -> Option<String>) -> GatewayOptions {
        self.require_api_key |= env("REQUIRE_API_KEY").is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes"));
        if let Some(hosts) = env("ALLOWED_HOSTS") {
            self.allowed_hosts.extend(hosts.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_owned));
        }
        self
    }

    /// The defaults overridden by the file's `[limits]` and `[timeouts]` (every runtime reads
    /// them the same way; `connect_ms` belongs to the runtime's HttpClient).
    pub fn from_file(file: &FileConfig) -> GatewayOptions {
        let defaults = GatewayOptions::default();
        let ms = Duration::from_millis;
        let t = &file.timeouts;
        GatewayOptions {
            max_body_bytes: file.limits.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            max_message_items: file.limits.max_message_items.unwrap_or(defaults.max_message_items),
            max_response_bytes: defaults.max_response_bytes,
            first_byte_timeout: t.first_byte_ms.map(ms).unwrap_or(defaults.first_byte_timeout),
            total_timeout: t.total_ms.map(ms).unwrap_or(defaults.total_timeout),
            idle_timeout: t.idle_ms.map(ms).unwrap_or(defaults.idle_timeout),
            require_api_key: defaults.require_api_key,
            allowed_hosts: defaults.allowed_hosts,
            progress_interval: defaults.progress_interval,
        }
    }
}
