//! What happens to each upstream stream chunk on its way to the client: passed through
//! untouched (same format both sides, watched only for usage and completeness) or translated
//! (provider decoder → hub events → client encoder). Either way a broken or cut stream ends in
//! the client format's error event, never a silent truncated success.

use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use memchr::memmem::Finder;

use crate::formats::{self, ErrorInfo, StreamDecode, StreamEncode, StreamFraming};
use crate::hub::{Namespaces, StreamEvent, Usage};
use crate::pipeline::usage_tap::usage_in_chunk;
use crate::providers::WireFormat;
use crate::usage::estimate::{event_chars, openai_chunk_chars};

/// The per-chunk work of a relayed stream.
pub struct StreamTransform {
    mode: Mode,
    client: WireFormat,
    usage: Option<Usage>,
    /// Characters of answer text seen (an estimate's input when no usage comes).
    answer_chars: u64,
    error: Option<String>,
    /// An error event was written: nothing may follow it.
    ended: bool,
}

enum Mode {
    /// OpenAI chat both sides, the hot path: a byte scan for usage and for the end marker.
    OpenaiPassthrough {
        complete: bool,
    },
    /// Same format both sides: bytes untouched, a decoder on the side for usage and completeness.
    Passthrough {
        watch: Box<dyn StreamDecode>,
    },
    Translate {
        decoder: Box<dyn StreamDecode>,
        encoder: Box<dyn StreamEncode>,
    },
}

impl StreamTransform {
    pub fn passthrough(format: WireFormat) -> Self {
        let mode = match format {
            WireFormat::OpenaiChat => Mode::OpenaiPassthrough { complete: false },
            other => Mode::Passthrough { watch: formats::stream_decoder(other) },
        };
        Self::new(mode, format)
    }

    /// Translates `provider`'s stream into `client`'s; calls to the functions the client's request
    /// had in namespaces (`names`) name their namespace again.
    pub fn translate(provider: WireFormat, client: WireFormat, framing: StreamFraming, names: &Namespaces) -> Self {
        let mode = Mode::Translate {
            decoder: formats::stream_decoder(provider),
            encoder: formats::answer_stream_encoder(client, framing, names),
        };
        Self::new(mode, client)
    }

    fn new(mode: Mode, client: WireFormat) -> Self {
        StreamTransform { mode, client, usage: None, answer_chars: 0, error: None, ended: false }
    }

    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// Characters of answer text relayed so far.
    pub fn answer_chars(&self) -> u64 {
        self.answer_chars
    }

