//! Starting the real gateway in-process on an ephemeral port, with its own data dir, config
//! text and environment (injected, so parallel tests never share process env).

use std::collections::HashMap;
use std::time::Duration;

use omniroute_core::config::FileConfig;

use crate::mock_upstream::MockUpstream;
use omniroute_server::{RunningServer, Settings};
use tempfile::TempDir;

/// The admin password every test gateway starts with (`INITIAL_PASSWORD`).
pub const TEST_ADMIN_PASSWORD: &str = "test-admin-password";

/// A gateway serving on 127.0.0.1 for one test.
pub struct TestGateway {
    pub server: RunningServer,
    pub data_dir: TempDir,
    /// `auth_token=...`: a logged-in admin session.
    pub admin_cookie: String,
}

impl TestGateway {
    /// Starts with `config` (omniroute.toml text, may be empty) and env vars `env`.
    pub async fn start(config: &str, env: &[(&str, &str)]) -> TestGateway {
        Self::start_with(config, env, |_| {}).await
    }

    /// Like `start`, letting the test adjust settings (timeouts, limits) first.
    pub async fn start_with(config: &str, env: &[(&str, &str)], adjust: impl FnOnce(&mut Settings)) -> TestGateway {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let file = FileConfig::parse(config).expect("test config parses");
        let mut settings = Settings::from_file(Some(file));
        settings.host = "127.0.0.1".into();
        settings.port = 0;
        settings.data_dir = data_dir.path().to_path_buf();
        settings.shutdown_grace = Duration::from_secs(5);
        adjust(&mut settings);
        let mut env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        env.entry("INITIAL_PASSWORD".into()).or_insert_with(|| TEST_ADMIN_PASSWORD.into());
        let password = env["INITIAL_PASSWORD"].clone();
        let server = omniroute_server::start(settings, &|k| env.get(k).cloned()).await.expect("gateway starts");
        let admin_cookie = login(&format!("http://{}", server.addr), &password).await;
        TestGateway { server, data_dir, admin_cookie }
    }

    /// A client that sends the admin session cookie with every request.
    pub fn admin(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, self.admin_cookie.parse().expect("cookie header"));
        reqwest::Client::builder().default_headers(headers).build().expect("client")
    }

    /// `GET path` as the admin, as JSON.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        let response = self.admin().get(self.url(path)).send().await.expect("request");
        let status = response.status();
        let body = response.text().await.expect("body");
        if status == 401 {
            // Why the session was refused: what the store holds against what is served.
            let gateway = &self.server.booted.gateway;
            let stored = gateway.ports.config.load().await.expect("config");
            panic!(
                "GET {path}: 401 {body}; serving version {}, stored version {} with {} sessions; sync {:?}",
                gateway.snapshot().version,
                stored.version,
                stored.sessions.len(),
                gateway.sync.state()
            );
        }
        assert!(status.is_success(), "GET {path}: {status}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }

    /// `GET path` as the admin until `done` says the answer is complete (usage rows reach the
    /// store in batches), at most five seconds; the last answer.
    pub async fn admin_get_until(&self, path: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let mut answer = self.admin_get(path).await;
        for _ in 0..50 {
            if done(&answer) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            answer = self.admin_get(path).await;
        }
        answer
    }

    /// `method path` as the admin with an optional JSON body: the status and the JSON answer
    /// (`null` when there is none).
    pub async fn admin_call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.admin().request(method.parse().expect("method"), self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Turns on the security setting `allowPrivateUpstreams` (the mock upstreams are on
    /// loopback, which the SSRF guard refuses for base URLs set over the API otherwise).
    pub async fn allow_private_upstreams(&self) {
        let gateway = &self.server.booted.gateway;
        let value = serde_json::json!({ "allowPrivateUpstreams": true });
        let change = omniroute_core::config::ConfigChange::PutSetting { key: "security".into(), value };
        gateway.ports.config.apply(vec![change], None).await.expect("setting stored");
        gateway.refresh().await.expect("snapshot reloaded");
    }

    /// A gateway with one provider per wire format, all in front of `mock`: catalog `openai`,
    /// `anthropic`, `gemini` and `ollama` (set up through their env vars, as users do) and a
    /// custom `responses` provider speaking the Responses API.
    pub async fn with_every_format(mock: &MockUpstream) -> TestGateway {
        Self::with_every_format_and(mock, "").await
    }

    /// [`TestGateway::with_every_format`] with more config (TOML sections) before the providers.
    pub async fn with_every_format_and(mock: &MockUpstream, extra: &str) -> TestGateway {
        Self::with_every_format_adjusted(mock, extra, |_| {}).await
    }

    /// [`TestGateway::with_every_format_and`], letting the test adjust settings first.
    pub async fn with_every_format_adjusted(
        mock: &MockUpstream,
        extra: &str,
        adjust: impl FnOnce(&mut Settings),
    ) -> TestGateway {
        let config = format!(
            "{extra}\n[[providers]]\nid = \"responses\"\nformat = \"openai-responses\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  api_key = \"sk-test\"\n",
            mock.base_url()
        );
        let env = provider_env(mock);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Self::start_with(&config, &env, adjust).await
    }

    /// `POST /v1/chat/completions` for `model` with one user message and no key: status and
    /// JSON body.
    pub async fn chat(&self, model: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(self.url("/v1/chat/completions"))
            .json(&serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .expect("chat request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path)
    }

    /// Graceful shutdown (flushes usage).
    pub async fn stop(self) -> TempDir {
        self.server.shutdown().await;
        self.data_dir
    }
}

/// The env vars that set up the catalog `openai`, `anthropic`, `gemini` and `ollama` providers
/// in front of `mock`, as users do.
pub fn provider_env(mock: &MockUpstream) -> Vec<(&'static str, String)> {
    vec![
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        ("OPENAI_BASE_URL", mock.base_url()),
        ("ANTHROPIC_API_KEY", "sk-ant-test".to_owned()),
        ("ANTHROPIC_BASE_URL", mock.base_url()),
        ("GEMINI_API_KEY", "gemini-test".to_owned()),
        ("GEMINI_BASE_URL", mock.gemini_base_url()),
        ("OLLAMA_BASE_URL", mock.ollama_base_url()),
    ]
}

/// Logs in with `password`; returns the `auth_token=...` cookie.
pub async fn login(base_url: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base_url}/api/auth/login"))
        .json(&serde_json::json!({ "password": password }))
        .send()
        .await
        .expect("login request");
    assert_eq!(response.status(), 200, "login failed");
    let cookie = response.headers().get("set-cookie").expect("a session cookie").to_str().expect("ascii cookie");
    cookie.split(';').next().expect("cookie value").to_owned()
}

/// Asserts a management answer is a 400 naming `field` (`error.param`).
pub fn assert_refused(answer: (u16, serde_json::Value), field: &str, context: &str) {
    assert_eq!(answer.0, 400, "{context}: {}", answer.1);
    assert_eq!(answer.1["error"]["param"], field, "{context}: {}", answer.1);
}
