//! Tests of `LibsqlArchive` on real files: snapshots under writes, restores, refusals.

use super::checks::{SQLITE_MAGIC, first_text};
use super::*;
use crate::migrations::MIGRATIONS;

async fn count(db: &Database, table: &str) -> i64 {
    let mut rows = db.connection().query(&format!("SELECT COUNT(*) FROM {table}"), ()).await.unwrap();
    rows.next().await.unwrap().unwrap().get::<i64>(0).unwrap()
}

async fn add_provider(db: &Database, id: &str) {
    let writer = db.writer().await;
    writer
        .execute("INSERT INTO providers (id, source, created_at, updated_at) VALUES (?1, 'api', 0, 0)", [id])
        .await
        .unwrap();
}

async fn open(dir: &Path, name: &str) -> Database {
    Database::open_file(&dir.join(name)).await.unwrap()
}

#[tokio::test]
async fn a_snapshot_restores_the_rows_it_had() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), "live.db").await;
    let archive = LibsqlArchive::new(db.clone());
    add_provider(&db, "kept").await;
    let snapshot = archive.snapshot().await.unwrap();
    assert!(snapshot.starts_with(SQLITE_MAGIC));
    add_provider(&db, "later").await;
    db.writer().await.execute("DELETE FROM providers WHERE id = 'kept'", ()).await.unwrap();
    db.writer()
        .await
        .execute("INSERT INTO audit_log (ts_ms, actor, action, target) VALUES (1, 'admin', 'after.snapshot', 'x')", ())
        .await
        .unwrap();
    let version_before = first_i64(db.connection(), "SELECT version FROM config_version").await.unwrap().unwrap();

    let restored = archive.restore(snapshot).await.unwrap();
    assert_eq!(restored.from_version, MIGRATIONS.len() as i64);
    assert!(restored.tables > 5);
    let ids = names(db.connection(), "SELECT id FROM providers ORDER BY id").await.unwrap();
    assert_eq!(ids, ["kept"]);
    assert_eq!(count(&db, "audit_log").await, 1, "the audit log is history: a restore keeps it");
    let version_after = first_i64(db.connection(), "SELECT version FROM config_version").await.unwrap().unwrap();
    assert!(version_after > version_before, "the version moves on so snapshots reload");
    // No scratch file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".omniroute-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn garbage_and_foreign_databases_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), "live.db").await;
    add_provider(&db, "p").await;
    let archive = LibsqlArchive::new(db.clone());
    let garbage = archive.restore(Bytes::from_static(b"definitely not a database")).await;
    assert!(matches!(garbage, Err(ArchiveError::Invalid(_))), "{garbage:?}");

    // A SQLite file that is not ours.
    let other = libsql::Builder::new_local(dir.path().join("other.db")).build().await.unwrap();
    other.connect().unwrap().execute("CREATE TABLE t (x)", ()).await.unwrap();
    drop(other);
    let foreign = archive.restore(Bytes::from(std::fs::read(dir.path().join("other.db")).unwrap())).await;
    assert!(
        matches!(&foreign, Err(ArchiveError::Invalid(m)) if m.contains("not an omniroute database")),
        "{foreign:?}"
    );

    // A damaged one: a valid header, then noise.
    let mut damaged = archive.snapshot().await.unwrap().to_vec();
    let len = damaged.len();
    for byte in &mut damaged[len / 2..] {
        *byte = 0x5a;
    }
    assert!(matches!(archive.restore(Bytes::from(damaged)).await, Err(ArchiveError::Invalid(_))));
    assert_eq!(count(&db, "providers").await, 1);
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_an_older_one_is_migrated_forward() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), "live.db").await;
    let archive = LibsqlArchive::new(db.clone());

    let future = open(dir.path(), "future.db").await;
    future
        .connection()
        .execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)", ())
        .await
        .unwrap();
    drop(future);
    let too_new = archive.restore(Bytes::from(std::fs::read(dir.path().join("future.db")).unwrap())).await;
    assert!(matches!(&too_new, Err(ArchiveError::Invalid(m)) if m.contains("newer")), "{too_new:?}");

    // A version-1 database: only the first migration applied.
    let old_path = dir.path().join("old.db");
    let old = libsql::Builder::new_local(&old_path).build().await.unwrap();
    let conn = old.connect().unwrap();
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        (),
    )
    .await
    .unwrap();
    conn.execute_batch(MIGRATIONS[0].2).await.unwrap();
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'initial', 0)", ()).await.unwrap();
    conn.execute("INSERT INTO providers (id, source, created_at, updated_at) VALUES ('old', 'api', 0, 0)", ())
        .await
        .unwrap();
    drop(conn);
    drop(old);
    let restored = archive.restore(Bytes::from(std::fs::read(&old_path).unwrap())).await.unwrap();
    assert_eq!(restored.from_version, 1);
    assert_eq!(names(db.connection(), "SELECT id FROM providers").await.unwrap(), ["old"]);
    assert_eq!(archive.schema_version().await.unwrap(), MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn a_snapshot_taken_during_a_write_burst_is_one_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), "live.db").await;
    let archive = LibsqlArchive::new(db.clone());
    // Each write adds a provider and bumps the version in one transaction: a consistent
    // snapshot has exactly `version` providers.
    let writer_db = db.clone();
    #[allow(clippy::disallowed_methods)] // a test's own concurrent writer
    let burst = tokio::spawn(async move {
        for i in 0..400 {
            let writer = writer_db.writer().await;
            let tx = write_transaction(&writer).await.unwrap();
            tx.execute(
                "INSERT INTO providers (id, source, created_at, updated_at) VALUES (?1, 'api', 0, 0)",
                [format!("p{i}")],
            )
            .await
            .unwrap();
            tx.execute("UPDATE config_version SET version = version + 1", ()).await.unwrap();
            tx.commit().await.unwrap();
        }
    });
    let mut snapshots = Vec::new();
    while !burst.is_finished() {
        snapshots.push(archive.snapshot().await.unwrap());
    }
    burst.await.unwrap();
    assert!(!snapshots.is_empty());
    for (i, snapshot) in snapshots.iter().enumerate() {
        let path = dir.path().join(format!("snap{i}.db"));
        std::fs::write(&path, snapshot).unwrap();
        let copy =
            crate::sql::Connection::Local(libsql::Builder::new_local(&path).build().await.unwrap().connect().unwrap());
        assert_eq!(first_text(&copy, "PRAGMA integrity_check").await.unwrap().as_deref(), Some("ok"));
        let providers = first_i64(&copy, "SELECT COUNT(*) FROM providers").await.unwrap().unwrap();
        let version = first_i64(&copy, "SELECT version FROM config_version").await.unwrap().unwrap();
        assert_eq!(providers, version, "snapshot {i} mixes two states");
    }
}
