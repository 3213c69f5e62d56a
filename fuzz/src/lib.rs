//! What the fuzz targets share: one function per kind of input (request, response, stream),
//! each taking the wire format its target names, plus the framer and parser bodies. A target
//! file is then one call, and every format is fuzzed the same way.
//!
//! The oracle is "no panic, no sanitizer report, no hang": a decoder must answer bad bytes
//! with an error. Where a property is deterministic and documented (the SSE and NDJSON framers
//! give the same output at any chunk boundary), it is asserted too.

use bytes::Bytes;
use http::Method;
use omniroute_core::admin::query::Query;
use omniroute_core::config::declared::declare;
use omniroute_core::config::file::FileConfig;
use omniroute_core::formats::anthropic::count_tokens_estimate;
use omniroute_core::formats::ndjson::NdjsonParser;
use omniroute_core::formats::sse::SseParser;
use omniroute_core::formats::{self, StreamFraming};
use omniroute_core::pipeline::stream_transform::StreamTransform;
pub use omniroute_core::providers::WireFormat;
use omniroute_core::routes::matcher;

const FORMATS: [WireFormat; 5] = [
    WireFormat::OpenaiChat,
    WireFormat::OpenaiResponses,
    WireFormat::Anthropic,
    WireFormat::Gemini,
    WireFormat::Ollama,
];

/// A client's body: decoded as the gateway does on arrival, then (when accepted) encoded for
/// every provider format, since a client's request may be sent to any of them.
pub fn request(format: WireFormat, data: &[u8]) {
    let Ok(req) = formats::decode_request(format, data) else { return };
    for provider in FORMATS {
        let _ = formats::encode_request(provider, &req);
    }
    let _ = count_tokens_estimate(&req);
}

/// An upstream's non-streamed answer: its error message is read (error statuses), and the body
/// decoded (success) then encoded for every client format.
pub fn response(format: WireFormat, data: &[u8]) {
    let _ = formats::upstream_error_message(format, data);
    let Ok(resp) = formats::decode_response(format, data) else { return };
    for client in FORMATS {
        let _ = formats::encode_response(client, &resp);
    }
}

/// Chunk sizes of the translated passes after the first (one pass per client format): varied
/// boundaries, the last one the whole input at once. The first pass's size, 1 to 16 bytes, is
/// picked by the input's last byte, so the fuzzer can steer splits into UTF-8 sequences and
/// CRLFs. (Byte-by-byte splits on every pass would cost most of the fuzzer's speed for little:
/// the codecs' unit tests already check every split point of their fixtures.)
const CHUNK_SIZES: [usize; 4] = [13, 64, 1000, usize::MAX];

/// An upstream's stream, through the gateway's own per-chunk path ([`StreamTransform`]):
/// watched in passthrough, and translated to every client format (Gemini in both framings),
/// each pass cut into chunks of a different size.
pub fn stream(format: WireFormat, data: &[u8]) {
    let steered = 1 + data.last().map_or(0, |b| *b as usize % 16);
    let names = omniroute_core::hub::Namespaces::default();
    let mut passes = FORMATS.map(|client| StreamTransform::translate(format, client, StreamFraming::Default, &names));
    for (pass, size) in passes.iter_mut().zip([steered].into_iter().chain(CHUNK_SIZES)) {
        feed(pass, data, size);
    }
    feed(&mut StreamTransform::translate(format, WireFormat::Gemini, StreamFraming::JsonArray, &names), data, 256);
    feed(&mut StreamTransform::passthrough(format), data, usize::MAX);
}

fn feed(transform: &mut StreamTransform, data: &[u8], size: usize) {
    for chunk in data.chunks(size.min(data.len()).max(1)) {
        let _ = transform.chunk(Bytes::copy_from_slice(chunk));
        if transform.ended() {
            return;
        }
    }
    let _ = transform.finish();
}

/// Where to cut the input for the split-invariance checks: chosen by the input's first two
/// bytes, so the fuzzer can steer it anywhere in the first 64 KiB.
fn split_point(data: &[u8]) -> usize {
    let seed = match data {
        [a, b, ..] => u16::from_le_bytes([*a, *b]) as usize,
        _ => 0,
    };
    seed % (data.len() + 1)
}

/// The SSE parser: any split point gives the same events as the whole input.
pub fn sse(data: &[u8]) {
    let parse = |parts: &[&[u8]]| {
        let mut parser = SseParser::new();
        let mut events: Vec<_> = parts.iter().flat_map(|part| parser.push(part)).collect();
        events.extend(parser.finish());
        events
    };
    let (head, tail) = data.split_at(split_point(data));
    assert_eq!(parse(&[data]), parse(&[head, tail]), "SSE events depend on the chunk boundary");
}

/// The NDJSON framer: any split point gives the same lines as the whole input.
pub fn ndjson(data: &[u8]) {
    let parse = |parts: &[&[u8]]| {
        let mut parser = NdjsonParser::new();
        let mut lines: Vec<_> = parts.iter().flat_map(|part| parser.push(part)).collect();
        lines.extend(parser.finish());
        lines
    };
    let (head, tail) = data.split_at(split_point(data));
    assert_eq!(parse(&[data]), parse(&[head, tail]), "NDJSON lines depend on the chunk boundary");
}

/// The config file (`omniroute.toml`), parsed and then declared as every runtime does at start.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(file) = FileConfig::parse(text) {
        let _ = declare(Some(&file), &|_| None);
    }
}

/// The parameters the management API's list endpoints read, for the typed readers.
const KNOWN: [&str; 8] = ["limit", "offset", "since", "until", "model", "provider", "bucket", "q"];

/// A management query string: the strict parse (unknown names refused), the lenient one, and
/// every typed reader on what they return.
pub fn admin_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let strict = Query::parse(Some(text), &KNOWN);
    for query in strict.into_iter().chain([Query::lenient(Some(text))]) {
        let _ = query.number("limit", 1, 1000, 50);
        let _ = query.number("offset", 0, u64::MAX, 0);
        let _ = query.time("since");
        let _ = query.time("until");
        let _ = query.choice("bucket", &[("hour", 1), ("day", 2)], 2);
        let _ = query.text("model");
    }
}

/// A request line, `METHOD /path?query` (a bare path means GET): normalized and matched against
/// the route table, then asked for its access rule, error format and path parameters as the
/// gateway does for every request.
pub fn router(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (method, target) = match text.split_once(' ') {
        Some((method, target)) => (Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET), target),
        None => (Method::GET, text),
    };
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let path = matcher::normalize(path);
    let matched = matcher::resolve(&method, &path);
    let _ = (matched.access(), matched.errors().wire_format());
    if let matcher::Matched::Row { params, .. } = &matched {
        for (_, value) in params.iter() {
            let _ = omniroute_core::percent::percent_decode(value);
        }
    }
}
