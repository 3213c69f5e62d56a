//! Documentation of the database backup endpoints (`/api/db-backups*`).
#![allow(dead_code)]

use utoipa::OpenApi;

use super::common::ManagementErrors;
use crate::admin::backups::BackupInfo;
use crate::admin::backups_api::{BackupList, RestoreRequest, RestoreResult};
use crate::admin::json::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    paths(list_backups, create_backup, restore_backup, export_database, import_database, export_all),
    components(schemas(BackupInfo, BackupList, RestoreRequest, RestoreResult))
)]
pub struct Doc;

/// Errors beside the usual ones: the destination failed (an S3 refusal, a full disk), or this
/// runtime keeps no database file.
#[derive(utoipa::IntoResponses)]
pub enum BackupErrors {
    /// The backup destination failed (its error named, never a credential).
    #[response(status = 502)]
    Destination(ErrorBody),
    /// This runtime has no database file to back up (memory stores).
    #[response(status = 501)]
    NoDatabase(ErrorBody),
}

/// The backups in the destination (a local folder or an S3 bucket), oldest first: name, size,
/// when, why (`manual`, `scheduled`, `pre-restore`, `pre-import`) and where. A backup whose
/// upload did not complete is never listed.
#[utoipa::path(get, path = "/api/db-backups", tag = "backups", responses((status = 200, body = BackupList), ManagementErrors, BackupErrors))]
fn list_backups() {}

/// Take a backup now: a consistent copy of the database (`VACUUM INTO`, while writes go on),
/// stored under a new name. Audited.
#[utoipa::path(put, path = "/api/db-backups", tag = "backups", responses((status = 201, body = BackupInfo), ManagementErrors, BackupErrors))]
fn create_backup() {}

/// Restore a backup by name: a safety backup of the current state is taken first, then every
/// table's rows are replaced in one transaction (writes arriving meanwhile wait, none is lost);
/// the config reloads at once. Audited.
#[utoipa::path(post, path = "/api/db-backups", tag = "backups", request_body = RestoreRequest, responses((status = 200, body = RestoreResult), ManagementErrors, BackupErrors))]
fn restore_backup() {}

/// Download the database as a `.sqlite` file (a consistent copy).
#[utoipa::path(get, path = "/api/db-backups/export", tag = "backups", responses((status = 200, description = "The database file", content_type = "application/vnd.sqlite3", body = Vec<u8>), ManagementErrors, BackupErrors))]
fn export_database() {}

/// Replace the database with an uploaded `.sqlite` file: the raw body, or the `file` field of a
/// form. The file must be an intact omniroute database at a schema version this build knows
/// (an older one is migrated forward); anything else is a 400 and changes nothing. A safety
/// backup is taken first. Audited.
#[utoipa::path(post, path = "/api/db-backups/import", tag = "backups",
    request_body(content(
        (Vec<u8> = "application/octet-stream"),
        (Vec<u8> = "application/vnd.sqlite3")
    ), description = "A SQLite database file (or `multipart/form-data` with a `file` field)"),
    responses((status = 200, body = RestoreResult), ManagementErrors, BackupErrors))]
fn import_database() {}

/// Download everything as a `.tar.gz`: `omniroute.sqlite` (the database), `config.toml` (the
/// effective configuration with every secret masked) and `manifest.json`.
#[utoipa::path(get, path = "/api/db-backups/exportAll", tag = "backups", responses((status = 200, description = "A gzip-compressed tar archive", content_type = "application/gzip", body = Vec<u8>), ManagementErrors, BackupErrors))]
fn export_all() {}
