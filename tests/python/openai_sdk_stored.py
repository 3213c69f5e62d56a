"""Stored responses through the official OpenAI Python SDK, unchanged: tool loops that continue
from what the gateway stored, whatever provider answers.

Usage: STORED_KEY_A=... STORED_KEY_B=... python openai_sdk_stored.py BASE_URL MODEL_PREFIX
(BASE_URL ends in /v1; two gateway API keys.) Checks, with key A:
  - a tool loop that sends the reasoning item and the call back by `item_reference`;
  - a streamed tool loop continued by `previous_response_id` the moment its stream ends, then
    continued once more (a chain of three);
  - `responses.retrieve`, `input_items.list` (pages both ways), `responses.delete`;
  - `store=False` keeps nothing;
and that key B can neither read, list, delete nor continue key A's responses, nor reference its
items (404 / 400 `previous_response_not_found`, in OpenAI's words).
Exits non-zero on the first mismatch; prints a JSON summary.
"""

import json
import os
import sys

import openai

from sdk_common import MOCK_TEXT, TOOL_NAME, WEATHER_SCHEMA, check, done, expect_raises, model_name

TOOLS = [{"type": "function", "name": TOOL_NAME, "parameters": WEATHER_SCHEMA, "strict": False}]
QUESTION = {"role": "user", "content": "Weather in Paris?"}
TOOL_RESULT = json.dumps({"temperature_c": 21})


def first_of(response, kind):
    items = [item for item in response.output if item.type == kind]
    check(len(items) == 1, f"one {kind} item expected: {response.output}")
    return items[0]


def reasoning_of(response):
    """The reasoning items (Gemini's thought signature on a call is a reasoning item of its own)."""
    items = [item for item in response.output if item.type == "reasoning"]
    check(len(items) >= 1, f"reasoning expected: {response.output}")
    return items


def not_found(action, what):
    err = expect_raises(openai.NotFoundError, action, what)
    check(err.status_code == 404, f"{what}: status {err.status_code}")
    return err


def item_reference_loop(a, b, model):
    """Turn 1 answers reasoning + a call; turn 2 sends both back by reference."""
    first = a.responses.create(model=model, input=[QUESTION], tools=TOOLS)
    reasoning, call = reasoning_of(first), first_of(first, "function_call")
    check(all(item.id for item in reasoning) and call.id, f"output items need ids: {first.output}")
    check(call.name == TOOL_NAME, f"call: {call}")
    references = [{"type": "item_reference", "id": item.id} for item in [*reasoning, call]]
    turn = [
        QUESTION,
        *references,
        {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT},
    ]
    second = a.responses.create(model=model, input=turn, tools=TOOLS)
    check(second.output_text == MOCK_TEXT, f"second turn: {second.output}")
    err = not_found(lambda: b.responses.create(model=model, input=turn, tools=TOOLS), "another key's item_reference")
    check(f"Item with id '{reasoning[0].id}' not found." in str(err), f"wording: {err}")

    # What was stored for the second turn: its input as sent, references resolved.
    listed = a.responses.input_items.list(second.id, order="asc")
    kinds = [item.type for item in listed.data]
    expected = ["message", *(["reasoning"] * len(reasoning)), "function_call", "function_call_output"]
    check(kinds == expected, f"input items: {kinds}")
    check(listed.data[1].id == reasoning[0].id, f"resolved reasoning: {listed.data[1]}")
    check(listed.first_id == listed.data[0].id and listed.last_id == listed.data[-1].id, f"cursor ids: {listed}")
    check(listed.has_more is False, "one page")
    # The SDK follows `after` page by page, newest first by default.
    paged = [item.id for item in a.responses.input_items.list(second.id, limit=1)]
    check(paged == [item.id for item in reversed(listed.data)], f"pages of one: {paged}")
    not_found(lambda: b.responses.input_items.list(second.id), "another key's input items")
    return {"reasoning": [item.id for item in reasoning], "second": second.id}


def previous_response_loop(a, b, model):
    """Turn 1 streams; turn 2 continues it by id as soon as the stream is done; turn 3 again."""
    first = None
    for event in a.responses.create(model=model, input=[QUESTION], tools=TOOLS, stream=True):
        if event.type == "response.completed":
            first = event.response
    check(first is not None, "the stream completed")
    call = first_of(first, "function_call")
    reasoning_of(first)
    result = {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT}
    second = a.responses.create(model=model, input=[result], tools=TOOLS, previous_response_id=first.id)
    check(second.output_text == MOCK_TEXT, f"continued turn: {second.output}")
    check(second.id != first.id, "a new response id")
    third = a.responses.create(model=model, input="Thanks!", tools=TOOLS, previous_response_id=second.id)
    check(third.output_text == MOCK_TEXT, f"third turn: {third.output}")

    err = expect_raises(
        openai.BadRequestError,
        lambda: b.responses.create(model=model, input=[result], previous_response_id=first.id),
        "continuing another key's response",
    )
    check(err.code == "previous_response_not_found", f"code: {err.code}")
    check(f"Previous response with id '{first.id}' not found." in str(err), f"wording: {err}")

    kept = a.responses.retrieve(second.id)
    check(kept.id == second.id and kept.output_text == MOCK_TEXT, f"retrieved: {kept}")
    check(kept.previous_response_id == first.id, f"previous_response_id: {kept.previous_response_id}")
    not_found(lambda: b.responses.retrieve(second.id), "another key's response")
    items = a.responses.input_items.list(second.id).data
    check([item.type for item in items] == ["function_call_output"], f"only its own input: {items}")
    return {"first": first.id, "second": second.id, "third": third.id}


def deletion(a, b, response_id):
    not_found(lambda: b.responses.delete(response_id), "deleting another key's response")
    raw = a.responses.with_raw_response.delete(response_id)
    body = json.loads(raw.text)
    check(body == {"id": response_id, "object": "response", "deleted": True}, f"delete answer: {body}")
    not_found(lambda: a.responses.retrieve(response_id), "a deleted response")
    not_found(lambda: a.responses.delete(response_id), "deleting twice")


def not_stored(a, model):
    response = a.responses.create(model=model, input="Say hello", store=False)
    check(response.output_text == MOCK_TEXT, f"answer: {response.output_text!r}")
    not_found(lambda: a.responses.retrieve(response.id), "a response made with store=False")
    expect_raises(
        openai.BadRequestError,
        lambda: a.responses.create(model=model, input="again", previous_response_id=response.id),
        "continuing a response made with store=False",
    )
    return response.id


def main():
    base_url, prefix = sys.argv[1], sys.argv[2]
    keys = os.environ["STORED_KEY_A"], os.environ["STORED_KEY_B"]
    a, b = (openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=60) for key in keys)
    model = model_name(prefix, "think-tools")
    summary = {"item_reference": item_reference_loop(a, b, model)}
    summary["previous_response_id"] = previous_response_loop(a, b, model)
    deletion(a, b, summary["previous_response_id"]["third"])
    summary["not_stored"] = not_stored(a, model_name(prefix, "gpt-mock"))
    done(summary)


if __name__ == "__main__":
    main()
