//! Micro-benchmarks of the hot codecs (issue 7): SSE parsing, the passthrough probe and model
//! rewrite, each stream translation (every provider format to an OpenAI client and an OpenAI
//! upstream to every client format), request decode/encode, response decode/encode and the
//! response-cache key. `cargo bench -p omniroute-core`; figures are in BENCHMARKS.md.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use omniroute_core::cache::cache_key;
use omniroute_core::formats::sse::SseParser;
use omniroute_core::formats::{self, StreamFraming};
use omniroute_core::hub::{BlockDelta, BlockStart, FinishReason, StreamEvent, Usage};
use omniroute_core::pipeline::endpoint::ChatEndpoint;
use omniroute_core::pipeline::passthrough::probe;
use omniroute_core::pipeline::stream_transform::StreamTransform;
use omniroute_core::providers::WireFormat;

const FORMATS: [WireFormat; 5] = [
    WireFormat::OpenaiChat,
    WireFormat::OpenaiResponses,
    WireFormat::Anthropic,
    WireFormat::Gemini,
    WireFormat::Ollama,
];

/// The benchmark's answer as hub events: 17 text deltas, usage, stop (20-chunk OpenAI stream).
fn events() -> Vec<StreamEvent> {
    let words = "The quick brown fox jumps over the lazy dog while the gateway forwards every chunk on time.";
    let mut events = vec![
        StreamEvent::MessageStart { id: "chatcmpl-bench".into(), model: "bench-model".into(), created: Some(1) },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
    ];
    events.extend(
        words.split_inclusive(' ').map(|w| StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text(w.to_owned()) }),
    );
    events.push(StreamEvent::BlockStop { index: 0 });
    events.push(StreamEvent::Usage(Usage { input_tokens: 42, output_tokens: 18, ..Usage::default() }));
    events.push(StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) });
    events
}

/// The answer as `format`'s stream, one upstream chunk per event.
fn stream_in(format: WireFormat) -> Vec<Bytes> {
    let mut encoder = formats::stream_encoder(format, StreamFraming::Default);
    let mut chunks: Vec<Bytes> = events().iter().map(|e| encoder.push(e)).filter(|b| !b.is_empty()).collect();
    let tail = encoder.finish();
    if !tail.is_empty() {
        chunks.push(tail);
    }
    chunks
}

const OPENAI_REQUEST: &str = r#"{"model":"mock/bench-model","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely."},{"role":"user","content":"Write one sentence about a fox and a dog, for a benchmark of an AI gateway."}],"max_tokens":256,"stream":true,"stream_options":{"include_usage":true}}"#;

fn endpoint(format: WireFormat) -> ChatEndpoint {
    ChatEndpoint { format, path_model: None, path_stream: None, framing: StreamFraming::Default, provider: None }
}

fn sse_parse(c: &mut Criterion) {
    let whole: BytesMut = stream_in(WireFormat::OpenaiChat).iter().flat_map(|b| b.iter().copied()).collect();
    let whole = whole.freeze();
    let mut group = c.benchmark_group("sse_parse");
    group.throughput(Throughput::Bytes(whole.len() as u64));
    group.bench_function("openai_20_chunks_whole", |b| b.iter(|| SseParser::new().push(black_box(&whole)).len()));
    group.bench_function("openai_20_chunks_64B_pieces", |b| {
        b.iter(|| {
            let mut parser = SseParser::new();
            whole.chunks(64).map(|piece| parser.push(black_box(piece)).len()).sum::<usize>()
        })
    });
    group.finish();
}

fn passthrough(c: &mut Criterion) {
    let body = Bytes::from_static(OPENAI_REQUEST.as_bytes());
    let openai = endpoint(WireFormat::OpenaiChat);
    let mut group = c.benchmark_group("passthrough");
    group.bench_function("probe_and_rewrite_model", |b| {
        b.iter(|| probe(&openai, black_box(&body)).map(|p| p.rewrite_model(&body, "bench-model")))
    });
    let chunks = stream_in(WireFormat::OpenaiChat);
    group.bench_function("openai_stream_20_chunks", |b| {
        b.iter_batched(
            || chunks.clone(),
            |chunks| {
                let mut transform = StreamTransform::passthrough(WireFormat::OpenaiChat);
                chunks.into_iter().map(|c| transform.chunk(c).len()).sum::<usize>() + transform.finish().len()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn translate(c: &mut Criterion, provider: WireFormat, client: WireFormat, chunks: &[Bytes]) {
    let name = format!("{}_to_{}", provider.as_str(), client.as_str());
    c.benchmark_group("stream_translate").bench_function(name, |b| {
        b.iter_batched(
            || chunks.to_vec(),
            |chunks| {
                let names = omniroute_core::hub::Namespaces::default();
                let mut transform = StreamTransform::translate(provider, client, StreamFraming::Default, &names);
                chunks.into_iter().map(|c| transform.chunk(c).len()).sum::<usize>() + transform.finish().len()
            },
            BatchSize::SmallInput,
        )
    });
}

fn stream_translations(c: &mut Criterion) {
    for provider in FORMATS {
        translate(c, provider, WireFormat::OpenaiChat, &stream_in(provider));
    }
    let openai = stream_in(WireFormat::OpenaiChat);
    for client in FORMATS.into_iter().skip(1) {
        translate(c, WireFormat::OpenaiChat, client, &openai);
    }
}

fn requests(c: &mut Criterion) {
    let hub = formats::decode_request(WireFormat::OpenaiChat, OPENAI_REQUEST.as_bytes()).ok();
    let Some(hub) = hub else { return };
    let mut group = c.benchmark_group("request");
    for format in FORMATS {
        let Ok(body) = formats::encode_request(format, &hub) else { continue };
        group.bench_function(format!("encode_{}", format.as_str()), |b| {
            b.iter(|| formats::encode_request(format, black_box(&hub)).map(|b| b.len()))
        });
        group.bench_function(format!("decode_{}", format.as_str()), |b| {
            b.iter(|| formats::decode_request(format, black_box(&body)).map(|r| r.messages.len()))
        });
    }
    group.bench_function("cache_key", |b| b.iter(|| cache_key(black_box(&hub), "mock/bench-model")));
    group.finish();
}

fn responses(c: &mut Criterion) {
    // The streamed answer collected is the same answer as one response, in every format.
    let openai = br#"{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog while the gateway forwards every chunk on time."},"finish_reason":"stop"}],"usage":{"prompt_tokens":42,"completion_tokens":18,"total_tokens":60}}"#;
    let Ok(hub) = formats::decode_response(WireFormat::OpenaiChat, openai) else { return };
    let mut group = c.benchmark_group("response");
    for format in FORMATS {
        let body = formats::encode_response(format, &hub);
        group.bench_function(format!("encode_{}", format.as_str()), |b| {
            b.iter(|| formats::encode_response(format, black_box(&hub)).len())
        });
        group.bench_function(format!("decode_{}", format.as_str()), |b| {
            b.iter(|| formats::decode_response(format, black_box(&body)).map(|r| r.usage))
        });
    }
    group.finish();
}

criterion_group!(benches, sse_parse, passthrough, stream_translations, requests, responses);
criterion_main!(benches);
