//! The five stores of one database (config, usage rows and their reader, cooldowns, stored
//! responses), built together: every runtime and the conformance suite use this one set.

use std::sync::Arc;

use crate::{
    Database, LibsqlConfigStore, LibsqlCooldownStore, LibsqlResponseStore, LibsqlUsageQuery, LibsqlUsageSink, SecretBox,
};

/// The stores, concrete (a runtime still needs the config store's secret check and the usage
/// sink's flush); each is handed to the ports as it is.
pub struct LibsqlStores {
    pub config: Arc<LibsqlConfigStore>,
    pub usage: Arc<LibsqlUsageSink>,
    pub usage_query: Arc<LibsqlUsageQuery>,
    pub cooldowns: Arc<LibsqlCooldownStore>,
    pub responses: Arc<LibsqlResponseStore>,
}

impl LibsqlStores {
    /// Stores on `db`; provider keys sealed with `secrets`; at most `usage_buffer_rows` usage
    /// rows held before new ones are counted as dropped.
    // On wasm32 the stores hold the fetch client, which is not Send; the Worker is
    // single-threaded, and Arc is correct there.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn new(db: Database, secrets: SecretBox, usage_buffer_rows: usize) -> Self {
        LibsqlStores {
            config: Arc::new(LibsqlConfigStore::new(db.clone(), secrets)),
            usage_query: Arc::new(LibsqlUsageQuery::new(db.clone())),
            cooldowns: Arc::new(LibsqlCooldownStore::new(db.clone())),
            responses: Arc::new(LibsqlResponseStore::new(db.clone())),
            usage: Arc::new(LibsqlUsageSink::new(db, usage_buffer_rows)),
        }
    }
}
