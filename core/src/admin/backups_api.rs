//! The database backup endpoints (the reference's `/api/db-backups*`): list, create now,
//! restore one (after a safety backup), export the database, import one (checked, migrated
//! forward), export everything as a `.tar.gz`. Admin only; creates, restores and imports are
//! audited (a restore's entry is written after the swap, so the restored log keeps it).

use bytes::Bytes;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::admin::backup_export::{effective_config_toml, manifest, tar_gz};
use crate::admin::backups::{self, BackupInfo, BackupKind, archive, archive_error};
use crate::admin::commit::{Change, commit, stored};
use crate::admin::json::{created, ok, parse};
use crate::body::{Body, CollectError};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::ports::Restored;

/// The largest database an import takes (the general body limit is for API calls, far
/// smaller; a database with months of usage rows is not).
pub const IMPORT_LIMIT: usize = 1 << 30;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupList {
    /// Oldest first.
    pub backups: Vec<BackupInfo>,
    /// Where backups go: `local:<folder>` or `s3://<bucket>/<prefix>`.
    pub location: String,
}

/// `POST /api/db-backups`: which backup to restore.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// A name from `GET /api/db-backups` (`backupId` and `id` are accepted too).
    #[serde(alias = "backupId", alias = "id")]
    pub name: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RestoreResult {
    pub ok: bool,
    /// The backup restored (absent for an import).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<String>,
    /// The backup of the state just replaced, to undo this.
    pub safety_backup: BackupInfo,
    /// The schema version the file had (it was migrated forward when older).
    pub from_schema_version: i64,
    /// Tables whose rows were replaced.
    pub tables: usize,
}

/// `GET /api/db-backups`.
pub async fn list(call: Call<'_>) -> Answer {
    let backups = backups::list(call.gateway).await?;
    Ok(ok(&BackupList { backups, location: call.gateway.ports.backup.location() }))
}

/// `PUT /api/db-backups`: a backup now.
pub async fn create(call: Call<'_>) -> Answer {
    let backup = backups::create(call.gateway, BackupKind::Manual).await?;
    audit(call.gateway, call.ctx, "backup.create", &backup.name, None).await?;
    Ok(created(&backup))
}

/// `POST /api/db-backups {"name"}`.
pub async fn restore(mut call: Call<'_>) -> Answer {
    let request: RestoreRequest = parse(&call.body_bytes().await?)?;
    let file = backups::fetch(call.gateway, &request.name).await?;
    let (restored, safety) = backups::restore_file(call.gateway, file, BackupKind::PreRestore).await?;
    audit(call.gateway, call.ctx, "backup.restore", &request.name, Some(&safety.name)).await?;
    Ok(ok(&result(Some(request.name), safety, restored)))
}

/// `GET /api/db-backups/export`: the database as a `.sqlite` file.
pub async fn export(call: Call<'_>) -> Answer {
    let data = archive(call.gateway)?.snapshot().await.map_err(archive_error)?;
    let name = format!("omniroute-{}.sqlite", stamp(call.gateway));
    Ok(download(data, "application/vnd.sqlite3", &name))
}

/// `POST /api/db-backups/import`: a `.sqlite` file as the body, or as the `file` field of a
/// `multipart/form-data` form (the reference's `curl -F file=@backup.sqlite`).
pub async fn import(mut call: Call<'_>) -> Answer {
    let content_type = call.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let limit = IMPORT_LIMIT.max(call.gateway.options.max_body_bytes);
    let body = call.take_body().collect(limit).await.map_err(|err| match err {
        CollectError::TooLarge { limit } => GatewayError::BodyTooLarge(limit),
        CollectError::Read(e) => GatewayError::InvalidRequest(format!("request body could not be read: {e}")),
    })?;
    let file = if content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        form_file(&content_type, &body)?
    } else {
        body
    };
    // Checked before the safety backup, so a refused file leaves no trace at all.
    if !file.starts_with(b"SQLite format 3\0") {
        return Err(GatewayError::InvalidRequest("the file is not a SQLite database".into()));
    }
    let (restored, safety) = backups::restore_file(call.gateway, file, BackupKind::PreImport).await?;
    audit(call.gateway, call.ctx, "backup.import", "database", Some(&safety.name)).await?;
    Ok(ok(&result(None, safety, restored)))
}

