//! Newline-delimited JSON framing (Ollama streams): split bytes into complete lines at any
//! chunk boundary, including mid-UTF-8.

use bytes::BytesMut;

/// Collects bytes and hands out complete, non-empty lines.
#[derive(Debug, Default)]
pub struct NdjsonParser {
    buffer: BytesMut,
}

impl NdjsonParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the lines they complete (without the newline).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(end) = memchr::memchr(b'\n', &self.buffer) {
            let line = self.buffer.split_to(end + 1);
            push_line(&line[..end], &mut lines);
        }
        lines
    }

    /// The upstream closed: the last line, if it had no newline.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buffer);
        let mut lines = Vec::new();
        push_line(&rest, &mut lines);
        lines.pop()
    }
}

fn push_line(line: &[u8], lines: &mut Vec<String>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii();
    if !line.is_empty() {
        lines.push(String::from_utf8_lossy(line).into_owned());
    }
}

/// One value as a line.
pub fn encode_line(value: &serde_json::Value) -> bytes::Bytes {
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    bytes::Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_survive_any_split_including_mid_utf8() {
        let input = "{\"a\":\"é\"}\n\n{\"b\":2}\r\n{\"c\":3}";
        for split in 0..input.len() {
            let mut parser = NdjsonParser::new();
            let mut lines = parser.push(&input.as_bytes()[..split]);
            lines.extend(parser.push(&input.as_bytes()[split..]));
            lines.extend(parser.finish());
            assert_eq!(lines, vec!["{\"a\":\"é\"}", "{\"b\":2}", "{\"c\":3}"], "split at {split}");
        }
    }
}
