"""Drives a Messages API endpoint with the official Anthropic Python SDK, unchanged.

Usage: python anthropic_sdk.py BASE_URL MODEL_PREFIX   (BASE_URL is the origin: the SDK adds /v1)
Checks messages.create, messages.stream (text and final message usage), tool use plain and with
streamed input_json, thinking blocks, a 429, and count_tokens.
Exits non-zero on the first mismatch; prints a JSON summary.
"""

import json
import re

import anthropic

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


def check_usage(usage, what):
    check((usage.input_tokens, usage.output_tokens) == MOCK_USAGE, f"{what} usage: {usage}")


def main():
    base_url, prefix = args()
    client = anthropic.Anthropic(base_url=base_url, api_key="sk-anything", max_retries=0, timeout=60)
    model = model_name(prefix, "gpt-mock")
    summary = {}

    message = client.messages.create(model=model, max_tokens=256, messages=HELLO)
    check([b.type for b in message.content] == ["text"], f"content: {message.content}")
    check(message.content[0].text == MOCK_TEXT, f"text: {message.content[0].text!r}")
    check(message.stop_reason == "end_turn", f"stop_reason: {message.stop_reason}")
    check_usage(message.usage, "non-stream")
    summary["create"] = message.content[0].text

    with client.messages.stream(model=model, max_tokens=256, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(text == MOCK_TEXT, f"streamed text: {text!r}")
    check(final.content[0].text == MOCK_TEXT, f"final message: {final}")
    check(final.stop_reason == "end_turn", f"final stop_reason: {final.stop_reason}")
    check_usage(final.usage, "get_final_message")
    summary["stream"] = text

    tools = [{"name": TOOL_NAME, "description": "Current weather in a city", "input_schema": WEATHER_SCHEMA}]
    tool_model = model_name(prefix, "tools")
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    message = client.messages.create(model=tool_model, max_tokens=256, messages=ask, tools=tools)
    uses = [b for b in message.content if b.type == "tool_use"]
    check(len(uses) == 1, f"tool_use blocks: {message.content}")
    # Ids pass through the gateway unchanged (toolu_ from Anthropic, call_ from OpenAI, generated
    # for Gemini/Ollama); what an Anthropic client needs is an id Anthropic accepts back.
    check(re.fullmatch(r"[A-Za-z0-9_-]+", uses[0].id) and uses[0].name == TOOL_NAME, f"tool_use: {uses[0]}")
    check(uses[0].input == TOOL_ARGS, f"tool input: {uses[0].input}")
    check(message.stop_reason == "tool_use", f"tool stop_reason: {message.stop_reason}")

    fragments = []
    with client.messages.stream(model=tool_model, max_tokens=256, messages=ask, tools=tools) as stream:
        for event in stream:
            if event.type == "input_json" and event.partial_json:
                fragments.append(event.partial_json)
        final = stream.get_final_message()
    # Providers that send arguments whole (Gemini, Ollama) give one fragment.
    check(len(fragments) >= 1, f"input_json must stream: {fragments}")
    check(json.loads("".join(fragments)) == TOOL_ARGS, f"streamed input_json: {fragments}")
    final_uses = [b for b in final.content if b.type == "tool_use"]
    check(len(final_uses) == 1 and final_uses[0].input == TOOL_ARGS, f"final tool_use: {final.content}")
    check(final.stop_reason == "tool_use", f"final tool stop_reason: {final.stop_reason}")
    summary["tools"] = "".join(fragments)

    # Thinking with signatures comes from an Anthropic upstream (the mock's `thinking` model).
    if prefix in ("", "anthropic"):
        thinking = {"type": "enabled", "budget_tokens": 1024}
        think_model = model_name(prefix, "thinking")
        message = client.messages.create(model=think_model, max_tokens=2048, messages=HELLO, thinking=thinking)
        check([b.type for b in message.content] == ["thinking", "text"], f"thinking content: {message.content}")
        check(message.content[0].thinking and message.content[0].signature, f"thinking block: {message.content[0]}")
        check(message.content[1].text == MOCK_TEXT, f"text after thinking: {message.content[1]}")
        thought, signature = "", None
        with client.messages.stream(model=think_model, max_tokens=2048, messages=HELLO, thinking=thinking) as stream:
            for event in stream:
                if event.type == "thinking":
                    thought += event.thinking
                elif event.type == "signature":
                    signature = event.signature
            final = stream.get_final_message()
        check(thought == message.content[0].thinking, f"streamed thinking: {thought!r}")
        check(signature == message.content[0].signature, f"streamed signature: {signature!r}")
        check([b.type for b in final.content] == ["thinking", "text"], f"final thinking content: {final.content}")
        check(final.content[1].text == MOCK_TEXT, f"final text after thinking: {final.content[1]}")
        summary["thinking"] = thought

    count = client.messages.count_tokens(model=model, messages=HELLO)
    check(isinstance(count.input_tokens, int) and count.input_tokens > 0, f"count_tokens: {count}")
    summary["count_tokens"] = count.input_tokens

    # Last: a 429 cools the account down, so a gateway skips it for a while.
    err = expect_raises(
        anthropic.RateLimitError,
        lambda: client.messages.create(model=model_name(prefix, "error-429"), max_tokens=16, messages=HELLO),
        "an upstream 429",
    )
    check(err.status_code == 429, f"status {err.status_code}")
    check(isinstance(err.body, dict) and err.body.get("type") == "error", f"error body: {err.body}")
    summary["error"] = err.status_code

    done(summary)


if __name__ == "__main__":
    main()
