//! Work on the usage store that runtimes schedule off the request path: seeding the budget
//! tracker and the keys' last-use times from stored rows (at start, then periodically so other
//! instances' spend is seen), and deleting rows past the retention period (usage rows and stored
//! responses).

use crate::config::BudgetPeriod;
use crate::gateway::Gateway;
use crate::ports::StoreError;
use crate::usage::period::period_start;

use crate::usage::period::DAY_MS;

impl Gateway {
    /// Seeds per-key spend (current day, week and month) and last-use times from the store.
    pub async fn load_usage_state(&self) -> Result<(), StoreError> {
        let query = &self.ports.usage_query;
        let now_ms = self.ports.clock.now_unix_ms();
        for period in [BudgetPeriod::Daily, BudgetPeriod::Weekly, BudgetPeriod::Monthly] {
            let spend = query.spend_by_key(period_start(period, now_ms)).await?;
            self.budgets.seed(period, now_ms, &spend);
        }
        let last_used = query.last_used_by_key().await?;
        self.merge_key_last_used(&last_used);
        Ok(())
    }

    /// Deletes usage rows older than the retention setting (none when it is 0), and stored
    /// responses past their expiry (they count in the usage retention). Returns how many usage
    /// rows went.
    pub async fn prune_usage(&self) -> Result<u64, StoreError> {
        self.prune_stored_responses().await?;
        let days = self.snapshot().usage_settings().retention_days;
        if days == 0 {
            return Ok(0);
        }
        let cutoff = self.ports.clock.now_unix_ms().saturating_sub(u64::from(days) * DAY_MS);
        let pruned = self.ports.usage_query.prune(cutoff).await?;
        if pruned > 0 {
            tracing::info!(pruned, retention_days = days, "old usage rows deleted");
        }
        Ok(pruned)
    }

    /// Deletes the stored responses whose time is up. Returns how many went.
    pub async fn prune_stored_responses(&self) -> Result<u64, StoreError> {
        let pruned = self.ports.responses.prune(self.ports.clock.now_unix_ms()).await?;
        if pruned > 0 {
            tracing::info!(pruned, "expired stored responses deleted");
        }
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;

    use crate::config::settings::keys;
    use crate::config::{ConfigChange, KeyBudget};
    use crate::pipeline::test_support::memory_gateway;
    use crate::ports::{ConfigStore, UsageRecord, UsageSink};

    #[test]
    fn state_is_seeded_from_rows_and_old_rows_are_pruned() {
        let now = 40 * super::DAY_MS + 1_000;
        let (gateway, ports) = memory_gateway(now);
        let row = |ts: u64, cost: f64| UsageRecord {
            timestamp_ms: ts,
            api_key_id: Some("key_a".into()),
            cost_usd: Some(cost),
            status: 200,
            ..Default::default()
        };
        // Today, earlier this month, and long ago.
        for record in [row(now - 10, 0.5), row(now - 5 * super::DAY_MS, 0.25), row(1_000, 9.0)] {
            ports.usage.record(record);
        }
        block_on(gateway.load_usage_state()).unwrap();
        let budget = KeyBudget { limit_usd: 1.0, period: crate::config::BudgetPeriod::Daily, warn_ratio: 0.4 };
        let status = gateway.budgets.status("key_a", &budget, now);
        assert!((status.spent_usd - 0.5).abs() < 1e-12 && status.warning && !status.exceeded, "{status:?}");
        assert_eq!(gateway.key_last_used("key_a"), Some(now - 10));

        // Default retention (90 days) keeps all; 30 days drops the oldest row.
        assert_eq!(block_on(gateway.prune_usage()).unwrap(), 0);
        let setting =
            ConfigChange::PutSetting { key: keys::USAGE.into(), value: serde_json::json!({"retentionDays": 30}) };
        block_on(ports.config.apply(vec![setting], None)).unwrap();
        block_on(gateway.refresh()).unwrap();
        assert_eq!(block_on(gateway.prune_usage()).unwrap(), 1);
        assert_eq!(ports.usage.rows().len(), 2);
    }
}
