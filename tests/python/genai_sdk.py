"""Drives a Gemini API endpoint with the official Google GenAI Python SDK, unchanged.

Usage: python genai_sdk.py BASE_URL MODEL_PREFIX   (BASE_URL is the origin: the SDK adds /v1beta)
Checks generate_content, generate_content_stream (text, finish reason and usage on the last
chunk), a function declaration answered by a function_call plain and streamed, and a 429.
Exits non-zero on the first mismatch; prints a JSON summary.
"""

from google import genai
from google.genai import errors, types

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


def check_usage(usage, what):
    check(usage is not None, f"{what}: no usage_metadata")
    got = (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count)
    check(got == (*MOCK_USAGE, sum(MOCK_USAGE)), f"{what} usage: {usage}")


def main():
    base_url, prefix = args()
    client = genai.Client(
        api_key="sk-anything",
        http_options=types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=60_000),
    )
    model = model_name(prefix, "gpt-mock")
    summary = {}

    response = client.models.generate_content(model=model, contents="Say hello")
    check(response.text == MOCK_TEXT, f"text: {response.text!r}")
    check(response.candidates[0].finish_reason == types.FinishReason.STOP, f"finish: {response.candidates[0]}")
    check_usage(response.usage_metadata, "generate_content")
    summary["generate"] = response.text

    chunks = list(client.models.generate_content_stream(model=model, contents="Say hello"))
    text = "".join(chunk.text or "" for chunk in chunks)
    check(len(chunks) >= 2, f"stream chunks: {len(chunks)}")
    check(text == MOCK_TEXT, f"streamed text: {text!r}")
    check(chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP, f"last chunk: {chunks[-1]}")
    check(all(c.candidates[0].finish_reason is None for c in chunks[:-1]), "only the last chunk finishes")
    check_usage(chunks[-1].usage_metadata, "last stream chunk")
    summary["stream"] = text
    summary["stream_chunks"] = len(chunks)

    config = types.GenerateContentConfig(
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name=TOOL_NAME, description="Current weather in a city", parameters_json_schema=WEATHER_SCHEMA
                    )
                ]
            )
        ],
    )
    tool_model = model_name(prefix, "tools")
    response = client.models.generate_content(model=tool_model, contents="Weather in Paris?", config=config)
    calls = response.function_calls or []
    check(len(calls) == 1, f"function calls: {response}")
    check(calls[0].name == TOOL_NAME and calls[0].args == TOOL_ARGS, f"function call: {calls[0]}")

    streamed = [
        call
        for chunk in client.models.generate_content_stream(model=tool_model, contents="Weather?", config=config)
        for call in (chunk.function_calls or [])
    ]
    check(len(streamed) == 1, f"streamed function calls: {streamed}")
    check(streamed[0].name == TOOL_NAME and streamed[0].args == TOOL_ARGS, f"streamed call: {streamed[0]}")
    summary["tools"] = streamed[0].args

    err = expect_raises(
        errors.ClientError,
        lambda: client.models.generate_content(model=model_name(prefix, "error-429"), contents="x"),
        "an upstream 429",
    )
    check(err.code == 429, f"code {err.code}")
    check(err.status == "RESOURCE_EXHAUSTED", f"status {err.status}")
    summary["error"] = err.code

    done(summary)


if __name__ == "__main__":
    main()
