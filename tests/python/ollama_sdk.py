"""Drives an Ollama chat endpoint with the official Ollama Python SDK, unchanged.

Usage: python ollama_sdk.py BASE_URL MODEL_PREFIX   (BASE_URL is the host: the SDK adds /api)
Checks chat without and with streaming (exactly one done line, carrying the counts), tool calls
plain and streamed, and upstream errors raising ResponseError with the status.
Exits non-zero on the first mismatch; prints a JSON summary.
"""

import ollama

from sdk_common import (
    MOCK_TEXT,
    MOCK_USAGE,
    TOOL_ARGS,
    TOOL_NAME,
    WEATHER_SCHEMA,
    args,
    check,
    done,
    expect_raises,
    model_name,
)

HELLO = [{"role": "user", "content": "Say hello"}]


def check_counts(response, what):
    check(response.done is True and response.done_reason == "stop", f"{what} done: {response}")
    check((response.prompt_eval_count, response.eval_count) == MOCK_USAGE, f"{what} counts: {response}")


def main():
    base_url, prefix = args()
    client = ollama.Client(host=base_url, timeout=60)
    model = model_name(prefix, "gpt-mock")
    summary = {}

    response = client.chat(model=model, messages=HELLO, stream=False)
    check(response.message.role == "assistant", f"role: {response.message}")
    check(response.message.content == MOCK_TEXT, f"content: {response.message.content!r}")
    check_counts(response, "non-stream")
    summary["chat"] = response.message.content

    parts = list(client.chat(model=model, messages=HELLO, stream=True))
    finished = [p for p in parts if p.done]
    check(len(finished) == 1 and parts[-1].done, f"exactly one done line, last: {[p.done for p in parts]}")
    text = "".join(p.message.content or "" for p in parts)
    check(len(parts) >= 3, f"stream lines: {len(parts)}")
    check(text == MOCK_TEXT, f"streamed text: {text!r}")
    check_counts(parts[-1], "stream")
    summary["stream"] = text

    weather = {"name": TOOL_NAME, "description": "Current weather", "parameters": WEATHER_SCHEMA}
    tools = [{"type": "function", "function": weather}]
    tool_model = model_name(prefix, "tools")
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    response = client.chat(model=tool_model, messages=ask, tools=tools, stream=False)
    calls = response.message.tool_calls or []
    check(len(calls) == 1, f"tool calls: {response.message}")
    check(calls[0].function.name == TOOL_NAME and dict(calls[0].function.arguments) == TOOL_ARGS, f"call: {calls[0]}")

    parts = list(client.chat(model=tool_model, messages=ask, tools=tools, stream=True))
    streamed = [call for p in parts for call in (p.message.tool_calls or [])]
    check(len(streamed) == 1, f"streamed tool calls: {streamed}")
    check(dict(streamed[0].function.arguments) == TOOL_ARGS, f"streamed call: {streamed[0]}")
    check(sum(1 for p in parts if p.done) == 1 and parts[-1].done, "tool stream: exactly one done line, last")
    summary["tools"] = dict(streamed[0].function.arguments)

    failing = model_name(prefix, "error-429")
    err = expect_raises(
        ollama.ResponseError, lambda: client.chat(model=failing, messages=HELLO, stream=False), "an upstream 429"
    )
    check(err.status_code == 429, f"status {err.status_code}: {err}")
    check(isinstance(err.error, str) and err.error, f"error text: {err.error!r}")
    err = expect_raises(
        ollama.ResponseError, lambda: list(client.chat(model=failing, messages=HELLO, stream=True)), "a streamed 429"
    )
    check(err.status_code == 429, f"streamed status {err.status_code}: {err}")
    summary["error"] = err.status_code

    done(summary)


if __name__ == "__main__":
    main()
