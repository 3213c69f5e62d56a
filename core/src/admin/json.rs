//! Management API plumbing: JSON answers, errors in one shape (OpenAI's, with `param` naming
//! the field at fault), request bodies parsed with the failing field named, timestamps.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::body::Body;
use crate::error::GatewayError;
use crate::render;

/// `200` with `value` as JSON.
pub fn ok<T: Serialize>(value: &T) -> Response<Body> {
    with_status(StatusCode::OK, value)
}

/// `201 Created` with `value` as JSON.
pub fn created<T: Serialize>(value: &T) -> Response<Body> {
    with_status(StatusCode::CREATED, value)
}

pub fn with_status<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => render::json(status, Bytes::from(bytes)),
        Err(e) => error(&GatewayError::internal("cannot encode a management response", e)),
    }
}

/// The management error body: `{"error": {"message", "type", "code", "param"}}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
    /// The request field at fault, for validation errors.
    pub param: Option<String>,
}

pub fn error(err: &GatewayError) -> Response<Body> {
    let param = match err {
        GatewayError::InvalidField { field, .. } => Some(field.clone()),
        _ => None,
    };
    let body = ErrorBody {
        error: ErrorDetail {
            message: err.client_message(),
            kind: err.kind().to_owned(),
            code: err.code().to_owned(),
            param,
        },
    };
    let mut response =
        render::json(err.status(), Bytes::from(serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())));
    render::note_failure(&mut response, &body.error.code, &body.error.message);
    match err {
        GatewayError::RateLimited { retry_after_secs, .. } => {
            response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(*retry_after_secs));
        }
        GatewayError::MethodNotAllowed { allowed, .. } => {
            response.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static(allowed));
        }
        _ => {}
    }
    response
}

/// A JSON body as `T`; errors name the field (`budget.limit`) and never echo values.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(GatewayError::InvalidRequest("a JSON body is required".into()));
    }
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::InvalidRequest(format!("request body is not valid JSON: {e}")))?;
    // Every management body is an object; serde would also read a struct from an array.
    if !value.is_object() {
        return Err(GatewayError::InvalidRequest("request body must be a JSON object".into()));
    }
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde's message ends with " at line L column C"; the field is what matters here.
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        let field = if path == "." { field_in_message(&message).unwrap_or_else(|| "body".into()) } else { path };
        GatewayError::InvalidField { field, message }
    })
}

/// JSON has one number type: `5.0` is the integer 5 (as JSON Schema's `integer` says), so
/// integral floats become integers before typed fields read them.
pub fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
            {
                // `u64::MAX as f64` is 2^64 itself, one past the range.
                if f >= 0.0 && f < u64::MAX as f64 {
                    *value = serde_json::Value::from(f as u64);
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *value = serde_json::Value::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// serde names a missing or unknown top-level field in backticks.
fn field_in_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// For `Option<Option<T>>` fields of update bodies: `null` → `Some(None)` (clear), absent →
/// `None` (keep). Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(de).map(Some)
}

/// PATCH: `current` with the JSON merge patch `body` applied (RFC 7396: objects merge, `null`
/// resets a field to its default), read back as `T` with the failing field named.
pub fn parse_merged<T: Serialize + DeserializeOwned>(current: &T, body: &[u8]) -> Result<T, GatewayError> {
    let patch: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::InvalidRequest(format!("request body is not valid JSON: {e}")))?;
    if !patch.is_object() {
        return Err(invalid("body", "must be a JSON object (a merge patch)"));
    }
    let mut merged =
        serde_json::to_value(current).map_err(|e| GatewayError::internal("cannot encode the value to patch", e))?;
    merge_patch(&mut merged, patch);
    parse(&serde_json::to_vec(&merged).map_err(|e| GatewayError::internal("cannot encode the patched value", e))?)
}

fn merge_patch(target: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value;
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(&key);
                } else {
                    merge_patch(target.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

/// A whole-config check that failed in [`crate::admin::commit`] (a dangling reference, a
/// cycle), blamed on the request field that caused it.
pub fn blame(field: &str) -> impl FnOnce(GatewayError) -> GatewayError + '_ {
    move |err| match err {
        GatewayError::InvalidRequest(message) => invalid(field, message),
        other => other,
    }
}

/// Refuses a value that breaks a rule, naming the field.
pub fn invalid(field: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidField { field: field.to_owned(), message: message.into() }
}

/// Unix ms → RFC 3339 (`2026-12-04T07:01:54Z`).
pub fn timestamp(ms: u64) -> String {
    crate::time::format_rfc3339(ms / 1000)
}

/// RFC 3339 → Unix ms, to the millisecond (instants before 1970 are 0: long past either way).
pub fn parse_timestamp(field: &str, text: &str) -> Result<u64, GatewayError> {
    crate::time::parse_rfc3339_ms(text)
        .map(|ms| u64::try_from(ms).unwrap_or(0))
        .ok_or_else(|| invalid(field, "must be an RFC 3339 timestamp such as 2027-01-31T00:00:00Z"))
}

/// A secret as lists may show it: its last four characters.
pub fn mask_secret(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    if secret.chars().count() <= 8 { "****".into() } else { format!("****{tail}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        inner: Option<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        limit: f64,
    }

    #[test]
    fn parse_errors_name_the_field() {
        let field = |body: &str| match parse::<Sample>(body.as_bytes()) {
            Err(GatewayError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(r#"{"inner":null}"#), "name");
        assert_eq!(field(r#"{"name":"a","bogus":1}"#), "bogus");
        assert_eq!(field(r#"{"name":"a","inner":{"limit":"x"}}"#), "inner.limit");
        assert_eq!(field(r#"{"name":5}"#), "name");
        assert!(matches!(parse::<Sample>(b"{"), Err(GatewayError::InvalidRequest(_))));
        #[derive(Debug, serde::Deserialize)]
        struct Count {
            n: u32,
        }
        assert_eq!(parse::<Count>(br#"{"n": 5.0}"#).unwrap().n, 5, "an integral float is an integer");
        assert!(parse::<Count>(br#"{"n": 5.5}"#).is_err());
        assert!(matches!(parse::<Sample>(b""), Err(GatewayError::InvalidRequest(_))));
        assert!(matches!(parse::<Sample>(br#"["a", null]"#), Err(GatewayError::InvalidRequest(_))), "not an object");
    }

    #[test]
    fn merge_patches_merge_objects_and_null_resets() {
        #[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        struct Doc {
            a: u32,
            inner: InnerDoc,
        }
        #[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        struct InnerDoc {
            x: u32,
            y: Option<String>,
        }
        let current = Doc { a: 1, inner: InnerDoc { x: 2, y: Some("k".into()) } };
        let merged: Doc = parse_merged(&current, br#"{"inner":{"y":null}}"#).unwrap();
        assert_eq!(merged, Doc { a: 1, inner: InnerDoc { x: 2, y: None } });
        let field = |body: &[u8]| match parse_merged::<Doc>(&current, body) {
            Err(GatewayError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(br#"{"inner":{"x":"no"}}"#), "inner.x");
        assert_eq!(field(br#"{"bogus":1}"#), "bogus");
        assert_eq!(field(b"[1]"), "body");
    }

    #[test]
    fn secrets_show_only_their_last_four() {
        assert_eq!(mask_secret("sk-abcdefghijkl1234"), "****1234");
        assert_eq!(mask_secret("short"), "****");
    }
}
