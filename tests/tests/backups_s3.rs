//! Backups to an S3 bucket: SeaweedFS (`weed mini`, SigV4 checked) as the destination of the
//! real server. Create, list, restore from the bucket; a wrong secret refused and nothing
//! listed; an upload cut short never listed.

use std::time::Duration;

use omniroute_tests::backup_support::{create_key, key_chat_status, require_key_gateway_with};
use omniroute_tests::mock_upstream::MockUpstream;
use omniroute_tests::seaweed::{ACCESS_KEY_ID, BUCKET, SECRET_ACCESS_KEY, Seaweed};
use rusty_s3::actions::S3Action;
use serde_json::json;
use tokio::io::AsyncWriteExt;

fn config(weed: &Seaweed, prefix: &str) -> String {
    format!(
        "[backup]\ns3_bucket = \"{BUCKET}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nprefix = \"{prefix}\"\n",
        weed.endpoint()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_go_to_the_bucket_and_restore_from_it() {
    let weed = Seaweed::start().await;
    let mock = MockUpstream::start();
    let env = [("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID), ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)];
    let gw = require_key_gateway_with(&mock, &config(&weed, "gw1/"), &env).await;
    let (key, id) = create_key(&gw, "in-the-bucket").await;

    let (status, made) = gw.admin_call("PUT", "/api/db-backups", None).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["where"], format!("s3://{BUCKET}/gw1/"));
    let name = made["name"].as_str().unwrap().to_owned();
    assert_eq!(weed.keys().await, [format!("gw1/{name}")], "the object is in the bucket under the prefix");
    let listed = gw.admin_get("/api/db-backups").await;
    assert_eq!(listed["backups"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["backups"][0]["size"], made["size"]);

    gw.admin_call("DELETE", &format!("/api/keys/{id}"), None).await;
    assert_eq!(key_chat_status(&gw, &key).await, 401);
    let (status, restored) = gw.admin_call("POST", "/api/db-backups", Some(json!({ "name": name }))).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(key_chat_status(&gw, &key).await, 200, "restored from the bucket");
    assert_eq!(weed.keys().await.len(), 2, "the safety backup went to the bucket too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_and_leaves_nothing() {
    let weed = Seaweed::start().await;
    let wrong = "not-the-secret-at-all-9876";
    let env = [("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID), ("AWS_SECRET_ACCESS_KEY", wrong)];
    let gw = omniroute_tests::gateway::TestGateway::start(&config(&weed, ""), &env).await;
    let response = gw.admin().put(gw.url("/api/db-backups")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(text.contains("refused (403): SignatureDoesNotMatch"), "{text}");
    assert!(!text.contains(wrong) && !text.contains("X-Amz-Signature"), "no credential in the answer: {text}");
    let listed = gw.admin().get(gw.url("/api/db-backups")).send().await.unwrap();
    assert_eq!(listed.status(), 502, "listing with the wrong secret is refused too");
    assert!(weed.keys().await.is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_short_is_never_listed() {
    let weed = Seaweed::start().await;
    let env = [("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID), ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)];
    let gw = omniroute_tests::gateway::TestGateway::start(&config(&weed, "gw/"), &env).await;
    // A correctly signed PUT of a name the gateway would list, killed half way through its body.
    let name = "omniroute-20261207T120000.000Z-manual.sqlite";
    let bucket = weed.bucket();
    let credentials = weed.credentials();
    let url = bucket.put_object(Some(&credentials), &format!("gw/{name}")).sign(Duration::from_secs(60));
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", weed.s3_port)).await.unwrap();
    let head = format!(
        "PUT {}?{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 1048576\r\n\r\n",
        url.path(),
        url.query().unwrap(),
        weed.s3_port
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"SQLite format 3\0").await.unwrap();
    stream.write_all(&vec![7u8; 300_000]).await.unwrap();
    stream.flush().await.unwrap();
    drop(stream);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let listed = gw.admin_get("/api/db-backups").await;
    assert!(listed["backups"].as_array().unwrap().is_empty(), "{listed}");
    assert!(weed.keys().await.is_empty(), "the bucket holds no partial object");
    // A whole one right after is listed.
    assert_eq!(gw.admin_call("PUT", "/api/db-backups", None).await.0, 201);
    assert_eq!(gw.admin_get("/api/db-backups").await["backups"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_without_credentials_stops_the_start_naming_what_is_missing() {
    let data = tempfile::tempdir().unwrap();
    let file = omniroute_core::config::FileConfig::parse("[backup]\ns3_bucket = \"b\"\n").unwrap();
    let mut settings = omniroute_server::Settings::from_file(Some(file));
    settings.host = "127.0.0.1".into();
    settings.port = 0;
    settings.data_dir = data.path().to_path_buf();
    let env = |name: &str| (name == "INITIAL_PASSWORD").then(|| "a-long-password".to_owned());
    let Err(error) = omniroute_server::start(settings, &env).await else { panic!("started without credentials") };
    let message = error.to_string();
    assert!(message.contains("AWS_ACCESS_KEY_ID") && message.contains("AWS_SECRET_ACCESS_KEY"), "{message}");
}
