//! Editing a JSON body without re-encoding what is not edited: the top-level object as an
//! ordered list of fields whose values stay raw text until one is touched, and arrays of raw
//! elements. Untouched fields keep their bytes (number spellings, key order, escapes).

use bytes::Bytes;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::GatewayError;

/// A JSON object's fields in the order they came, values unparsed.
#[derive(Debug)]
pub struct RawObject {
    fields: Vec<(String, Box<RawValue>)>,
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = RawObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(RawObject { fields })
            }
        }
        de.deserialize_map(Fields)
    }
}

fn invalid(e: serde_json::Error) -> GatewayError {
    GatewayError::InvalidRequest(format!("request body is not a valid JSON object: {e}"))
}

fn raw(value: &Value) -> Result<Box<RawValue>, GatewayError> {
    serde_json::value::to_raw_value(value).map_err(|e| GatewayError::internal("cannot encode a JSON value", e))
}

impl RawObject {
    pub fn parse(body: &[u8]) -> Result<RawObject, GatewayError> {
        serde_json::from_slice(body).map_err(invalid)
    }

    /// The field's raw value (the last one when a key repeats, as JSON parsers read it).
    pub fn raw(&self, key: &str) -> Option<&RawValue> {
        self.fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// The field parsed; `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.raw(key).and_then(|v| serde_json::from_str(v.get()).ok()).filter(|v: &Value| !v.is_null())
    }

    /// The first of `keys` present (e.g. a camelCase name and its snake_case spelling).
    pub fn key_of<'k>(&self, keys: &[&'k str]) -> Option<&'k str> {
        keys.iter().copied().find(|k| self.get(k).is_some())
    }

    /// Replaces the field in place (keeping its position) or appends it.
    pub fn set(&mut self, key: &str, value: &Value) -> Result<(), GatewayError> {
        self.set_raw(key, raw(value)?);
        Ok(())
    }

    /// Replaces the last field named `key` (dropping earlier duplicates, so the edit is what
    /// every reader sees) or appends it.
    pub fn set_raw(&mut self, key: &str, value: Box<RawValue>) {
        match self.fields.iter().rposition(|(k, _)| k == key) {
            Some(at) => {
                self.fields[at].1 = value;
                let mut index = 0;
                self.fields.retain(|(k, _)| {
                    let keep = k != key || index == at;
                    index += 1;
                    keep
                });
            }
            None => self.fields.push((key.to_owned(), value)),
        }
    }

    /// Removes the field (every occurrence).
    pub fn remove(&mut self, key: &str) {
        self.fields.retain(|(k, _)| k != key);
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out =
            Vec::with_capacity(self.fields.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum::<usize>() + 2);
        out.push(b'{');
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // A String always serializes.
            out.extend_from_slice(serde_json::to_string(key).unwrap_or_default().as_bytes());
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
        }
        out.push(b'}');
        Bytes::from(out)
    }
}

/// An array's elements, unparsed.
pub fn raw_elements(value: &RawValue) -> Option<Vec<Box<RawValue>>> {
    serde_json::from_str(value.get()).ok()
}

/// Raw elements back into one raw array.
pub fn raw_array(elements: &[Box<RawValue>]) -> Result<Box<RawValue>, GatewayError> {
    let mut text = String::with_capacity(elements.iter().map(|e| e.get().len() + 1).sum::<usize>() + 2);
    text.push('[');
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(element.get());
    }
    text.push(']');
    RawValue::from_string(text).map_err(|e| GatewayError::internal("cannot join raw JSON elements", e))
}

/// One value as a raw element.
pub fn raw_value(value: &Value) -> Result<Box<RawValue>, GatewayError> {
    raw(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn untouched_fields_keep_their_bytes_and_order() {
        let body = br#"{"z": 1.50, "model":"m", "a":{"x" : 1e3}, "n": null}"#;
        let mut obj = RawObject::parse(body).unwrap();
        assert_eq!(obj.get("model"), Some(json!("m")));
        assert_eq!(obj.get("n"), None, "null is absent");
        obj.set("model", &json!("other")).unwrap();
        obj.set("added", &json!([1])).unwrap();
        obj.remove("n");
        assert_eq!(&obj.to_bytes()[..], br#"{"z":1.50,"model":"other","a":{"x" : 1e3},"added":[1]}"#);
    }

    #[test]
    fn a_repeated_key_is_edited_where_readers_look() {
        let mut obj = RawObject::parse(br#"{"k":1,"x":0,"k":2}"#).unwrap();
        assert_eq!(obj.get("k"), Some(json!(2)));
        obj.set("k", &json!(3)).unwrap();
        assert_eq!(&obj.to_bytes()[..], br#"{"x":0,"k":3}"#);
        assert_eq!(obj.key_of(&["missing", "x"]), Some("x"));
    }

    #[test]
    fn arrays_split_and_join_without_reencoding() {
        let obj = RawObject::parse(br#"{"m":[ {"a":1.0} , "s" ]}"#).unwrap();
        let mut items = raw_elements(obj.raw("m").unwrap()).unwrap();
        items.insert(0, raw_value(&json!({"b": 2})).unwrap());
        assert_eq!(raw_array(&items).unwrap().get(), r#"[{"b":2},{"a":1.0},"s"]"#);
        assert!(RawObject::parse(b"[1]").is_err());
        assert!(RawObject::parse(b"{").is_err());
    }
}
