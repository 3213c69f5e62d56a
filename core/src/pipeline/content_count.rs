//! How many items a chat body's conversation holds (messages, Gemini contents or Responses
//! items, plus the content blocks or parts directly inside each), counted while the probe
//! validates the JSON, without building anything. Decoding expands each small item into
//! hundreds of bytes of hub structures, so a body of 200k one-word messages would take
//! hundreds of MB: it is refused by count before it is decoded.

use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The conversation value (`messages`, `contents` or `input`) as the probe sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conversation {
    /// It is a JSON array (Responses' `input` may also be a string).
    pub is_array: bool,
    /// Its elements plus the elements of the arrays among each element's fields (content
    /// blocks, parts).
    pub items: usize,
}

impl<'de> Deserialize<'de> for Conversation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Counter(Level::Conversation).deserialize(deserializer)
    }
}

/// Where in the conversation a value stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The conversation itself: each element counts, with what it holds.
    Conversation,
    /// A message (content, part holder): the arrays among its fields count.
    Element,
    /// A message's field: counts its elements if it is an array.
    Field,
}

struct Counter(Level);

impl<'de> DeserializeSeed<'de> for Counter {
    type Value = Conversation;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Conversation, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counter {
    type Value = Conversation;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Conversation, A::Error> {
        let mut items = 0usize;
        if self.0 == Level::Conversation {
            while let Some(inner) = seq.next_element_seed(Counter(Level::Element))? {
                items = items.saturating_add(1).saturating_add(inner.items);
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {
                items = items.saturating_add(1);
            }
        }
        Ok(Conversation { is_array: true, items })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Conversation, A::Error> {
        let mut items = 0usize;
        if self.0 == Level::Element {
            while map.next_key::<IgnoredAny>()?.is_some() {
                items = items.saturating_add(map.next_value_seed(Counter(Level::Field))?.items);
            }
        } else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        }
        Ok(Conversation { is_array: false, items })
    }

    fn visit_str<E>(self, _: &str) -> Result<Conversation, E> {
        Ok(Conversation::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Conversation, E> {
        Ok(Conversation::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Conversation, E> {
        Ok(Conversation::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Conversation, E> {
        Ok(Conversation::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Conversation, E> {
        Ok(Conversation::default())
    }

    fn visit_unit<E>(self) -> Result<Conversation, E> {
        Ok(Conversation::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(json: &str) -> Conversation {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn messages_and_their_blocks_count() {
        assert_eq!(count("[]"), Conversation { is_array: true, items: 0 });
        let openai =
            r#"[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"a"}]}]"#;
        assert_eq!(count(openai).items, 3);
        let anthropic = r#"[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image"}]}]"#;
        assert_eq!(count(anthropic).items, 3);
        let gemini = r#"[{"role":"user","parts":[{"text":"a"},{"text":"b"},{"text":"c"}]}]"#;
        assert_eq!(count(gemini).items, 4);
        // Deeper structure (tool arguments, schemas) is validated, not counted.
        assert_eq!(count(r#"[{"content":[{"input":{"a":[1,2,3]}}]}]"#).items, 2);
        assert_eq!(count(r#""a plain Responses input""#), Conversation { is_array: false, items: 0 });
        assert_eq!(count(r#"[1, "x", null, [true]]"#).items, 5);
    }

    #[test]
    fn two_hundred_thousand_tiny_messages_count_without_being_built() {
        let body = format!("[{}]", vec![r#"{"role":"user","content":"x"}"#; 200_000].join(","));
        assert_eq!(count(&body).items, 200_000);
        assert!(serde_json::from_str::<Conversation>("[{]").is_err(), "still validates");
    }
}
