//! Gemini's stream without `?alt=sse`: one JSON array written element by element
//! (`[{…}\n,\r\n{…}\n]`). An incremental splitter hands out each complete top-level object, at
//! any chunk boundary (it splits only at ASCII structure, so never inside a UTF-8 character).

/// Collects bytes and hands out complete top-level JSON objects of an array (or a bare object).
#[derive(Debug, Default)]
pub(crate) struct JsonArraySplitter {
    buf: Vec<u8>,
    /// Next byte to scan.
    pos: usize,
    /// Where the object being read starts, if one is open.
    start: Option<usize>,
    opened: bool,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl JsonArraySplitter {
    /// Feeds bytes; returns the objects they complete, as text.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while self.pos < self.buf.len() {
            let byte = self.buf[self.pos];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
            } else {
                match byte {
                    b'[' if !self.opened && self.depth == 0 => self.opened = true,
                    b'{' | b'[' => {
                        if self.depth == 0 {
                            self.start = Some(self.pos);
                        }
                        self.depth += 1;
                    }
                    b'}' | b']' if self.depth > 0 => {
                        self.depth -= 1;
                        if self.depth == 0
                            && let Some(start) = self.start.take()
                        {
                            out.push(String::from_utf8_lossy(&self.buf[start..=self.pos]).into_owned());
                        }
                    }
                    b'"' => self.in_string = true,
                    _ => {}
                }
            }
            self.pos += 1;
        }
        let consumed = self.start.unwrap_or(self.pos);
        self.buf.drain(..consumed);
        self.pos -= consumed;
        if let Some(start) = &mut self.start {
            *start -= consumed;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_come_out_at_every_split() {
        let input = "[{\"a\":\"é]}\\\"\"}\n,\r\n{\"b\":[1,{\"c\":2}]}\n]";
        for split in 0..input.len() {
            let mut splitter = JsonArraySplitter::default();
            let mut items = splitter.push(&input.as_bytes()[..split]);
            items.extend(splitter.push(&input.as_bytes()[split..]));
            assert_eq!(items, vec!["{\"a\":\"é]}\\\"\"}", "{\"b\":[1,{\"c\":2}]}"], "split at {split}");
        }
    }

    #[test]
    fn a_bare_object_is_one_element() {
        assert_eq!(JsonArraySplitter::default().push(b" {\"error\":{}}"), vec!["{\"error\":{}}"]);
    }
}
