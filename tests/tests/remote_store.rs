//! The remote libSQL store on a real sqld, beyond what the conformance suite covers: auth
//! (a wrong token is refused with a message that names the database and never the token),
//! migrations when several instances start together on an empty database, and a database
//! that is not there at start.

use std::time::{Duration, Instant};

use omniroute_native::bootstrap::open_remote_database;
use omniroute_storage::Database;
use omniroute_storage::migrations::{MIGRATIONS, current_version};
use omniroute_tests::sqld::Sqld;

async fn count(db: &Database, sql: &str) -> i64 {
    let mut rows = db.connection().query(sql, ()).await.unwrap();
    rows.next().await.unwrap().unwrap().get::<i64>(0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqld_with_auth_refuses_a_wrong_token_without_showing_it_and_takes_the_right_one() {
    let sqld = Sqld::start_with_auth().await;
    let wrong = Sqld::foreign_token();
    for (token, what) in [(wrong.as_str(), "a token signed by another key"), ("", "no token")] {
        let err = open_remote_database(&sqld.url, token).await.err().unwrap_or_else(|| panic!("{what} was accepted"));
        let message = err.to_string();
        assert!(message.contains(&sqld.url), "{what}: the message names the database: {message}");
        assert!(message.contains("refused") || message.contains("401"), "{what}: says it was refused: {message}");
        if !token.is_empty() {
            assert!(!message.contains(token), "{what}: the token leaked into: {message}");
            let signature = token.rsplit('.').next().unwrap();
            assert!(!message.contains(signature), "{what}: part of the token leaked into: {message}");
        }
    }
    let token = sqld.token();
    let db = open_remote_database(&sqld.url, &token).await.expect("the right token is accepted");
    assert_eq!(current_version(db.connection()).await.unwrap(), MIGRATIONS.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_on_an_empty_database_migrate_it_once() {
    let sqld = Sqld::start().await;
    let opens = (0..4).map(|_| open_remote_database(&sqld.url, ""));
    let opened = futures_util::future::join_all(opens).await;
    let dbs: Vec<Database> = opened.into_iter().map(|r| r.expect("every instance starts")).collect();
    for db in &dbs {
        assert_eq!(current_version(db.connection()).await.unwrap(), MIGRATIONS.len() as i64);
    }
    assert_eq!(
        count(&dbs[0], "SELECT COUNT(*) FROM schema_migrations").await,
        MIGRATIONS.len() as i64,
        "each migration recorded exactly once"
    );
    // One database: a row written through one instance is read through another.
    dbs[1]
        .connection()
        .execute("INSERT INTO providers (id, source, created_at, updated_at) VALUES ('shared', 'api', 0, 0)", ())
        .await
        .unwrap();
    assert_eq!(count(&dbs[3], "SELECT COUNT(*) FROM providers WHERE id = 'shared'").await, 1);
    // A restart on the migrated database applies nothing and keeps the row.
    drop(dbs);
    let again = open_remote_database(&sqld.url, "").await.unwrap();
    assert_eq!(count(&again, "SELECT COUNT(*) FROM providers").await, 1);
    assert_eq!(count(&again, "SELECT COUNT(*) FROM schema_migrations").await, MIGRATIONS.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_not_there_at_start_is_a_quick_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/some/path?authToken=secret-in-url");
    let started = Instant::now();
    let err = open_remote_database(&url, "secret-token").await.err().expect("nothing listens there");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let message = err.to_string();
    assert!(message.contains(&format!("http://127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("secret") && !message.contains("/some/path"), "{message}");
    let bad = open_remote_database("postgres://x", "").await.err().expect("not a libSQL URL");
    assert!(bad.to_string().contains("libsql://"), "{bad}");
}
