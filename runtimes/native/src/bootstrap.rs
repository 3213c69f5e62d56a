//! Start-up on libSQL, the same for every native runtime: open the database (migrations
//! applied), load the secret key, sync the config file and env-var providers into the store,
//! build the ports and the gateway, and set the first admin password.

use std::sync::Arc;

use omniroute_core::Gateway;
use omniroute_core::bootstrap::ensure_admin_password;
use omniroute_core::config::{BackupSettings, declare};
use omniroute_core::ports::entropy::OsEntropy;
use omniroute_core::ports::memory::MemoryCacheStore;
use omniroute_core::ports::s3_backup::{S3BackupStore, S3Credentials};
use omniroute_core::ports::{BackupStore, Clock, ConfigStore, DatabaseArchive, HttpClient, Ports};
use omniroute_storage::secrets::KeySource;
use omniroute_storage::{
    Database, LibsqlArchive, LibsqlStores, LibsqlUsageSink, LocalDirBackupStore, RemoteArchive, SecretBox, StorageKind,
};

use crate::clock::SystemClock;
use crate::http_client::UpstreamHttpClient;
use crate::settings::{DatabaseTarget, NativeSettings};
use crate::spawner::TokioSpawner;

/// Usage rows held in memory at most before new ones are counted as dropped.
const USAGE_BUFFER_ROWS: usize = 100_000;

/// Why the gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config file, an env var or the admin password is wrong.
    #[error("{0}")]
    Config(String),
    /// The database or the secret key could not be opened or written.
    #[error("storage: {0}")]
    Storage(String),
}

/// A ready gateway and the handles the runtime needs to finish its work (flush usage, wait
/// for spawned tasks) before it stops or freezes.
pub struct Bootstrapped {
    pub gateway: Arc<Gateway>,
    pub usage: Arc<LibsqlUsageSink>,
    pub spawner: TokioSpawner,
    /// Where backups go and when scheduled ones run (`[backup]`).
    pub backup: BackupSettings,
}

