//! A Hrana-over-HTTP client (the protocol of Turso and sqld, `POST /v2/pipeline`) on core's
//! `HttpClient` port, so the server, Lambda and the wasm32 Worker reach a remote database the
//! same way.
//!
//! A statement outside a transaction is one request (`execute` then `close`: nothing is left
//! open on the server). A transaction is a stream: the server hands back a baton with each
//! answer, the next request carries it, and `COMMIT` travels with the `close`. A stream dropped
//! without commit (an error on the way) is closed by the next request this client makes, which
//! rolls it back on the server, so a failed write never holds the write lock until the server's
//! stream timeout.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Value as Json, json};

use omniroute_core::ports::{Clock, HttpClient};

use super::{SqlError, Value};

/// The largest answer read (an export reads whole tables).
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// What one statement returned.
pub struct StmtResult {
    pub affected: u64,
    pub rows: VecDeque<Vec<Value>>,
}

/// A remote libSQL database.
pub struct HranaClient {
    http: Arc<dyn HttpClient>,
    /// `https://host[:port][/path]` (a `libsql://` URL is HTTPS, as Turso means it).
    base_url: String,
    /// `Bearer <token>`, or `None` for a server without auth.
    authorization: Option<String>,
    /// `scheme://host[:port]`, for messages (never the token).
    location: String,
    /// A request that has not answered by then fails (the `HttpClient`s have no overall
    /// timeout of their own: an upstream's stream may rightly run for minutes).
    timeout: Option<(Arc<dyn Clock>, Duration)>,
    /// Streams dropped mid-transaction, to close (and so roll back) before the next request:
    /// `(base URL, baton)`.
    abandoned: Mutex<Vec<(String, String)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl HranaClient {
    /// `url` is `libsql://`, `https://` or `http://`; `auth_token` empty for none; `location` is
    /// what messages call the database.
    pub fn new(http: Arc<dyn HttpClient>, url: &str, auth_token: &str, location: String) -> Self {
        let base_url = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("libsql") => format!("https://{rest}"),
            _ => url.to_owned(),
        };
        // A query string (Turso URLs may carry `?authToken=`, which this client does not use) is
        // not part of the endpoint.
        let base_url = base_url.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/').to_owned();
        let authorization = (!auth_token.is_empty()).then(|| format!("Bearer {auth_token}"));
        HranaClient { http, base_url, authorization, location, timeout: None, abandoned: Mutex::new(Vec::new()) }
    }

    /// Gives every request `limit` to answer, timed by `clock`.
    pub fn with_timeout(mut self, clock: Arc<dyn Clock>, limit: Duration) -> Self {
        self.timeout = Some((clock, limit));
        self
    }

    /// Runs one statement on its own (autocommit).
    pub async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<StmtResult, SqlError> {
        let answer = self.pipeline(&self.base_url, None, vec![execute(sql, params), json!({"type": "close"})]).await?;
        statement_result(first_result(&answer)?)
    }

    /// Runs `;`-separated statements on their own.
    pub async fn sequence(&self, sql: &str) -> Result<(), SqlError> {
        let answer = self
            .pipeline(&self.base_url, None, vec![json!({"type": "sequence", "sql": sql}), json!({"type": "close"})])
            .await?;
        first_result(&answer).map(drop)
    }

    /// A new stream, opened on the server by its first statement.
    pub fn open_stream(self: &Arc<Self>) -> HranaStream {
        HranaStream {
            client: self.clone(),
            state: Mutex::new(StreamState { baton: None, base_url: self.base_url.clone(), closed: false }),
        }
    }

    /// Sends one pipeline, closing abandoned streams first, and returns the answer's JSON.
    async fn pipeline(&self, base_url: &str, baton: Option<&str>, requests: Vec<Json>) -> Result<Json, SqlError> {
        let abandoned = std::mem::take(&mut *lock(&self.abandoned));
        for (url, baton) in abandoned {
            // Best effort: a stream the server already dropped is gone either way.
            if let Err(e) = self.send(&url, Some(&baton), vec![json!({"type": "close"})]).await {
                tracing::debug!(error = %e, "closing an abandoned database stream");
            }
        }
        self.send(base_url, baton, requests).await
    }

