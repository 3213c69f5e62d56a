//! How many items a chat body's conversation holds (messages, Gemini contents or Responses
//! items, plus the content blocks or parts directly inside each), counted while the probe
//! validates the JSON, without building anything. Decoding expands each small item into
//! hundreds of bytes of hub structures, so a body of 200k one-word messages would take
//! hundreds of MB: it is refused by count before it is decoded. The same walk notices a message
//! whose `role` is `system` (an Anthropic body with one must be edited before it passes through).

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
    /// An element has `"role": "system"`.
    pub system_turns: bool,
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
        let mut system_turns = false;
        if self.0 == Level::Conversation {
            while let Some(inner) = seq.next_element_seed(Counter(Level::Element))? {
                items = items.saturating_add(1).saturating_add(inner.items);
                system_turns |= inner.system_turns;
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {
                items = items.saturating_add(1);
            }
        }
        Ok(Conversation { is_array: true, items, system_turns })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Conversation, A::Error> {
        let mut items = 0usize;
        let mut system_turns = false;
        if self.0 == Level::Element {
            while let Some(is_role) = map.next_key_seed(IsKey("role"))? {
                if is_role {
                    system_turns |= map.next_value_seed(IsString("system"))?;
                } else {
                    items = items.saturating_add(map.next_value_seed(Counter(Level::Field))?.items);
                }
            }
        } else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        }
        Ok(Conversation { is_array: false, items, system_turns })
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

/// Whether a map key is this name (read without allocating when the key has no escapes).
struct IsKey(&'static str);

impl<'de> DeserializeSeed<'de> for IsKey {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsKey {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Whether a value is this string; any other value is read past (and is not).
struct IsString(&'static str);

impl<'de> DeserializeSeed<'de> for IsString {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IsString {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, value: &str) -> Result<bool, E> {
        Ok(value == self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
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
        assert_eq!(count("[]"), Conversation { is_array: true, items: 0, system_turns: false });
        let openai =
            r#"[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"a"}]}]"#;
        assert_eq!(count(openai).items, 3);
        let anthropic = r#"[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image"}]}]"#;
        assert_eq!(count(anthropic).items, 3);
        let gemini = r#"[{"role":"user","parts":[{"text":"a"},{"text":"b"},{"text":"c"}]}]"#;
        assert_eq!(count(gemini).items, 4);
        // Deeper structure (tool arguments, schemas) is validated, not counted.
        assert_eq!(count(r#"[{"content":[{"input":{"a":[1,2,3]}}]}]"#).items, 2);
        assert_eq!(
            count(r#""a plain Responses input""#),
            Conversation { is_array: false, items: 0, system_turns: false }
        );
        assert_eq!(count(r#"[1, "x", null, [true]]"#).items, 5);
    }

    #[test]
    fn system_turns_are_noticed_at_any_position() {
        let claude_code =
            r#"[{"role":"user","content":"hi"},{"role":"system","content":[{"type":"text","text":"env"}]}]"#;
        assert_eq!(count(claude_code), Conversation { is_array: true, items: 3, system_turns: true });
        assert!(count(r#"[{"r\u006fle":"sys\u0074em","content":"x"}]"#).system_turns, "escaped spellings too");
        for other in [
            r#"[{"role":"user","content":"system"}]"#,
            r#"[{"role":["system"]}]"#,
            r#"[{"content":[{"role":"system"}]}]"#,
            r#"[{"role":{"system":1}}]"#,
        ] {
            assert!(!count(other).system_turns, "{other}");
        }
    }

    #[test]
    fn two_hundred_thousand_tiny_messages_count_without_being_built() {
        let body = format!("[{}]", vec![r#"{"role":"user","content":"x"}"#; 200_000].join(","));
        assert_eq!(count(&body).items, 200_000);
        assert!(serde_json::from_str::<Conversation>("[{]").is_err(), "still validates");
    }
}
