//! The Worker's own error answers (startup and conversion failures) in OpenAI's error shape.
//! Messages say what to fix; they never echo config text, header values or keys.

use http::StatusCode;
use omniroute_core::Body;

/// `{"error":{"message","type","param":null,"code"}}` with the given status.
pub fn error_response(status: StatusCode, kind: &str, code: &str, message: &str) -> http::Response<Body> {
    let body = serde_json::json!({
        "error": { "message": message, "type": kind, "param": null, "code": code }
    });
    let mut response = http::Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// A 500 `api_error`: the gateway could not serve this request at all.
pub fn internal(code: &str, message: &str) -> http::Response<Body> {
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "api_error", code, message)
}
