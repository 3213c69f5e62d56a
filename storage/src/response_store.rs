//! `LibsqlResponseStore`: the ResponseStore port over `stored_responses` and its item index
//! `stored_response_items` (migration 6). A response and its items are written in one
//! transaction through the writer connection; reads use the reader connection and so see only
//! committed responses. A chain is read in one recursive query, so continuing a long
//! conversation costs one round trip, also once the store is remote.

use std::collections::HashMap;

use crate::sql::Value;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{ResponseStore, StoreError, StoredResponse};

use crate::config_store::store_err;
use crate::database::{Database, write_transaction};

/// The columns `response_of` reads, in its order.
const COLUMNS: &str = "r.scope, r.id, r.model, r.created_ms, r.expires_ms, r.previous_response_id, r.input, r.response";

/// Rows deleted per statement when pruning, so other writes interleave.
const PRUNE_BATCH: u64 = 5_000;

/// Item ids looked up per statement (well under SQLite's bound on parameters).
const ITEMS_PER_QUERY: usize = 500;

/// Stored responses kept in libSQL.
pub struct LibsqlResponseStore {
    db: Database,
}

fn millis(value: u64) -> Value {
    Value::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn json_text(value: &serde_json::Value) -> Value {
    Value::Text(value.to_string())
}

fn json_of(column: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError(format!("stored response {column} is not JSON: {e}")))
}

/// A row of `COLUMNS` as a response.
fn response_of(row: &crate::sql::Row) -> Result<StoredResponse, StoreError> {
    let read = store_err("reading a stored response");
    let input: String = row.get(6).map_err(&read)?;
    let response: String = row.get(7).map_err(&read)?;
    let input = match json_of("input", &input)? {
        serde_json::Value::Array(items) => items,
        _ => return Err(StoreError("stored response input is not a JSON array".into())),
    };
    Ok(StoredResponse {
        scope: row.get(0).map_err(&read)?,
        id: row.get(1).map_err(&read)?,
        model: row.get(2).map_err(&read)?,
        created_ms: u64::try_from(row.get::<i64>(3).map_err(&read)?).unwrap_or(0),
        expires_ms: u64::try_from(row.get::<i64>(4).map_err(&read)?).unwrap_or(0),
        previous_response_id: row.get(5).map_err(&read)?,
        input,
        response: json_of("response", &response)?,
    })
}

impl LibsqlResponseStore {
    pub fn new(db: Database) -> Self {
        LibsqlResponseStore { db }
    }

    async fn put_inner(&self, response: &StoredResponse) -> Result<(), StoreError> {
        let write = store_err("storing a response");
        let writer = self.db.writer().await;
        let tx = write_transaction(&writer).await.map_err(&write)?;
        let (scope, id) = (text(&response.scope), text(&response.id));
        tx.execute(
            "DELETE FROM stored_response_items WHERE scope = ?1 AND response_id = ?2",
            vec![scope.clone(), id.clone()],
        )
        .await
        .map_err(&write)?;
        tx.execute(
            "INSERT OR REPLACE INTO stored_responses
               (scope, id, model, created_ms, expires_ms, previous_response_id, input, response)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            vec![
                scope.clone(),
                id.clone(),
                text(&response.model),
                millis(response.created_ms),
                millis(response.expires_ms),
                response.previous_response_id.as_deref().map_or(Value::Null, text),
                json_text(&serde_json::Value::Array(response.input.clone())),
                json_text(&response.response),
            ],
        )
        .await
        .map_err(&write)?;
        for (item_id, item) in response.items_with_ids() {
            tx.execute(
                "INSERT OR REPLACE INTO stored_response_items
                   (scope, item_id, response_id, created_ms, expires_ms, item)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vec![
                    scope.clone(),
                    text(item_id),
                    id.clone(),
                    millis(response.created_ms),
                    millis(response.expires_ms),
                    json_text(item),
                ],
            )
            .await
            .map_err(&write)?;
        }
        tx.commit().await.map_err(&write)
    }

    async fn get_inner(&self, scope: &str, id: &str, now_ms: u64) -> Result<Option<StoredResponse>, StoreError> {
        let read = store_err("reading a stored response");
        let sql =
            format!("SELECT {COLUMNS} FROM stored_responses r WHERE r.scope = ?1 AND r.id = ?2 AND r.expires_ms > ?3");
        let mut rows =
            self.db.connection().query(&sql, vec![text(scope), text(id), millis(now_ms)]).await.map_err(&read)?;
        match rows.next().await.map_err(&read)? {
            Some(row) => Ok(Some(response_of(&row)?)),
            None => Ok(None),
        }
    }

