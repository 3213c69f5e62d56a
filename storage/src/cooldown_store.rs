//! `LibsqlCooldownStore`: the `cooldowns` table, shared by every instance on one database.
//! A put keeps the later `until`; a read drops the rows that have expired when it finds any.

use crate::sql::Value;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{CooldownStore, StoreError};

use crate::config_store::store_err;
use crate::database::Database;

/// Cooldowns kept in libSQL.
pub struct LibsqlCooldownStore {
    db: Database,
}

fn millis(value: u64) -> Value {
    Value::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

impl LibsqlCooldownStore {
    pub fn new(db: Database) -> Self {
        LibsqlCooldownStore { db }
    }

    async fn put_inner(&self, key: &str, until_ms: u64) -> Result<(), StoreError> {
        self.db
            .writer()
            .await
            .execute(
                "INSERT INTO cooldowns (key, until_ms, updated_at) VALUES (?1, ?2, strftime('%s','now'))
                 ON CONFLICT(key) DO UPDATE SET until_ms = MAX(until_ms, excluded.until_ms), updated_at = excluded.updated_at",
                vec![Value::Text(key.to_owned()), millis(until_ms)],
            )
            .await
            .map_err(store_err("writing a cooldown"))?;
        Ok(())
    }

    async fn active_inner(&self, now_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.db.connection();
        let read = store_err("reading cooldowns");
        let mut rows = conn.query("SELECT key, until_ms FROM cooldowns ORDER BY key", ()).await.map_err(&read)?;
        let mut active = Vec::new();
        let mut expired = false;
        while let Some(row) = rows.next().await.map_err(&read)? {
            let until = u64::try_from(row.get::<i64>(1).map_err(&read)?).unwrap_or(0);
            if until > now_ms {
                active.push((row.get::<String>(0).map_err(&read)?, until));
            } else {
                expired = true;
            }
        }
        if expired {
            // Best effort: a failed cleanup only leaves rows the next read skips again.
            let writer = self.db.writer().await;
            if let Err(e) = writer.execute("DELETE FROM cooldowns WHERE until_ms <= ?1", vec![millis(now_ms)]).await {
                tracing::warn!(error = %e, "cannot delete expired cooldowns");
            }
        }
        Ok(active)
    }

    async fn clear_inner(&self, key: Option<&str>) -> Result<(), StoreError> {
        let writer = self.db.writer().await;
        match key {
            Some(key) => {
                writer.execute("DELETE FROM cooldowns WHERE key = ?1", vec![Value::Text(key.to_owned())]).await
            }
            None => writer.execute("DELETE FROM cooldowns", ()).await,
        }
        .map_err(store_err("clearing cooldowns"))?;
        Ok(())
    }
}

impl CooldownStore for LibsqlCooldownStore {
    fn put(&self, key: &str, until_ms: u64) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = key.to_owned();
        boxed(async move { self.db.retried(|| self.put_inner(&key, until_ms)).await })
    }

    fn active(&self, now_ms: u64) -> BoxFuture<'_, Result<Vec<(String, u64)>, StoreError>> {
        boxed(self.db.retried(move || self.active_inner(now_ms)))
    }

    fn clear(&self, key: Option<&str>) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = key.map(str::to_owned);
        boxed(async move { self.db.retried(|| self.clear_inner(key.as_deref())).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count(db: &Database) -> i64 {
        let mut rows = db.connection().query("SELECT COUNT(*) FROM cooldowns", ()).await.unwrap();
        rows.next().await.unwrap().unwrap().get::<i64>(0).unwrap()
    }

    #[tokio::test]
    async fn put_keeps_the_later_until_and_active_drops_expired_rows() {
        let db = Database::open_memory().await.unwrap();
        let store = LibsqlCooldownStore::new(db.clone());
        store.put("openai:team", 2_000).await.unwrap();
        store.put("openai:team", 1_500).await.unwrap();
        store.put("groq:env", 1_200).await.unwrap();
        assert_eq!(
            store.active(1_000).await.unwrap(),
            [("groq:env".to_string(), 1_200), ("openai:team".to_string(), 2_000)]
        );
        assert_eq!(store.active(1_200).await.unwrap(), [("openai:team".to_string(), 2_000)]);
        assert_eq!(count(&db).await, 1, "the expired row is deleted on read");
        store.put("openai:team", 3_000).await.unwrap();
        assert_eq!(store.active(2_500).await.unwrap(), [("openai:team".to_string(), 3_000)]);
        assert!(store.active(3_000).await.unwrap().is_empty());
        assert_eq!(count(&db).await, 0);
    }

    #[tokio::test]
    async fn instances_on_one_database_share_cooldowns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let a = LibsqlCooldownStore::new(Database::open_file(&path).await.unwrap());
        let b = LibsqlCooldownStore::new(Database::open_file(&path).await.unwrap());
        a.put("anthropic:main", u64::MAX).await.unwrap();
        assert_eq!(b.active(0).await.unwrap(), [("anthropic:main".to_string(), i64::MAX as u64)]);
    }

    #[tokio::test]
    async fn clear_ends_one_cooldown_or_all() {
        let db = Database::open_memory().await.unwrap();
        let store = LibsqlCooldownStore::new(db.clone());
        for key in ["a", "b", "c"] {
            store.put(key, 5_000).await.unwrap();
        }
        store.clear(Some("b")).await.unwrap();
        let keys: Vec<String> = store.active(0).await.unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "c"]);
        store.clear(None).await.unwrap();
        assert_eq!(count(&db).await, 0);
    }
}
