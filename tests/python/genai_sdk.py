"""Drives a Gemini API endpoint with the official Google GenAI Python SDK, unchanged.

Usage: python genai_sdk.py BASE_URL MODEL_PREFIX [API_VERSION]
BASE_URL is the origin: the SDK adds its API version (`/v1/...` by default in google-genai 3.x,
or API_VERSION, e.g. `v1beta`, set as `HttpOptions.api_version`). Without API_VERSION the
client is made with the SDK's defaults (key, base URL and a timeout only).
Checks generate_content, generate_content_stream (text, finish reason and usage on the last
chunk), a function declaration answered by a function_call plain and streamed, a function-calling
round trip sent back by hand and one made by the SDK's automatic function calling, models.list
and models.get (a listed model, and an unknown one's 404), and a 429.
Exits non-zero on the first mismatch; prints a JSON summary.
"""

from google import genai
from google.genai import errors, types

from sdk_common import (
    AGENT_DONE_TEXT,
    AGENT_FILE,
    AGENT_FILE_TEXT,
    AGENT_MODEL,
    AGENT_PROMPT,
    MOCK_TEXT,
    MOCK_USAGE,
    TOOL_ARGS,
    TOOL_NAME,
    WEATHER_SCHEMA,
    WRITE_ARGS,
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


def declaration(name, description, schema):
    return types.Tool(
        function_declarations=[
            types.FunctionDeclaration(name=name, description=description, parameters_json_schema=schema)
        ]
    )


WRITE_SCHEMA = {
    "type": "object",
    "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
    "required": ["file_path", "content"],
}


# What the `Write` tool below was asked to write (it touches no disk).
WRITES = []


def Write(file_path: str, content: str) -> str:  # noqa: N802 - the mock picks its tool by this name
    """Writes content into the file at file_path."""
    WRITES.append({"file_path": file_path, "content": content})
    return f"wrote {len(content)} bytes to {file_path}"


def generate_and_stream(client, model, summary):
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


def function_calls(client, prefix, summary):
    config = types.GenerateContentConfig(
        tools=[declaration(TOOL_NAME, "Current weather in a city", WEATHER_SCHEMA)]
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


def round_trips(client, prefix, summary):
    """The call's result sent back, by hand and by automatic function calling: the final text."""
    model = model_name(prefix, AGENT_MODEL)
    config = types.GenerateContentConfig(tools=[declaration("Write", "Writes a file", WRITE_SCHEMA)])
    user = types.Content(role="user", parts=[types.Part.from_text(text=AGENT_PROMPT)])
    first = client.models.generate_content(model=model, contents=[user], config=config)
    calls = first.function_calls or []
    check(len(calls) == 1 and calls[0].name == "Write", f"round trip, first turn: {first}")
    check(calls[0].args == WRITE_ARGS, f"round trip, call arguments: {calls[0].args}")
    result = types.Part.from_function_response(name="Write", response={"output": "written"})
    if calls[0].id:
        result.function_response.id = calls[0].id
    contents = [user, first.candidates[0].content, types.Content(role="user", parts=[result])]
    second = client.models.generate_content(model=model, contents=contents, config=config)
    check(second.text == AGENT_DONE_TEXT, f"round trip, second turn: {second}")
    check(not second.function_calls, f"round trip ends: {second.function_calls}")
    summary["round_trip"] = second.text

    automatic = client.models.generate_content(
        model=model, contents=AGENT_PROMPT, config=types.GenerateContentConfig(tools=[Write])
    )
    check(automatic.text == AGENT_DONE_TEXT, f"automatic function calling: {automatic}")
    check(WRITES == [{"file_path": AGENT_FILE, "content": AGENT_FILE_TEXT}], f"writes: {WRITES}")
    history = automatic.automatic_function_calling_history or []
    check(len(history) == 3, f"automatic function calling history: {history}")
    summary["automatic_round_trip"] = automatic.text


def model_resources(client, prefix, summary):
    """models.list, models.get of a listed model, and an unknown model's 404."""
    names = [model.name for model in client.models.list()]
    check(names and all(name.startswith("models/") for name in names), f"models.list: {names}")
    got = client.models.get(model=names[0])
    check(got.name == names[0], f"models.get({names[0]}): {got}")
    err = expect_raises(
        errors.ClientError,
        lambda: client.models.get(model=model_name(prefix, "no-such-model")),
        "an unknown model",
    )
    check(err.code == 404 and err.status == "NOT_FOUND", f"unknown model: {err.code} {err.status} {err.message}")
    summary["models"] = len(names)


def main():
    base_url, prefix, api_version = args(optional=1)
    http_options = types.HttpOptions(base_url=base_url, timeout=60_000)
    if api_version is not None:
        http_options.api_version = api_version
    client = genai.Client(api_key="sk-anything", http_options=http_options)
    summary = {"api_version": api_version or "default"}

    generate_and_stream(client, model_name(prefix, "gpt-mock"), summary)
    function_calls(client, prefix, summary)
    round_trips(client, prefix, summary)
    model_resources(client, prefix, summary)

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