    async fn send(&self, base_url: &str, baton: Option<&str>, requests: Vec<Json>) -> Result<Json, SqlError> {
        let body = json!({"baton": baton, "requests": requests});
        let mut request = http::Request::post(format!("{base_url}/v2/pipeline"))
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header(http::header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Bytes::from(body.to_string()))
            .map_err(|e| SqlError(format!("database {}: cannot build a request: {e}", self.location)))?;
        let exchange = async {
            let response = self
                .http
                .send(request)
                .await
                .map_err(|e| SqlError(format!("database {} is unreachable: {e}", self.location)))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect(MAX_ANSWER_BYTES)
                .await
                .map_err(|e| SqlError(format!("database {}: reading the answer: {e}", self.location)))?;
            Ok::<_, SqlError>((status, bytes))
        };
        let (status, bytes) = match &self.timeout {
            None => exchange.await?,
            Some((clock, limit)) => {
                let sleep = clock.sleep(*limit);
                futures_util::pin_mut!(exchange);
                match futures_util::future::select(exchange, sleep).await {
                    futures_util::future::Either::Left((answer, _)) => answer?,
                    futures_util::future::Either::Right(_) => {
                        return Err(SqlError(format!(
                            "database {} did not answer within {} s",
                            self.location,
                            limit.as_secs()
                        )));
                    }
                }
            }
        };
        if !status.is_success() {
            // sqld says what is wrong in the body ("invalid baton", "Unauthorized: …"); it holds
            // no secret. Cut short in case a proxy answered with a page.
            let text = String::from_utf8_lossy(&bytes);
            let text: String = text.chars().take(300).collect();
            return Err(SqlError(format!("database {} answered HTTP {}: {}", self.location, status.as_u16(), text)));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| SqlError(format!("database {}: the answer is not Hrana JSON: {e}", self.location)))
    }
}

struct StreamState {
    baton: Option<String>,
    /// Where the stream lives (the server may move it with `base_url`).
    base_url: String,
    closed: bool,
}

/// One stream on the server: a transaction's statements, in order.
pub struct HranaStream {
    client: Arc<HranaClient>,
    state: Mutex<StreamState>,
}

impl HranaStream {
    /// Runs one statement on the stream.
    pub async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<StmtResult, SqlError> {
        let answer = self.request(vec![execute(sql, params)], false).await?;
        statement_result(first_result(&answer)?)
    }

    /// Runs `;`-separated statements on the stream.
    pub async fn sequence(&self, sql: &str) -> Result<(), SqlError> {
        let answer = self.request(vec![json!({"type": "sequence", "sql": sql})], false).await?;
        first_result(&answer).map(drop)
    }

    /// Runs `statements` on the stream in one request, as one Hrana batch whose every step
    /// runs only if the one before it succeeded; the first error, if any.
    ///
    /// Why a batch and not a pipeline of `execute`s: sqld takes the write lock away from a
    /// transaction that has held it for 5 s while another writer waits, rolling it back
    /// (`TRANSACTION_TIMEOUT`), and the stream then goes on in autocommit: in a pipeline, the
    /// statement that met the cut fails and the ones after it would each commit on their own.
    /// A batch's steps after a failed one never run (and sqld fails a cut batch whole).
    pub async fn execute_each(&self, statements: Vec<(String, Vec<Value>)>) -> Result<(), SqlError> {
        if statements.is_empty() {
            return Ok(());
        }
        let steps: Vec<Json> = statements
            .into_iter()
            .enumerate()
            .map(|(i, (sql, params))| match i.checked_sub(1) {
                None => json!({"stmt": stmt(&sql, params, false)}),
                Some(before) => {
                    json!({"stmt": stmt(&sql, params, false), "condition": {"type": "ok", "step": before}})
                }
            })
            .collect();
        let answer = self.request(vec![json!({"type": "batch", "batch": {"steps": steps}})], false).await?;
        let result = first_result(&answer)?
            .get("result")
            .ok_or_else(|| SqlError("the database's answer has no result".into()))?;
        let errors = result.get("step_errors").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        if let Some(error) = errors.iter().find(|e| !e.is_null()) {
            return Err(error_text(Some(error)));
        }
        let results = result.get("step_results").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        if results.is_empty() || results.iter().any(Json::is_null) {
            return Err(SqlError("the database skipped statements of a batch without saying why".into()));
        }
        Ok(())
    }

