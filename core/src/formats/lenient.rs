//! Typed reads of upstream JSON fields that are as forgiving as `Value::as_str`/`as_u64`: a
//! field of an unexpected JSON type reads as absent instead of failing the whole event. Used
//! by stream decoders on their per-token events, where building a `serde_json::Value` map
//! per event was most of the decode cost.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A string field; borrowed from the input when it holds no escapes.
#[derive(Debug, Default)]
pub(crate) struct Str<'a>(pub Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The text, owned, when present and not empty.
    pub fn non_empty(&self) -> Option<String> {
        self.as_deref().filter(|t| !t.is_empty()).map(str::to_owned)
    }
}

/// An unsigned integer field.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct U64(pub Option<u64>);

/// Answers `None` for every JSON type the field does not want, draining containers.
macro_rules! absent_for_other_types {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> { Ok(Default::default()) })*
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v))))
            }
            absent_for_other_types!(visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
        }
        deserializer.deserialize_any(StrVisitor)
    }
}

impl<'de> de::Deserialize<'de> for U64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct U64Visitor;
        impl<'de> Visitor<'de> for U64Visitor {
            type Value = U64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(U64(Some(v)))
            }
            absent_for_other_types!(visit_bool(bool), visit_i64(i64), visit_f64(f64), visit_str(&str));
        }
        deserializer.deserialize_any(U64Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Fields<'a> {
        #[serde(borrow, default)]
        s: Str<'a>,
        #[serde(default)]
        n: U64,
        #[serde(default)]
        after: U64,
    }

    fn read(json: &str) -> (Option<String>, Option<u64>, Option<u64>) {
        let f: Fields = serde_json::from_str(json).unwrap();
        (f.s.as_deref().map(str::to_owned), f.n.0, f.after.0)
    }

    #[test]
    fn other_types_read_as_absent_like_value_accessors() {
        assert_eq!(read(r#"{"s":"a\nb","n":3,"after":1}"#), (Some("a\nb".into()), Some(3), Some(1)));
        assert_eq!(read(r#"{"s":5,"n":"3","after":1}"#), (None, None, Some(1)));
        assert_eq!(read(r#"{"s":{"x":[1,{"y":2}]},"n":[1,2],"after":1}"#), (None, None, Some(1)));
        assert_eq!(read(r#"{"s":null,"n":-1,"after":1}"#), (None, None, Some(1)));
        assert_eq!(read(r#"{"n":1.5,"after":1}"#), (None, None, Some(1)));
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let f: Fields = serde_json::from_str(r#"{"s":"plain"}"#).unwrap();
        assert!(matches!(f.s.0, Some(Cow::Borrowed("plain"))));
    }
}
