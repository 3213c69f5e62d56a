"""Drives a Responses API endpoint with the official OpenAI Python SDK, unchanged.

Usage: python openai_sdk_responses.py BASE_URL MODEL_PREFIX   (BASE_URL ends in /v1)
Checks responses.create plain, streamed (event order, text deltas, usage on response.completed),
the SDK's stream helper, a function call plain and with streamed arguments, and a 429.
Exits non-zero on the first mismatch; prints a JSON summary.
"""

import json

import openai

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

TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def check_usage(usage, what):
    check(usage is not None, f"{what}: no usage")
    check(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (*MOCK_USAGE, sum(MOCK_USAGE)),
        f"{what} usage: {usage}",
    )


def main():
    base_url, prefix = args()
    client = openai.OpenAI(base_url=base_url, api_key="sk-anything", max_retries=0, timeout=60)
    model = model_name(prefix, "gpt-mock")
    summary = {}

    response = client.responses.create(model=model, input="Say hello")
    check(response.status == "completed", f"status: {response.status}")
    check(response.output_text == MOCK_TEXT, f"output_text: {response.output_text!r}")
    check_usage(response.usage, "non-stream")
    summary["create"] = response.output_text

    text, completed, kinds, sequence = "", None, [], []
    for event in client.responses.create(model=model, input="Say hello", stream=True):
        kinds.append(event.type)
        sequence.append(event.sequence_number)
        if event.type == "response.output_text.delta":
            text += event.delta
        elif event.type == "response.completed":
            completed = event.response
    check(text == MOCK_TEXT, f"streamed text: {text!r}")
    deduped = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    check(deduped == TEXT_EVENTS, f"event order: {kinds}")
    check(sequence == sorted(sequence) and len(set(sequence)) == len(sequence), f"sequence numbers: {sequence}")
    check(completed is not None and completed.output_text == MOCK_TEXT, f"completed response: {completed}")
    check_usage(completed.usage, "response.completed")
    summary["stream"] = text
    summary["stream_events"] = len(kinds)

    # The SDK's accumulating helper rebuilds the response from the events, strictly.
    with client.responses.stream(model=model, input="Say hello") as stream:
        helper_text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    check(helper_text == MOCK_TEXT and final.output_text == MOCK_TEXT, f"stream helper: {helper_text!r} {final}")
    check_usage(final.usage, "stream helper")

    tools = [{"type": "function", "name": TOOL_NAME, "parameters": WEATHER_SCHEMA, "strict": False}]
    tool_model = model_name(prefix, "tools")
    response = client.responses.create(model=tool_model, input="Weather in Paris?", tools=tools)
    calls = [item for item in response.output if item.type == "function_call"]
    check(len(calls) == 1, f"function calls: {response.output}")
    check(calls[0].name == TOOL_NAME and calls[0].call_id, f"function call: {calls[0]}")
    check(json.loads(calls[0].arguments) == TOOL_ARGS, f"function arguments: {calls[0].arguments!r}")

    fragments, done_arguments, item = [], None, None
    for event in client.responses.create(model=tool_model, input="Weather in Paris?", tools=tools, stream=True):
        if event.type == "response.function_call_arguments.delta":
            fragments.append(event.delta)
        elif event.type == "response.function_call_arguments.done":
            done_arguments = event.arguments
        elif event.type == "response.output_item.done":
            item = event.item
    arguments = "".join(fragments)
    # Providers that send arguments whole (Gemini, Ollama) give one fragment.
    check(len(fragments) >= 1, f"arguments must stream: {fragments}")
    check(json.loads(arguments) == TOOL_ARGS, f"streamed arguments: {arguments!r}")
    check(done_arguments == arguments, f"arguments.done: {done_arguments!r}")
    check(item is not None and item.type == "function_call" and item.name == TOOL_NAME, f"item: {item}")
    summary["tools"] = arguments

    err = expect_raises(
        openai.RateLimitError,
        lambda: client.responses.create(model=model_name(prefix, "error-429"), input="x"),
        "an upstream 429",
    )
    check(err.status_code == 429, f"status {err.status_code}")
    summary["error"] = err.status_code

    done(summary)


if __name__ == "__main__":
    main()
