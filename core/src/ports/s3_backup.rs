//! `S3BackupStore`: the `BackupStore` port on any S3-compatible bucket (AWS S3, R2, MinIO,
//! SeaweedFS), for every runtime.
//!
//! Why this client: requests are SigV4-signed by `rusty-s3`, a sans-IO crate that only builds
//! and signs URLs (query-string SigV4, valid for a few minutes), and are sent through the
//! core's own `HttpClient` port. That is one implementation for the server, Lambda and the
//! Worker (`worker::Fetch` fills the port on wasm32), with time from the `Clock` port (nothing
//! reads the system clock on wasm32). `aws-sdk-s3` would need tokio and hyper (it cannot be in
//! the core, nor on the Worker) and, with `aws-config`, resolves to 189 crates (measured with
//! `cargo tree -e normal`); rusty-s3 added 17 packages to Cargo.lock (hmac, the sha2 0.11
//! family, jiff, instant-xml, xmlparser; `url` was already here), all of which build for wasm32.
//!
//! Completeness: a single `PutObject` is atomic in S3: the object exists once the whole body
//! arrived and was acknowledged, never before; an upload cut short (the process killed, the
//! connection dropped, a wrong `Content-Length`) leaves no object, so `list` shows only
//! complete backups. Errors carry the S3 error code and message, never the signed URL (which
//! names the access key) nor a credential.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rusty_s3::actions::{ListObjectsV2, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};

use crate::config::S3Destination;
use crate::maybe_send::{BoxFuture, boxed};
use crate::ports::{BackupError, BackupObject, BackupStore, Clock, HttpClient};

/// How long a signed URL stays valid: long enough for one big upload.
const SIGNATURE_VALID: Duration = Duration::from_secs(15 * 60);

/// The largest answer read back (a backup object).
const MAX_OBJECT_BYTES: usize = 1 << 31;

/// S3 credentials: the access key id, the secret, and a session token for temporary ones
/// (a role's, as Lambda and ECS hand them out in `AWS_SESSION_TOKEN`).
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials").finish_non_exhaustive()
    }
}

/// Backups as objects `<prefix><name>` in one bucket.
pub struct S3BackupStore {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    location: String,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
}