/// `GET /api/db-backups/exportAll`: the database, the effective config (secrets masked) and a
/// manifest, as a `.tar.gz`.
pub async fn export_all(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let archive = archive(gateway)?;
    let data = archive.snapshot().await.map_err(archive_error)?;
    let schema_version = archive.schema_version().await.map_err(archive_error)?;
    let config = stored(gateway).await?;
    let toml = effective_config_toml(&config);
    let now_ms = gateway.ports.clock.now_unix_ms();
    let manifest = manifest(now_ms, schema_version, config.version, data.len());
    let files: [(&str, &[u8]); 3] =
        [("manifest.json", &manifest), ("omniroute.sqlite", &data), ("config.toml", toml.as_bytes())];
    let tarball = tar_gz(&files, now_ms / 1000).map_err(|e| GatewayError::internal("cannot write the archive", e))?;
    let name = format!("omniroute-export-{}.tar.gz", stamp(gateway));
    Ok(download(Bytes::from(tarball), "application/gzip", &name))
}

fn result(restored: Option<String>, safety: BackupInfo, outcome: Restored) -> RestoreResult {
    RestoreResult {
        ok: true,
        restored,
        safety_backup: safety,
        from_schema_version: outcome.from_version,
        tables: outcome.tables,
    }
}

async fn audit(
    gateway: &Gateway,
    ctx: &RequestContext,
    action: &'static str,
    target: &str,
    safety: Option<&str>,
) -> Result<(), GatewayError> {
    let after = safety.map(|name| serde_json::json!({ "safetyBackup": name }));
    commit(gateway, ctx, Change { action, target: target.into(), before: None, after, changes: Vec::new() }).await
}

fn stamp(gateway: &Gateway) -> String {
    let ms = i64::try_from(gateway.ports.clock.now_unix_ms()).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y%m%dT%H%M%SZ").to_string()
}

fn download(data: Bytes, content_type: &'static str, filename: &str) -> Response<Body> {
    let mut response = Response::new(Body::Full(data));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    response
}

/// The `file` field of a `multipart/form-data` body (else its first field with a filename).
fn form_file(content_type: &str, body: &Bytes) -> Result<Bytes, GatewayError> {
    let refuse = |why: &str| GatewayError::InvalidRequest(format!("multipart body: {why}"));
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| refuse("no boundary"))?;
    let delimiter = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    let starts: Vec<usize> = finder.find_iter(body).collect();
    let mut fallback = None;
    for pair in starts.windows(2) {
        let mut start = pair[0] + delimiter.len();
        if body[start..].starts_with(b"\r\n") {
            start += 2;
        }
        let part = &body[start..pair[1]];
        let Some(split) = memchr::memmem::find(part, b"\r\n\r\n") else { continue };
        let headers = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
        let content_start = start + split + 4;
        // The CRLF before the next delimiter belongs to the delimiter.
        let end = if body[..pair[1]].ends_with(b"\r\n") { pair[1] - 2 } else { pair[1] };
        let bytes = body.slice(content_start..end.max(content_start));
        if headers.contains("name=\"file\"") {
            return Ok(bytes);
        }
        if fallback.is_none() && headers.contains("filename=") {
            fallback = Some(bytes);
        }
    }
    fallback.ok_or_else(|| refuse("no `file` field"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_field_is_found_in_a_form() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.sqlite\"\r\nContent-Type: application/octet-stream\r\n\r\nSQLite\r\nbytes\r\n--XyZ--\r\n",
        );
        let file = form_file("multipart/form-data; boundary=XyZ", &body).unwrap();
        assert_eq!(&file[..], b"SQLite\r\nbytes");
        assert!(form_file("multipart/form-data", &body).is_err());
        assert!(form_file("multipart/form-data; boundary=nope", &body).is_err());
    }
}
