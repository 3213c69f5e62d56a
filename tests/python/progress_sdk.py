"""Streams with `X-OmniRoute-Progress: true` through the official SDKs, unchanged.

Usage: python progress_sdk.py BASE_URL MODEL_PREFIX   (BASE_URL is the gateway's origin)
The model `<prefix>/pause-<ms>` goes silent after its first frame, so the gateway sends its
progress events (Anthropic `ping`) while the SDK reads. A transport that tees the raw bytes
proves the pings were really in the stream each SDK parsed: the Anthropic SDK must still read
the whole text and usage; the OpenAI SDK (chat and Responses), whose formats get no progress
events, must see none and read the same text.
Exits non-zero on the first mismatch; prints a JSON summary.
"""

import anthropic
import openai

try:  # the SDKs' own HTTP client package (newer releases moved to `httpx2`)
    import httpx2 as httpx
except ImportError:
    import httpx

from sdk_common import MOCK_TEXT, MOCK_USAGE, args, check, done, model_name

PROGRESS = {"X-OmniRoute-Progress": "true"}


class TeeTransport(httpx.BaseTransport):
    """Passes requests on; keeps each response's headers and raw body bytes."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.raw = bytearray()
        self.headers = None

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        self.raw.clear()
        self.headers = response.headers
        raw, upstream = self.raw, response.stream

        class Tee(httpx.SyncByteStream):
            def __iter__(self):
                for chunk in upstream:
                    raw.extend(chunk)
                    yield chunk

            def close(self):
                upstream.close()

        return httpx.Response(
            response.status_code, headers=response.headers, stream=Tee(), extensions=response.extensions
        )


def anthropic_stream(base_url, model):
    tee = TeeTransport()
    client = anthropic.Anthropic(
        base_url=base_url,
        api_key="sk-anything",
        max_retries=0,
        timeout=60,
        default_headers=PROGRESS,
        http_client=httpx.Client(transport=tee),
    )
    hello = [{"role": "user", "content": "Say hello"}]
    with client.messages.stream(model=model, max_tokens=256, messages=hello) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(text == MOCK_TEXT, f"anthropic streamed text: {text!r}")
    check((final.usage.input_tokens, final.usage.output_tokens) == MOCK_USAGE, f"usage: {final.usage}")
    check(final.stop_reason == "end_turn", f"stop_reason: {final.stop_reason}")
    check(tee.headers.get("x-omniroute-progress") == "enabled", f"headers: {dict(tee.headers)}")
    pings = bytes(tee.raw).count(b"event: ping\n")
    check(pings >= 1, f"no ping reached the SDK: {bytes(tee.raw)!r}")

    # The raw event iterator too: pings never surface as events the caller must handle.
    events = client.messages.create(model=model, max_tokens=256, messages=hello, stream=True)
    types = [event.type for event in events]
    check("ping" not in types and types[0] == "message_start" and types[-1] == "message_stop", f"events: {types}")
    check(bytes(tee.raw).count(b"event: ping\n") >= 1, "the second stream had no ping")
    return pings


def openai_streams(base_url, model):
    tee = TeeTransport()
    client = openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key="sk-anything",
        max_retries=0,
        timeout=60,
        default_headers=PROGRESS,
        http_client=httpx.Client(transport=tee),
    )
    hello = [{"role": "user", "content": "Say hello"}]
    chunks = client.chat.completions.create(model=model, messages=hello, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check(text == MOCK_TEXT, f"openai chat streamed text: {text!r}")
    check("x-omniroute-progress" not in tee.headers, "OpenAI chat streams get no progress events")
    raw = bytes(tee.raw)
    check(b"ping" not in raw and not any(line.startswith(b":") for line in raw.splitlines()), f"raw: {raw!r}")

    events = client.responses.create(model=model, input="Say hello", stream=True)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    check(deltas == MOCK_TEXT, f"responses streamed text: {deltas!r}")
    check("x-omniroute-progress" not in tee.headers, "Responses streams get no progress events")
    check(b"ping" not in bytes(tee.raw), f"raw: {bytes(tee.raw)!r}")


def main():
    base_url, prefix = args()
    model = model_name(prefix, "pause-600")
    pings = anthropic_stream(base_url, model)
    openai_streams(base_url, model)
    done({"anthropic_pings": pings, "text": MOCK_TEXT})


if __name__ == "__main__":
    main()