    /// Why the stream failed, if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The client's stream is over (an error event was written); stop reading the upstream.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// One upstream chunk → the bytes for the client (possibly none yet).
    pub fn chunk(&mut self, chunk: Bytes) -> Bytes {
        match &mut self.mode {
            Mode::OpenaiPassthrough { complete } => {
                if let Some(usage) = usage_in_chunk(&chunk) {
                    self.usage = Some(usage);
                }
                self.answer_chars += openai_chunk_chars(&chunk);
                // Searchers built once (per call they cost more than the search), and no
                // search at all once the end was seen.
                static DONE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"[DONE]"));
                static FINISHED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"finish_reason\":\""));
                if !*complete && (DONE.find(&chunk).is_some() || FINISHED.find(&chunk).is_some()) {
                    *complete = true;
                }
                chunk
            }
            Mode::Passthrough { watch } => {
                let events = watch.push(&chunk);
                self.observe(&events);
                chunk
            }
            Mode::Translate { decoder, .. } => {
                let events = decoder.push(&chunk);
                self.encode(events)
            }
        }
    }

    /// The upstream closed its body: flush, and report a cut if the format's end never came.
    pub fn finish(&mut self) -> Bytes {
        match &mut self.mode {
            Mode::OpenaiPassthrough { complete } => {
                if *complete {
                    Bytes::new()
                } else {
                    self.fail(formats::cut_stream_error())
                }
            }
            Mode::Passthrough { watch } => {
                let events = watch.finish();
                let cut = events.iter().find(|e| matches!(e, StreamEvent::Error { .. })).cloned();
                self.observe(&events);
                match cut {
                    // The bytes so far came through untouched; the error event is ours.
                    Some(error) if !self.ended => self.fail(error),
                    _ => Bytes::new(),
                }
            }
            Mode::Translate { decoder, .. } => {
                let events = decoder.finish();
                let mut out = BytesMut::from(&self.encode(events)[..]);
                // After an error event the encoder already wrote its trailer.
                if let Mode::Translate { encoder, .. } = &mut self.mode
                    && !self.ended
                {
                    out.extend_from_slice(&encoder.finish());
                }
                out.freeze()
            }
        }
    }

    /// The upstream broke (read error, idle timeout): the client's error event.
    pub fn upstream_failed(&mut self, message: String) -> Bytes {
        self.fail(StreamEvent::Error { status: 502, kind: "api_error".into(), message })
    }

    fn fail(&mut self, event: StreamEvent) -> Bytes {
        if self.ended {
            return Bytes::new();
        }
        match &mut self.mode {
            Mode::Translate { .. } => self.encode(vec![event]),
            _ => {
                let StreamEvent::Error { status, kind, message } = event else { return Bytes::new() };
                self.error.get_or_insert_with(|| message.clone());
                self.ended = true;
                let info = ErrorInfo { status, kind, code: None, message, param: None };
                formats::stream_error_event(self.client, &info)
            }
        }
    }

    fn observe(&mut self, events: &[StreamEvent]) {
        for event in events {
            self.answer_chars += event_chars(event);
            match event {
                StreamEvent::Usage(usage) => self.usage = Some(*usage),
                StreamEvent::Error { message, .. } => {
                    self.error.get_or_insert_with(|| message.clone());
                }
                _ => {}
            }
        }
    }

    /// Hub events through the client's encoder; an error event closes the client's stream.
    fn encode(&mut self, events: Vec<StreamEvent>) -> Bytes {
        self.observe(&events);
        let Mode::Translate { encoder, .. } = &mut self.mode else { return Bytes::new() };
        let mut out = BytesMut::new();
        for event in &events {
            if self.ended {
                break;
            }
            out.extend_from_slice(&encoder.push(event));
            if matches!(event, StreamEvent::Error { .. }) {
                self.ended = true;
                out.extend_from_slice(&encoder.finish());
            }
        }
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI_TEXT: &str = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn openai_passthrough_is_byte_identical_and_taps_usage() {
        let mut transform = StreamTransform::passthrough(WireFormat::OpenaiChat);
        let out = transform.chunk(Bytes::from_static(OPENAI_TEXT.as_bytes()));
        assert_eq!(out, OPENAI_TEXT.as_bytes());
        assert!(transform.finish().is_empty());
        assert_eq!(transform.usage().map(|u| (u.input_tokens, u.output_tokens)), Some((3, 1)));
        assert_eq!(transform.answer_chars(), 2, "`Hi`");
        assert_eq!(transform.error(), None);
    }

    #[test]
    fn a_cut_openai_passthrough_ends_in_an_error_event() {
        let mut transform = StreamTransform::passthrough(WireFormat::OpenaiChat);
        let first = OPENAI_TEXT.split("\n\n").next().unwrap_or_default();
        transform.chunk(Bytes::from(format!("{first}\n\n")));
        let tail = transform.finish();
        assert!(String::from_utf8_lossy(&tail).contains("\"error\""), "{tail:?}");
        assert!(transform.error().is_some());
        assert!(transform.ended());
    }

    #[test]
    fn translating_to_the_same_format_reencodes_the_same_text() {
        let mut transform = StreamTransform::translate(
            WireFormat::OpenaiChat,
            WireFormat::OpenaiChat,
            StreamFraming::Default,
            &Namespaces::default(),
        );
        let mut out = BytesMut::new();
        for byte in OPENAI_TEXT.as_bytes() {
            out.extend_from_slice(&transform.chunk(Bytes::copy_from_slice(&[*byte])));
        }
        out.extend_from_slice(&transform.finish());
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("\"content\":\"Hi\""), "{text}");
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        assert_eq!(transform.usage().map(|u| u.input_tokens), Some(3));
        assert_eq!(transform.answer_chars(), 2, "`Hi`");
    }

    #[test]
    fn a_broken_translated_stream_ends_with_one_error_event() {
        let mut transform = StreamTransform::translate(
            WireFormat::OpenaiChat,
            WireFormat::OpenaiChat,
            StreamFraming::Default,
            &Namespaces::default(),
        );
        transform.chunk(Bytes::from_static(OPENAI_TEXT.split("\n\n").next().unwrap_or_default().as_bytes()));
        let error = transform.upstream_failed("connection reset".into());
        assert!(String::from_utf8_lossy(&error).contains("connection reset"));
        assert!(transform.ended());
        assert!(transform.upstream_failed("again".into()).is_empty());
        assert_eq!(transform.error(), Some("connection reset"));
    }
}
