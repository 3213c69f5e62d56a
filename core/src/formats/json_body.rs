//! The JSON-object bodies every codec reads: the parse-and-check prelude of `decode_request`
//! (client errors, 400) and `decode_response` (upstream errors, 502), the two error
//! constructors, and the top-level field readers and sampling writer the request codecs share.

use serde_json::{Map, Value, json};

use crate::error::GatewayError;
use crate::hub::Sampling;

/// A client sent something the format does not accept (400).
pub(crate) fn invalid(message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest(message.into())
}

/// An upstream answered with something that is not a usable answer (502).
pub(crate) fn unavailable(message: impl Into<String>) -> GatewayError {
    GatewayError::UpstreamUnavailable(message.into())
}

/// A client's request body as a JSON object.
pub(crate) fn client_object(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(invalid("request body must be a JSON object")),
        Err(e) => Err(invalid(format!("request body is not valid JSON: {e}"))),
    }
}

/// An upstream's response body as a JSON object.
pub(crate) fn upstream_object(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(unavailable("upstream response is not a JSON object")),
        Err(e) => Err(unavailable(format!("upstream sent a response that is not valid JSON: {e}"))),
    }
}

/// Removes the required top-level `model`: a non-empty string.
pub(crate) fn take_model(obj: &mut Map<String, Value>) -> Result<String, GatewayError> {
    match obj.remove("model") {
        Some(Value::String(model)) if !model.is_empty() => Ok(model),
        _ => Err(invalid("`model` is required and must be a non-empty string")),
    }
}

/// Removes an optional number (`null` counts as absent).
pub(crate) fn take_f64(obj: &mut Map<String, Value>, key: &str) -> Result<Option<f64>, GatewayError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| invalid(format!("`{key}` must be a number"))),
    }
}

/// Removes an optional non-negative integer (`null` counts as absent).
pub(crate) fn take_u64(obj: &mut Map<String, Value>, key: &str) -> Result<Option<u64>, GatewayError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| invalid(format!("`{key}` must be a non-negative integer"))),
    }
}

/// An optional array of strings (absent or `null`: empty); `name` is how errors call the field.
pub(crate) fn string_list(value: Option<Value>, name: &str) -> Result<Vec<String>, GatewayError> {
    let not_strings = || invalid(format!("`{name}` must be an array of strings"));
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(not_strings()),
            })
            .collect(),
        Some(_) => Err(not_strings()),
    }
}

/// What a format calls the hub's sampling fields (`None`: the format has no such field).
pub(crate) struct SamplingKeys {
    pub temperature: &'static str,
    pub top_p: &'static str,
    pub top_k: Option<&'static str>,
    pub max_tokens: &'static str,
    pub stop: &'static str,
    pub seed: &'static str,
    pub presence_penalty: &'static str,
    pub frequency_penalty: &'static str,
}

/// Writes the sampling fields that are set under the format's names (an empty stop list is
/// not set).
pub(crate) fn put_sampling(obj: &mut Map<String, Value>, s: &Sampling, keys: &SamplingKeys) {
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            obj.insert(key.into(), value);
        }
    };
    put(keys.temperature, s.temperature.map(|v| json!(v)));
    put(keys.top_p, s.top_p.map(|v| json!(v)));
    if let Some(top_k) = keys.top_k {
        put(top_k, s.top_k.map(|v| json!(v)));
    }
    put(keys.max_tokens, s.max_tokens.map(|v| json!(v)));
    put(keys.stop, (!s.stop.is_empty()).then(|| json!(s.stop)));
    put(keys.seed, s.seed.map(|v| json!(v)));
    put(keys.presence_penalty, s.presence_penalty.map(|v| json!(v)));
    put(keys.frequency_penalty, s.frequency_penalty.map(|v| json!(v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_are_not_json_objects_are_named() {
        for (body, needle) in [(&b"{"[..], "not valid JSON"), (b"[]", "must be a JSON object")] {
            let err = client_object(body).unwrap_err();
            assert!(matches!(&err, GatewayError::InvalidRequest(m) if m.contains(needle)), "{err}");
        }
        for (body, needle) in [(&b"{"[..], "not valid JSON"), (b"[1]", "not a JSON object")] {
            let err = upstream_object(body).unwrap_err();
            assert!(matches!(&err, GatewayError::UpstreamUnavailable(m) if m.contains(needle)), "{err}");
        }
        assert_eq!(client_object(b"{\"a\":1}").unwrap()["a"], 1);
    }

    #[test]
    fn field_readers_treat_null_as_absent_and_name_bad_values() {
        let mut obj = json!({ "t": null, "n": "x", "k": -1, "model": "" }).as_object().cloned().unwrap();
        assert_eq!(take_f64(&mut obj, "t"), Ok(None));
        assert!(take_f64(&mut obj, "n").unwrap_err().to_string().contains("`n` must be a number"));
        assert!(take_u64(&mut obj, "k").unwrap_err().to_string().contains("`k` must be a non-negative integer"));
        assert!(take_model(&mut obj).unwrap_err().to_string().contains("`model`"));
        assert_eq!(string_list(Some(json!(["a", "b"])), "s"), Ok(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(string_list(Some(Value::Null), "s"), Ok(Vec::new()));
        for bad in [json!("a"), json!([1])] {
            assert_eq!(string_list(Some(bad), "s"), Err(invalid("`s` must be an array of strings")));
        }
        assert!(obj.is_empty(), "every reader removes its field");
    }
}
