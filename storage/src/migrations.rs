//! Schema migrations: the numbered files in `/migrations`, embedded at build time, applied in
//! order, each inside its own transaction together with the row that records it.

use crate::database::DatabaseError;
use crate::sql::Value;

/// `(version, name, sql)`; append only, never edit a shipped one.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../../migrations/0001_initial.sql")),
    (2, "routing", include_str!("../../migrations/0002_routing.sql")),
    (3, "usage_cost", include_str!("../../migrations/0003_usage_cost.sql")),
    (4, "access", include_str!("../../migrations/0004_access.sql")),
    (5, "usage", include_str!("../../migrations/0005_usage.sql")),
    (6, "stored_responses", include_str!("../../migrations/0006_stored_responses.sql")),
    (7, "discovered_models", include_str!("../../migrations/0007_discovered_models.sql")),
];

/// Brings the schema up to the newest version this build knows.
pub async fn apply(conn: &crate::sql::Connection) -> Result<(), DatabaseError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        (),
    )
    .await?;
    let current = current_version(conn).await?;
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > known {
        return Err(DatabaseError::TooNew { found: current, known });
    }
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let fail = |source| DatabaseError::Migration { version, name, source };
        // Several instances may start together on one (remote) database: the write lock is
        // taken first (a second instance waits for it), then the version is read again inside
        // the transaction, and a migration another instance applied meanwhile is skipped.
        let tx = crate::database::write_transaction(conn).await.map_err(fail)?;
        if current_version(&tx).await? >= version {
            tx.rollback().await.map_err(fail)?;
            continue;
        }
        tx.execute_batch(sql).await.map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, strftime('%s','now'))",
            vec![Value::Integer(version), Value::Text(name.to_owned())],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(version, name, "applied database migration");
    }
    Ok(())
}

/// The highest applied migration (0 for a new database).
pub async fn current_version(conn: &crate::sql::Connection) -> Result<i64, DatabaseError> {
    let mut rows = conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", ()).await?;
    Ok(match rows.next().await? {
        Some(row) => row.get::<i64>(0)?,
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::Database;

    #[tokio::test]
    async fn migrations_apply_once_and_record_their_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let db = Database::open_file(&path).await.unwrap();
        assert_eq!(current_version(db.connection()).await.unwrap(), MIGRATIONS.len() as i64);
        db.connection()
            .execute("INSERT INTO providers (id, source, created_at, updated_at) VALUES ('keep', 'api', 0, 0)", ())
            .await
            .unwrap();
        drop(db);
        // Reopening applies nothing twice and keeps the data.
        let db = Database::open_file(&path).await.unwrap();
        let mut rows = db.connection().query("SELECT COUNT(*) FROM providers", ()).await.unwrap();
        assert_eq!(rows.next().await.unwrap().unwrap().get::<i64>(0).unwrap(), 1);
    }

    #[tokio::test]
    async fn later_migrations_upgrade_a_version_1_database_and_keep_its_rows() {
        use omniroute_core::config::policy::AccountSelection;
        use omniroute_core::config::{ProviderRecord, TimeoutOverrides};
        use omniroute_core::ports::ConfigStore;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            // A database as a build that only knew migration 1 left it.
            let raw = libsql::Builder::new_local(&path).build().await.unwrap();
            let conn = raw.connect().unwrap();
            conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)", ())
                .await
                .unwrap();
            conn.execute_batch(MIGRATIONS[0].2).await.unwrap();
            conn.execute_batch(
                "INSERT INTO schema_migrations VALUES (1, 'initial', 0);
                 INSERT INTO providers (id, source, base_url, models, created_at, updated_at)
                   VALUES ('mycorp', 'api', 'http://127.0.0.1:1/v1', '[\"m\"]', 0, 0);
                 INSERT INTO connections (id, provider_id, source, name, priority, created_at, updated_at)
                   VALUES ('mycorp:a', 'mycorp', 'api', 'a', 0, 0, 0);
                 UPDATE config_version SET version = 7;
                 INSERT INTO usage_log (request_id, ts_ms, provider, connection_id, requested_model, upstream_model,
                   client_format, upstream_format, status, stream, input_tokens, output_tokens, latency_ms)
                   VALUES ('r1', 1, 'mycorp', 'mycorp:a', 'mycorp/m', 'm', 'openai-chat', 'openai-chat', 200, 0, 3, 4, 5);",
            )
            .await
            .unwrap();
        }
        let db = Database::open_file(&path).await.unwrap();
        let newest = MIGRATIONS.last().map(|m| m.0).unwrap();
        assert_eq!(current_version(db.connection()).await.unwrap(), newest);
        // Usage rows written before the upgrade are kept, the new columns empty.
        let rows = crate::LibsqlUsageSink::new(db.clone(), 4).read_all().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].input_tokens, rows[0].output_tokens, rows[0].cost_usd), (Some(3), Some(4), None));
        let store = crate::LibsqlConfigStore::new(db, crate::SecretBox::from_passphrase("pw"));
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.version, 7);
        assert_eq!(loaded.connections.len(), 1);
        let ProviderRecord { id, models, selection, sticky_window, timeouts, .. } = &loaded.providers[0];
        assert_eq!((id.as_str(), models.as_slice()), ("mycorp", ["m".to_string()].as_slice()));
        assert_eq!(
            (*selection, *sticky_window, *timeouts),
            (AccountSelection::FillFirst, None, TimeoutOverrides::default())
        );
        assert!(loaded.aliases.is_empty() && loaded.combos.is_empty() && loaded.routing.is_none());
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_not_clobbered() {
        let db = Database::open_memory().await.unwrap();
        db.connection().execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)", ()).await.unwrap();
        let err = apply(db.connection()).await.unwrap_err();
        assert!(matches!(err, DatabaseError::TooNew { found: 999, .. }), "{err}");
    }
}
