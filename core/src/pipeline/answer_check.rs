//! A success status is not enough: an upstream (or a captive portal, a proxy's notice page, a
//! misrouted base URL) may answer 200 with HTML. Such an answer is a failed attempt, checked
//! before anything reaches the client so the next target can still answer; the checks read
//! only headers and the first bytes, never the whole answer.

use http::{HeaderMap, StatusCode};

/// Why an answer with a success status is not the answer.
#[derive(Debug, thiserror::Error)]
#[error("upstream answered HTTP {status} with {what}, not the promised {promised}")]
pub struct NotTheAnswer {
    status: u16,
    what: String,
    promised: &'static str,
}

fn promised(streaming: bool) -> &'static str {
    if streaming { "event stream" } else { "JSON" }
}

/// The content type must be one an answer comes in: JSON for a complete answer; an event
/// stream, NDJSON or a JSON array (Gemini without `alt=sse`) for a stream. A missing one is
/// let through (some local servers send none); the body check below still applies.
pub fn content_type(headers: &HeaderMap, streaming: bool, status: StatusCode) -> Result<(), NotTheAnswer> {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    // Compared in place, without a lowercased copy: this runs on every answer.
    let essence = value.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim();
    let is = |name: &str| essence.eq_ignore_ascii_case(name);
    let json = is("application/json")
        || essence.len() > 5 && essence.get(essence.len() - 5..).is_some_and(|tail| tail.eq_ignore_ascii_case("+json"));
    let stream = [
        "text/event-stream",
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/json-seq",
    ]
    .into_iter()
    .any(is);
    if json || (streaming && stream) || (!streaming && is("application/x-ndjson")) {
        return Ok(());
    }
    Err(NotTheAnswer {
        status: status.as_u16(),
        what: format!("content type `{}`", essence.to_ascii_lowercase()),
        promised: promised(streaming),
    })
}

/// The first bytes must start an answer: a JSON value for a complete answer; an SSE field or
/// comment, or a JSON value, for a stream. Markup (`<html>`, `<!DOCTYPE`) and plain text are not.
pub fn body_start(bytes: &[u8], streaming: bool, status: StatusCode) -> Result<(), NotTheAnswer> {
    let Some(&first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        // Nothing yet, or an empty body: decoding says what is missing.
        return Ok(());
    };
    let starts_answer = match first {
        b'{' | b'[' => true,
        // `data:`, `event:`, `id:`, `retry:` and `:` comments.
        b'd' | b'e' | b'i' | b'r' | b':' => streaming,
        _ => false,
    };
    if starts_answer {
        return Ok(());
    }
    let head: String =
        String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).chars().filter(|c| !c.is_control()).collect();
    Err(NotTheAnswer {
        status: status.as_u16(),
        what: format!("a body starting `{head}`"),
        promised: promised(streaming),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, value.parse().unwrap());
        headers
    }

    #[test]
    fn html_is_not_an_answer() {
        let ok = StatusCode::OK;
        assert!(content_type(&typed("text/html; charset=utf-8"), false, ok).is_err());
        assert!(content_type(&typed("text/html"), true, ok).is_err());
        assert!(content_type(&typed("text/plain"), false, ok).is_err());
        let err = body_start(b"<!DOCTYPE html><html>", false, ok).unwrap_err().to_string();
        assert!(err.contains("<!DOCTYPE html>") && err.contains("not the promised JSON"), "{err}");
        assert!(body_start(b"<html>", true, ok).is_err());
        assert!(body_start(b"Service Unavailable", false, ok).is_err());
        assert!(body_start(b"data: {}", false, ok).is_err(), "a complete answer is JSON");
    }

    #[test]
    fn every_answer_shape_passes() {
        let ok = StatusCode::OK;
        for (value, streaming) in [
            ("application/json", false),
            ("application/json; charset=utf-8", false),
            ("application/problem+json", false),
            ("text/event-stream", true),
            ("text/event-stream; charset=utf-8", true),
            ("application/x-ndjson", true),
            ("application/json", true),
        ] {
            assert!(content_type(&typed(value), streaming, ok).is_ok(), "{value}");
        }
        assert!(content_type(&HeaderMap::new(), false, ok).is_ok());
        for (body, streaming) in [
            (&b" {\"id\":1}"[..], false),
            (b"[{}]", false),
            (b"data: {}\n\n", true),
            (b"event: message_start\n", true),
            (b": keep-alive\n", true),
            (b"{\"model\":\"x\"}\n", true),
            (b"", false),
        ] {
            assert!(body_start(body, streaming, ok).is_ok(), "{}", String::from_utf8_lossy(body));
        }
    }
}