    /// `COMMIT` and close, in one request.
    pub async fn commit(&self) -> Result<(), SqlError> {
        let answer = self.request(vec![execute("COMMIT", Vec::new()), json!({"type": "close"})], true).await?;
        first_result(&answer).map(drop)
    }

    /// Closes the stream; an open transaction is rolled back.
    pub async fn close(&self) -> Result<(), SqlError> {
        if lock(&self.state).baton.is_none() {
            lock(&self.state).closed = true;
            return Ok(());
        }
        self.request(vec![json!({"type": "close"})], true).await.map(drop)
    }

    async fn request(&self, requests: Vec<Json>, closing: bool) -> Result<Json, SqlError> {
        let (base_url, baton) = {
            let state = lock(&self.state);
            if state.closed {
                return Err(SqlError("the database stream is closed".into()));
            }
            (state.base_url.clone(), state.baton.clone())
        };
        let answer = self.client.pipeline(&base_url, baton.as_deref(), requests).await;
        let mut state = lock(&self.state);
        match &answer {
            Ok(json) => {
                state.baton = json.get("baton").and_then(Json::as_str).map(str::to_owned);
                if let Some(url) = json.get("base_url").and_then(Json::as_str) {
                    state.base_url = url.trim_end_matches('/').to_owned();
                }
                // No baton back: the server ended the stream (or we closed it).
                state.closed = closing || state.baton.is_none();
            }
            // A stream whose request failed is unusable (its baton is spent or unknown).
            Err(_) => state.closed = true,
        }
        answer
    }
}

impl Drop for HranaStream {
    fn drop(&mut self) {
        let state = lock(&self.state);
        if let (false, Some(baton)) = (state.closed, &state.baton) {
            lock(&self.client.abandoned).push((state.base_url.clone(), baton.clone()));
        }
    }
}

/// An `execute` request for `sql` with positional `params`.
fn execute(sql: &str, params: Vec<Value>) -> Json {
    json!({"type": "execute", "stmt": stmt(sql, params, true)})
}

/// A statement: `sql` with positional `params`, its rows wanted or not.
fn stmt(sql: &str, params: Vec<Value>, want_rows: bool) -> Json {
    let args: Vec<Json> = params.into_iter().map(encode).collect();
    json!({"sql": sql, "args": args, "want_rows": want_rows})
}

fn encode(value: Value) -> Json {
    match value {
        Value::Null => json!({"type": "null"}),
        // Integers travel as strings (a JSON number would lose precision past 2^53).
        Value::Integer(i) => json!({"type": "integer", "value": i.to_string()}),
        Value::Real(f) if f.is_finite() => json!({"type": "float", "value": f}),
        // SQLite stores NaN as NULL; JSON has no infinity.
        Value::Real(_) => json!({"type": "null"}),
        Value::Text(s) => json!({"type": "text", "value": s}),
        Value::Blob(b) => json!({"type": "blob", "base64": BASE64.encode(b)}),
    }
}