    async fn chain_inner(
        &self,
        scope: &str,
        id: &str,
        now_ms: u64,
        max: usize,
    ) -> Result<Vec<StoredResponse>, StoreError> {
        let read = store_err("reading stored responses");
        // The depth bound also ends a chain that loops (an id reused by an upstream).
        let sql = format!(
            "WITH RECURSIVE chain(id, previous, depth) AS (
               SELECT id, previous_response_id, 0 FROM stored_responses
                WHERE scope = ?1 AND id = ?2 AND expires_ms > ?3
               UNION ALL
               SELECT r.id, r.previous_response_id, chain.depth + 1 FROM chain
                 JOIN stored_responses r ON r.scope = ?1 AND r.id = chain.previous
                WHERE r.expires_ms > ?3 AND chain.depth + 1 < ?4
             )
             SELECT {COLUMNS} FROM chain JOIN stored_responses r ON r.scope = ?1 AND r.id = chain.id
             ORDER BY chain.depth"
        );
        let params = vec![text(scope), text(id), millis(now_ms), millis(max as u64)];
        let mut rows = self.db.connection().query(&sql, params).await.map_err(&read)?;
        let mut chain = Vec::new();
        while let Some(row) = rows.next().await.map_err(&read)? {
            chain.push(response_of(&row)?);
        }
        Ok(chain)
    }

    async fn items_inner(
        &self,
        scope: &str,
        ids: &[String],
        now_ms: u64,
    ) -> Result<HashMap<String, serde_json::Value>, StoreError> {
        let read = store_err("reading stored items");
        let mut found = HashMap::new();
        for batch in ids.chunks(ITEMS_PER_QUERY) {
            let marks: Vec<String> = (0..batch.len()).map(|i| format!("?{}", i + 3)).collect();
            // Oldest first, so the newest copy of an item is the one left in the map.
            let sql = format!(
                "SELECT item_id, item FROM stored_response_items
                  WHERE scope = ?1 AND expires_ms > ?2 AND item_id IN ({})
                  ORDER BY created_ms",
                marks.join(", ")
            );
            let mut params = vec![text(scope), millis(now_ms)];
            params.extend(batch.iter().map(|id| text(id)));
            let mut rows = self.db.connection().query(&sql, params).await.map_err(&read)?;
            while let Some(row) = rows.next().await.map_err(&read)? {
                let item: String = row.get(1).map_err(&read)?;
                found.insert(row.get::<String>(0).map_err(&read)?, json_of("item", &item)?);
            }
        }
        Ok(found)
    }

    async fn delete_inner(&self, scope: &str, id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let write = store_err("deleting a stored response");
        let writer = self.db.writer().await;
        let tx = write_transaction(&writer).await.map_err(&write)?;
        let live = tx
            .execute(
                "DELETE FROM stored_responses WHERE scope = ?1 AND id = ?2 AND expires_ms > ?3",
                vec![text(scope), text(id), millis(now_ms)],
            )
            .await
            .map_err(&write)?;
        tx.execute(
            "DELETE FROM stored_response_items WHERE scope = ?1 AND response_id = ?2",
            vec![text(scope), text(id)],
        )
        .await
        .map_err(&write)?;
        tx.commit().await.map_err(&write)?;
        Ok(live > 0)
    }

    async fn prune_inner(&self, now_ms: u64) -> Result<u64, StoreError> {
        let write = store_err("pruning stored responses");
        let writer = self.db.writer().await;
        let now = millis(now_ms);
        let mut pruned = 0;
        for table in ["stored_responses", "stored_response_items"] {
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE expires_ms <= ?1 LIMIT {PRUNE_BATCH})"
            );
            loop {
                let batch = writer.execute(&sql, vec![now.clone()]).await.map_err(&write)?;
                if table == "stored_responses" {
                    pruned += batch;
                }
                if batch < PRUNE_BATCH {
                    break;
                }
            }
        }
        Ok(pruned)
    }
}

impl ResponseStore for LibsqlResponseStore {
    fn put(&self, response: StoredResponse) -> BoxFuture<'_, Result<(), StoreError>> {
        boxed(async move { self.db.retried(|| self.put_inner(&response)).await })
    }

    fn get<'a>(
        &'a self,
        scope: &'a str,
        id: &'a str,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Option<StoredResponse>, StoreError>> {
        boxed(self.db.retried(move || self.get_inner(scope, id, now_ms)))
    }

    fn chain<'a>(
        &'a self,
        scope: &'a str,
        id: &'a str,
        now_ms: u64,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<StoredResponse>, StoreError>> {
        boxed(self.db.retried(move || self.chain_inner(scope, id, now_ms, max)))
    }

    fn items<'a>(
        &'a self,
        scope: &'a str,
        ids: &'a [String],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<HashMap<String, serde_json::Value>, StoreError>> {
        boxed(self.db.retried(move || self.items_inner(scope, ids, now_ms)))
    }

    fn delete<'a>(&'a self, scope: &'a str, id: &'a str, now_ms: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        boxed(self.db.retried(move || self.delete_inner(scope, id, now_ms)))
    }

    fn prune(&self, now_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        boxed(self.db.retried(move || self.prune_inner(now_ms)))
    }
}

#[cfg(test)]
#[path = "response_store_tests.rs"]
mod tests;
