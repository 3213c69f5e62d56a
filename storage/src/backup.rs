//! `LocalDirBackupStore`: backup objects as files in a folder (the default; S3 comes later).

use std::path::PathBuf;

use bytes::Bytes;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{BackupError, BackupStore};

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

impl BackupStore for LocalDirBackupStore {
    fn put(&self, name: &str, data: Bytes) -> BoxFuture<'_, Result<(), BackupError>> {
        let path = self.path(name);
        let dir = self.dir.clone();
        boxed(async move {
            let path = path?;
            tokio::fs::create_dir_all(&dir).await.map_err(|e| BackupError(e.to_string()))?;
            tokio::fs::write(&path, &data).await.map_err(|e| BackupError(e.to_string()))
        })
    }

    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, BackupError>> {
        let path = self.path(name);
        boxed(async move {
            match tokio::fs::read(path?).await {
                Ok(data) => Ok(Some(Bytes::from(data))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(BackupError(e.to_string())),
            }
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, BackupError>> {
        let dir = self.dir.clone();
        boxed(async move {
            let mut names = Vec::new();
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
                Err(e) => return Err(BackupError(e.to_string())),
            };
            while let Some(entry) = entries.next_entry().await.map_err(|e| BackupError(e.to_string()))? {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
            names.sort();
            Ok(names)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_list_and_no_escape() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDirBackupStore::new(dir.path().join("backups"));
        assert!(store.list().await.unwrap().is_empty());
        store.put("b.db", Bytes::from_static(b"2")).await.unwrap();
        store.put("a.db", Bytes::from_static(b"1")).await.unwrap();
        assert_eq!(store.list().await.unwrap(), ["a.db", "b.db"]);
        assert_eq!(store.get("a.db").await.unwrap(), Some(Bytes::from_static(b"1")));
        assert_eq!(store.get("none").await.unwrap(), None);
        assert!(store.put("../x", Bytes::new()).await.is_err());
    }
}