impl S3BackupStore {
    /// Path-style URLs (`<endpoint>/<bucket>/<key>`): every S3-compatible server takes them,
    /// and local endpoints (an IP address) allow no other.
    pub fn new(
        destination: &S3Destination,
        credentials: S3Credentials,
        http: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BackupError> {
        let endpoint = url::Url::parse(&destination.endpoint)
            .map_err(|e| BackupError(format!("invalid S3 endpoint '{}': {e}", destination.endpoint)))?;
        let bucket = Bucket::new(endpoint, UrlStyle::Path, destination.bucket.clone(), destination.region.clone())
            .map_err(|e| BackupError(format!("invalid S3 bucket '{}': {e}", destination.bucket)))?;
        let credentials = match credentials.session_token {
            Some(token) => Credentials::new_with_token(credentials.access_key_id, credentials.secret_access_key, token),
            None => Credentials::new(credentials.access_key_id, credentials.secret_access_key),
        };
        let location = format!("s3://{}/{}", destination.bucket, destination.prefix);
        Ok(S3BackupStore { bucket, credentials, prefix: destination.prefix.clone(), location, http, clock })
    }

    fn now(&self) -> jiff::Timestamp {
        let ms = i64::try_from(self.clock.now_unix_ms()).unwrap_or(i64::MAX);
        jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    fn key(&self, name: &str) -> Result<String, BackupError> {
        let safe = !name.is_empty() && !name.contains('/') && !name.contains('\\') && !name.starts_with('.');
        if safe {
            Ok(format!("{}{name}", self.prefix))
        } else {
            Err(BackupError(format!("invalid backup name '{name}'")))
        }
    }

    /// Sends one signed request; the status and the whole answer.
    async fn send(&self, method: http::Method, url: url::Url, body: Bytes) -> Result<(u16, Bytes), BackupError> {
        let what = format!("{method} {}", redacted(&url));
        // A client's error text may quote the URL (reqwest's does): never with its signature.
        let query = url.query().unwrap_or_default().to_owned();
        let scrub = |e: &dyn std::fmt::Display| {
            let text = e.to_string();
            let text = if query.is_empty() { text } else { text.replace(&query, "<signature>") };
            BackupError(format!("{what}: {text}"))
        };
        let request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(body)
            .map_err(|e| scrub(&e))?;
        let response = self.http.send(request).await.map_err(|e| scrub(&e))?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect(MAX_OBJECT_BYTES)
            .await
            .map_err(|e| scrub(&format!("reading the answer: {e}")))?;
        Ok((status, bytes))
    }

    async fn put_inner(&self, name: &str, data: Bytes) -> Result<(), BackupError> {
        let key = self.key(name)?;
        let url = self.bucket.put_object(Some(&self.credentials), &key).sign_with_time(SIGNATURE_VALID, &self.now());
        let (status, body) = self.send(http::Method::PUT, url, data).await?;
        expect_success("PutObject", status, &body)
    }

    async fn get_inner(&self, name: &str) -> Result<Option<Bytes>, BackupError> {
        let key = self.key(name)?;
        let url = self.bucket.get_object(Some(&self.credentials), &key).sign_with_time(SIGNATURE_VALID, &self.now());
        let (status, body) = self.send(http::Method::GET, url, Bytes::new()).await?;
        if status == 404 {
            return Ok(None);
        }
        expect_success("GetObject", status, &body)?;
        Ok(Some(body))
    }

    async fn delete_inner(&self, name: &str) -> Result<(), BackupError> {
        let key = self.key(name)?;
        let url = self.bucket.delete_object(Some(&self.credentials), &key).sign_with_time(SIGNATURE_VALID, &self.now());
        let (status, body) = self.send(http::Method::DELETE, url, Bytes::new()).await?;
        expect_success("DeleteObject", status, &body)
    }

    async fn list_inner(&self) -> Result<Vec<BackupObject>, BackupError> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.credentials));
            if !self.prefix.is_empty() {
                action.with_prefix(self.prefix.as_str());
            }
            if let Some(token) = &token {
                action.with_continuation_token(token.as_str());
            }
            let url = action.sign_with_time(SIGNATURE_VALID, &self.now());
            let (status, body) = self.send(http::Method::GET, url, Bytes::new()).await?;
            expect_success("ListObjectsV2", status, &body)?;
            let text = std::str::from_utf8(&body).map_err(|_| BackupError("ListObjectsV2: not UTF-8".into()))?;
            let page = ListObjectsV2::parse_response(text)
                .map_err(|e| BackupError(format!("ListObjectsV2: unreadable answer: {e}")))?;
            for item in page.contents {
                let Some(name) = item.key.strip_prefix(&self.prefix) else { continue };
                // Objects under a deeper "folder" of the prefix are not ours.
                if name.is_empty() || name.contains('/') {
                    continue;
                }
                let modified_ms = item
                    .last_modified
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .and_then(|t| u64::try_from(t.timestamp_millis()).ok());
                objects.push(BackupObject { name: name.to_owned(), size: item.size.unwrap_or(0), modified_ms });
            }
            match page.next_continuation_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
            }
        }
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }
}

/// The URL without its query (the signature and the access key id).
fn redacted(url: &url::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

/// A 2xx, or the S3 error's code and message (`SignatureDoesNotMatch: The request signature…`).
fn expect_success(action: &str, status: u16, body: &[u8]) -> Result<(), BackupError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_owned())
    };
    let detail = match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => format!("HTTP {status}"),
    };
    Err(BackupError(format!("{action} refused ({status}): {detail}")))
}

impl BackupStore for S3BackupStore {
    fn put(&self, name: &str, data: Bytes) -> BoxFuture<'_, Result<(), BackupError>> {
        let name = name.to_owned();
        boxed(async move { self.put_inner(&name, data).await })
    }

    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, BackupError>> {
        let name = name.to_owned();
        boxed(async move { self.get_inner(&name).await })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<BackupObject>, BackupError>> {
        boxed(self.list_inner())
    }

    fn delete(&self, name: &str) -> BoxFuture<'_, Result<(), BackupError>> {
        let name = name.to_owned();
        boxed(async move { self.delete_inner(&name).await })
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_s3_code_and_urls_lose_their_signature() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>";
        let err = expect_success("PutObject", 403, body).unwrap_err().to_string();
        assert!(err.contains("SignatureDoesNotMatch"), "{err}");
        let url =
            url::Url::parse("http://127.0.0.1:9000/b/k?X-Amz-Credential=AKID%2F20261207&X-Amz-Signature=abc").unwrap();
        assert_eq!(redacted(&url), "http://127.0.0.1:9000/b/k");
    }
}
