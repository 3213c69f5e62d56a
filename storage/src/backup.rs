//! `LocalDirBackupStore`: backup objects as files in a folder (the default destination).
//!
//! A write goes to a hidden temporary name (`.<name>.partial`), is synced, then renamed into
//! place: a backup interrupted mid-write (the process killed, the disk full) leaves only a
//! hidden partial file, which `list` never returns, and the next write of that name replaces it.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{BackupError, BackupObject, BackupStore};

/// Backups under one directory; object names may not escape it.
pub struct LocalDirBackupStore {
    dir: PathBuf,
}

impl LocalDirBackupStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalDirBackupStore { dir: dir.into() }
    }

    fn path(&self, name: &str) -> Result<PathBuf, BackupError> {
        let safe = !name.is_empty() && !name.contains('/') && !name.contains('\\') && !name.starts_with('.');
        if safe { Ok(self.dir.join(name)) } else { Err(BackupError(format!("invalid backup name '{name}'"))) }
    }
}

fn io(e: std::io::Error) -> BackupError {
    BackupError(e.to_string())
}

impl BackupStore for LocalDirBackupStore {
    fn put(&self, name: &str, data: Bytes) -> BoxFuture<'_, Result<(), BackupError>> {
        let path = self.path(name);
        let partial = self.dir.join(format!(".{name}.partial"));
        let dir = self.dir.clone();
        boxed(async move {
            let path = path?;
            tokio::task::spawn_blocking(move || -> Result<(), BackupError> {
                use std::io::Write;
                std::fs::create_dir_all(&dir).map_err(io)?;
                let mut file = private_file(&partial).map_err(io)?;
                file.write_all(&data).map_err(io)?;
                file.sync_all().map_err(io)?;
                drop(file);
                std::fs::rename(&partial, &path).map_err(io)?;
                // The rename itself survives a crash once the directory is synced.
                std::fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(io)
            })
            .await
            .map_err(|e| BackupError(e.to_string()))?
        })
    }

    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, BackupError>> {
        let path = self.path(name);
        boxed(async move {
            match tokio::fs::read(path?).await {
                Ok(data) => Ok(Some(Bytes::from(data))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(e)),
            }
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<BackupObject>, BackupError>> {
        let dir = self.dir.clone();
        boxed(async move {
            let mut objects = Vec::new();
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(objects),
                Err(e) => return Err(io(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(io)? {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(meta) = entry.metadata().await else { continue };
                // Hidden names are writes in progress (or interrupted ones).
                if name.starts_with('.') || !meta.is_file() {
                    continue;
                }
                let modified_ms =
                    meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64);
                objects.push(BackupObject { name, size: meta.len(), modified_ms });
            }
            objects.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(objects)
        })
    }

    fn delete(&self, name: &str) -> BoxFuture<'_, Result<(), BackupError>> {
        let path = self.path(name);
        boxed(async move {
            match tokio::fs::remove_file(path?).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(e)),
            }
        })
    }

    fn location(&self) -> String {
        format!("local:{}", self.dir.display())
    }
}

/// A backup holds what the database holds: only the owner may read it.
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_list_delete_and_no_escape() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDirBackupStore::new(dir.path().join("backups"));
        assert!(store.list().await.unwrap().is_empty());
        store.put("b.db", Bytes::from_static(b"22")).await.unwrap();
        store.put("a.db", Bytes::from_static(b"1")).await.unwrap();
        let listed = store.list().await.unwrap();
        assert_eq!(listed.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["a.db", "b.db"]);
        assert_eq!(listed[1].size, 2);
        assert!(listed[0].modified_ms.is_some());
        assert_eq!(store.get("a.db").await.unwrap(), Some(Bytes::from_static(b"1")));
        assert_eq!(store.get("none").await.unwrap(), None);
        assert!(store.put("../x", Bytes::new()).await.is_err());
        store.delete("a.db").await.unwrap();
        assert_eq!(store.list().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_interrupted_write_is_never_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDirBackupStore::new(dir.path());
        // What a write killed before its rename leaves behind.
        std::fs::write(dir.path().join(".c.db.partial"), b"half").unwrap();
        assert!(store.list().await.unwrap().is_empty());
        store.put("c.db", Bytes::from_static(b"whole")).await.unwrap();
        assert_eq!(store.list().await.unwrap().len(), 1);
        assert!(!dir.path().join(".c.db.partial").exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn backups_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDirBackupStore::new(dir.path());
        store.put("p.db", Bytes::from_static(b"x")).await.unwrap();
        let mode = std::fs::metadata(dir.path().join("p.db")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