/// Builds the gateway. `env` reads environment variables (injectable for tests). The runtime
/// sets whatever depends on how it is reached (the server's loopback host names) in
/// `settings.gateway` first.
pub async fn bootstrap(
    settings: &NativeSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Bootstrapped, StartError> {
    let db = open_database(settings, env).await?;
    if db.kind() == StorageKind::Remote && env("OMNIROUTE_SECRET").is_none_or(|s| s.is_empty()) {
        // A key generated here would seal provider keys that no other instance could open.
        return Err(StartError::Config(
            "OMNIROUTE_SECRET must be set with a remote database: every instance sharing it needs the same secret to read the stored provider keys".into(),
        ));
    }
    let (secrets, source) = SecretBox::load_or_generate(env("OMNIROUTE_SECRET").as_deref(), &settings.data_dir)
        .map_err(|e| StartError::Storage(e.to_string()))?;
    if source == KeySource::Generated {
        tracing::warn!(
            path = %settings.data_dir.join("secret.key").display(),
            "OMNIROUTE_SECRET is not set: generated an encryption key for stored API keys; keep this file (or set OMNIROUTE_SECRET) or stored keys cannot be read"
        );
    }
    let remote = db.kind() == StorageKind::Remote;
    let stores = LibsqlStores::new(db.clone(), secrets, USAGE_BUFFER_ROWS);
    let config_store = stores.config.clone();
    if remote {
        // Before the sync below seals this instance's env keys with its secret.
        config_store.check_secret().await.map_err(|e| StartError::Config(e.0))?;
    }
    let declared = declare(settings.file.as_ref(), env).map_err(|e| StartError::Config(e.to_string()))?;
    config_store.sync_declared(declared).await.map_err(|e| StartError::Storage(e.to_string()))?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let cache_clock = clock.clone();
    // The file is copied with `VACUUM INTO`; a remote database is read in one transaction into
    // a local file (scratch files in the data dir), since `VACUUM INTO` would write the copy on
    // the database server's own disk.
    let archive: Arc<dyn DatabaseArchive> = match db.kind() {
        StorageKind::Remote => Arc::new(RemoteArchive::new(db.clone(), settings.data_dir.clone())),
        StorageKind::File | StorageKind::Memory => Arc::new(LibsqlArchive::new(db.clone())),
    };
    let archive = Some(archive);
    let LibsqlStores { usage, usage_query, cooldowns, responses, .. } = stores;
    let spawner = TokioSpawner::default();
    let http: Arc<dyn HttpClient> =
        Arc::new(UpstreamHttpClient::new(settings.connect_timeout).map_err(StartError::Config)?);
    let backup_settings = BackupSettings::resolve(settings.file.as_ref().map(|f| &f.backup), env)
        .map_err(|e| StartError::Config(e.to_string()))?;
    let backup = backup_store(settings, &backup_settings, env, http.clone(), clock.clone())?;
    tracing::info!(location = %backup.location(), every = ?backup_settings.every, keep = ?backup_settings.keep, "backups");
    let ports = Ports {
        http,
        clock,
        config: config_store,
        usage: usage.clone(),
        usage_query,
        cache: Arc::new(MemoryCacheStore::new(move || cache_clock.now_unix_ms())),
        backup,
        archive,
        spawner: Arc::new(spawner.clone()),
        cooldowns,
        entropy: Arc::new(OsEntropy),
        responses,
    };
    let options = settings.gateway.clone().with_env(env);
    let gateway = Gateway::new(ports, options).await.map_err(|e| StartError::Storage(e.to_string()))?;
    match ensure_admin_password(&gateway, env("INITIAL_PASSWORD").as_deref()).await {
        Ok(Some(generated)) => show_generated_password(&generated, &settings.data_dir),
        Ok(None) => {}
        Err(e) => return Err(StartError::Config(e.to_string())),
    }
    let snapshot = gateway.snapshot();
    if snapshot.is_empty() {
        tracing::info!(
            "no providers configured yet: set a key such as OPENAI_API_KEY=sk-... (or ANTHROPIC_API_KEY, GROQ_API_KEY, ...) or add a [[providers]] entry to omniroute.toml, then restart"
        );
    } else {
        for provider in snapshot.providers() {
            tracing::info!(provider = %provider.id, base_url = %provider.base_url, accounts = provider.connections.len(), "provider ready");
        }
    }
    Ok(Bootstrapped { gateway: Arc::new(gateway), usage, spawner, backup: backup_settings })
}

/// The backup destination: the S3 bucket when `[backup] s3_bucket` is set (credentials from
/// the AWS environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// which is also how Lambda and ECS hand out a role's), else the local folder.
fn backup_store(
    settings: &NativeSettings,
    backup: &BackupSettings,
    env: &dyn Fn(&str) -> Option<String>,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn BackupStore>, StartError> {
    let Some(destination) = &backup.s3 else {
        let dir = backup.dir.as_ref().map_or_else(|| settings.data_dir.join("backups"), std::path::PathBuf::from);
        return Ok(Arc::new(LocalDirBackupStore::new(dir)));
    };
    let (Some(access_key_id), Some(secret_access_key)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
    else {
        return Err(StartError::Config(
            "[backup] s3_bucket is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not".into(),
        ));
    };
    let credentials = S3Credentials { access_key_id, secret_access_key, session_token: env("AWS_SESSION_TOKEN") };
    let store =
        S3BackupStore::new(destination, credentials, http, clock).map_err(|e| StartError::Config(e.to_string()))?;
    Ok(Arc::new(store))
}

/// Opens the database `settings` and `env` select (migrations applied). A remote database that
/// cannot be reached at start is an error: the runtime stops with the message (which names the
/// database by scheme, host and port, never the token) rather than serve without its keys.
pub async fn open_database(
    settings: &NativeSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Database, StartError> {
    let storage = |e: omniroute_storage::DatabaseError| StartError::Storage(e.to_string());
    match settings.database(env) {
        DatabaseTarget::File(path) => Database::open_file(&path).await.map_err(storage),
        DatabaseTarget::Remote(remote) => {
            let db = open_remote_database(&remote.url, &remote.auth_token).await.map_err(storage)?;
            tracing::info!(database = db.location(), "using the remote libSQL database");
            Ok(db)
        }
    }
}

/// Connects to the remote database at `url` over the native HTTP client (direct, TLS through
/// rustls), with tokio timing its requests.
pub async fn open_remote_database(url: &str, auth_token: &str) -> Result<Database, omniroute_storage::DatabaseError> {
    let http = crate::http_client::DirectHttpClient::new(std::time::Duration::from_secs(10))
        .map_err(omniroute_storage::DatabaseError::Io)?;
    Database::open_remote(url, auth_token, Arc::new(http), Arc::new(SystemClock::new())).await
}

/// A generated admin password is shown once: on the terminal when there is one, else in a file
/// only the owner can read. Never through the logger (logs are kept and shipped).
fn show_generated_password(password: &str, data_dir: &std::path::Path) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!(
            "\n  omniroute admin password (shown once; log in with POST /api/auth/login, change it with PUT /api/auth/password):\n\n      {password}\n"
        );
        return;
    }
    let path = data_dir.join("initial-admin-password");
    match omniroute_storage::secrets::write_private(&path, password) {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "generated an admin password; read it from this file, then delete the file")
        }
        Err(e) => {
            tracing::error!(error = %e, "generated an admin password but could not write it anywhere; set INITIAL_PASSWORD and use a new data dir")
        }
    }
}