fn decode(value: &Json) -> Result<Value, SqlError> {
    let bad = || SqlError(format!("the database sent a value this client cannot read: {value}"));
    Ok(match value.get("type").and_then(Json::as_str) {
        Some("null") => Value::Null,
        Some("integer") => Value::Integer(match value.get("value") {
            Some(Json::String(s)) => s.parse().map_err(|_| bad())?,
            Some(Json::Number(n)) => n.as_i64().ok_or_else(bad)?,
            _ => return Err(bad()),
        }),
        Some("float") => Value::Real(value.get("value").and_then(Json::as_f64).ok_or_else(bad)?),
        Some("text") => Value::Text(value.get("value").and_then(Json::as_str).ok_or_else(bad)?.to_owned()),
        Some("blob") => {
            let text = value.get("base64").and_then(Json::as_str).ok_or_else(bad)?;
            // sqld leaves the padding out.
            let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
            Value::Blob(engine.decode(text.trim_end_matches('=')).map_err(|_| bad())?)
        }
        _ => return Err(bad()),
    })
}

/// The first result of a pipeline answer: its `response`, or the statement's error.
fn first_result(answer: &Json) -> Result<&Json, SqlError> {
    let result = answer
        .get("results")
        .and_then(Json::as_array)
        .and_then(|results| results.first())
        .ok_or_else(|| SqlError("the database's answer has no results".into()))?;
    ok_response(result)
}

/// One result of a pipeline answer: its `response`, or the statement's error.
fn ok_response(result: &Json) -> Result<&Json, SqlError> {
    match result.get("type").and_then(Json::as_str) {
        Some("ok") => result.get("response").ok_or_else(|| SqlError("the database's answer has no response".into())),
        _ => Err(error_text(result.get("error"))),
    }
}

/// A Hrana error as `message (CODE)`.
fn error_text(error: Option<&Json>) -> SqlError {
    let message = error.and_then(|e| e.get("message")).and_then(Json::as_str).unwrap_or("unknown error");
    SqlError(match error.and_then(|e| e.get("code")).and_then(Json::as_str) {
        Some(code) => format!("{message} ({code})"),
        None => message.to_owned(),
    })
}

fn statement_result(response: &Json) -> Result<StmtResult, SqlError> {
    let result = response.get("result").ok_or_else(|| SqlError("the database's answer has no result".into()))?;
    let affected = result.get("affected_row_count").and_then(Json::as_u64).unwrap_or(0);
    let rows = match result.get("rows").and_then(Json::as_array) {
        Some(rows) => rows
            .iter()
            .map(|row| row.as_array().map_or(Ok(Vec::new()), |cells| cells.iter().map(decode).collect()))
            .collect::<Result<VecDeque<_>, _>>()?,
        None => VecDeque::new(),
    };
    Ok(StmtResult { affected, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_their_wire_form() {
        for value in [
            Value::Null,
            Value::Integer(i64::MAX),
            Value::Integer(-7),
            Value::Real(1.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 1, 2, 254, 255]),
        ] {
            assert_eq!(decode(&encode(value.clone())).unwrap(), value);
        }
        assert_eq!(encode(Value::Real(f64::NAN)), json!({"type": "null"}));
        assert!(decode(&json!({"type": "integer", "value": "x"})).is_err());
        assert!(decode(&json!({"type": "mystery"})).is_err());
    }

    #[test]
    fn a_statement_error_carries_its_message_and_code() {
        let answer = json!({"baton": null, "results": [
            {"type": "error", "error": {"message": "UNIQUE constraint failed: t.id", "code": "SQLITE_CONSTRAINT"}}
        ]});
        let err = first_result(&answer).unwrap_err();
        assert_eq!(err.0, "UNIQUE constraint failed: t.id (SQLITE_CONSTRAINT)");
    }

    #[test]
    fn rows_and_the_affected_count_are_read() {
        let response = json!({"type": "execute", "result": {
            "cols": [{"name": "a"}, {"name": "b"}],
            "rows": [[{"type": "integer", "value": "1"}, {"type": "text", "value": "x"}]],
            "affected_row_count": 0, "last_insert_rowid": null
        }});
        let result = statement_result(&response).unwrap();
        assert_eq!(result.rows, [vec![Value::Integer(1), Value::Text("x".into())]]);
    }
}
