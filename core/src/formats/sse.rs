//! Server-sent events framing: an incremental parser (bytes in, events out, any split point)
//! and an encoder. Ours, so we control buffering and never emit comment lines.

use bytes::{Bytes, BytesMut};

/// One parsed event: its `event:` name (if any) and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Incremental SSE parser. Push chunks as they arrive; complete events come out.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: BytesMut,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk and returns every event it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(pos) = memchr::memchr(b'\n', &self.buf) {
            let mut line = self.buf.split_to(pos + 1);
            line.truncate(pos);
            if line.last() == Some(&b'\r') {
                line.truncate(pos - 1);
            }
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        events
    }

    /// Ends the input: an event not followed by a blank line still counts.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let rest = rest.strip_suffix(b"\r").unwrap_or(&rest).to_vec();
            if let Some(event) = self.line(&rest) {
                return Some(event);
            }
        }
        self.dispatch()
    }

    fn line(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let mut value = &line[i + 1..];
                if value.first() == Some(&b' ') {
                    value = &value[1..];
                }
                (&line[..i], value)
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(&value);
                }
                None => self.data = Some(value.into_owned()),
            },
            b"event" => self.event = Some(value.into_owned()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        self.data.take().map(|data| SseEvent { event, data })
    }
}

/// Appends one event whose data is `value` as JSON, serialized straight into `out` (one
/// `data:` line: serde_json escapes every newline inside strings, so none appears raw).
pub fn write_json_event<T: serde::Serialize + ?Sized>(out: &mut BytesMut, event: Option<&str>, value: &T) {
    use bytes::BufMut;
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\n");
    }
    out.extend_from_slice(b"data: ");
    // Writing to memory cannot fail, and these types always serialize.
    let _ = serde_json::to_writer(out.writer(), value);
    out.extend_from_slice(b"\n\n");
}

/// Encodes one event: optional `event:` line, one `data:` line per data line, blank line.
pub fn encode_event(event: Option<&str>, data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 16);
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\n");
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\n");
    }
    out.extend_from_slice(b"\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str =
        "event: message\r\ndata: {\"a\":\"é\"}\r\n\r\n: keep-alive\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        let mut whole = SseParser::new();
        let expected = whole.push(bytes);
        assert_eq!(expected.len(), 3);
        assert_eq!(expected[0].event.as_deref(), Some("message"));
        assert_eq!(expected[0].data, "{\"a\":\"é\"}");
        assert_eq!(expected[1].data, "line1\nline2");
        for split in 0..bytes.len() {
            let mut parser = SseParser::new();
            let mut events = parser.push(&bytes[..split]);
            events.extend(parser.push(&bytes[split..]));
            assert_eq!(events, expected, "split at {split}");
        }
    }

    #[test]
    fn finish_flushes_an_unterminated_event() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: tail").is_empty());
        assert_eq!(parser.finish().map(|e| e.data), Some("tail".to_string()));
    }

    #[test]
    fn encode_round_trips() {
        let bytes = encode_event(Some("x"), "a\nb");
        let events = SseParser::new().push(&bytes);
        assert_eq!(events, vec![SseEvent { event: Some("x".into()), data: "a\nb".into() }]);
    }
}
