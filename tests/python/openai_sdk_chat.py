"""Drives omniroute with the official OpenAI Python SDK, unchanged, as a user would.

Usage: python openai_sdk_chat.py BASE_URL MODEL_PREFIX
Checks chat (plain, streamed with usage, tool calls streamed and not), the model list and
error mapping; exits non-zero with a message on the first mismatch. Prints a JSON summary.
With an empty MODEL_PREFIX the models are bare (the mock upstream directly) and the
gateway-only check (an unknown provider is a 400) is skipped.
"""

import json
import sys

import openai

from sdk_common import MOCK_TEXT, check, model_name


def main():
    base_url, prefix = sys.argv[1], sys.argv[2]
    # Any key works: the gateway holds the provider keys.
    client = openai.OpenAI(base_url=base_url, api_key="sk-anything", max_retries=0, timeout=60)
    model = model_name(prefix, "gpt-mock")
    summary = {}

    completion = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello"}]
    )
    check(completion.choices[0].message.content == MOCK_TEXT, f"non-stream content: {completion}")
    check(completion.usage.prompt_tokens == 12 and completion.usage.completion_tokens == 6, f"usage: {completion.usage}")
    summary["chat"] = completion.choices[0].message.content

    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    check(text == MOCK_TEXT, f"streamed text: {text!r}")
    check(finish == "stop", f"finish reason: {finish}")
    check(usage is not None and usage.total_tokens == 18, f"stream usage: {usage}")
    summary["stream"] = text

    tools = [{
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }]
    tool_completion = client.chat.completions.create(
        model=model_name(prefix, "tools"), messages=[{"role": "user", "content": "Weather?"}], tools=tools
    )
    calls = tool_completion.choices[0].message.tool_calls or []
    check(len(calls) == 1, f"tool calls: {tool_completion.choices[0].message}")
    call = calls[0]
    check(call.function.name == "get_weather", f"tool name: {call}")
    check(json.loads(call.function.arguments) == {"city": "Paris"}, f"tool args: {call}")

    arguments = ""
    for chunk in client.chat.completions.create(
        model=model_name(prefix, "tools"), messages=[{"role": "user", "content": "Weather?"}], tools=tools, stream=True
    ):
        for delta_call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments += delta_call.function.arguments or ""
    check(json.loads(arguments) == {"city": "Paris"}, f"streamed tool args: {arguments!r}")
    summary["tools"] = arguments

    if prefix:
        try:
            client.chat.completions.create(model="no-such-provider/x", messages=[{"role": "user", "content": "x"}])
            check(False, "unknown provider must raise")
        except openai.BadRequestError as err:
            check(err.status_code == 400, f"status {err.status_code}")
            check("unknown provider" in err.message, f"message: {err.message}")

    try:
        client.chat.completions.create(
            model=model_name(prefix, "error-429"), messages=[{"role": "user", "content": "x"}]
        )
        check(False, "upstream 429 must raise")
    except openai.RateLimitError as err:
        check(err.status_code == 429, f"status {err.status_code}")

    models = [m.id for m in client.models.list()]
    check(len(models) > 0 and all(isinstance(m, str) and m for m in models), f"model list: {models}")
    summary["models"] = len(models)

    print(json.dumps(summary))


if __name__ == "__main__":
    main()
