"""What every SDK script shares: the mock's expected answers, model names, and failing loudly.

Each script takes BASE_URL and MODEL_PREFIX. With a prefix ("openai", "anthropic", ...) the
models are "<prefix>/gpt-mock" etc., as a gateway routes them; with "" they are bare
("gpt-mock"), as the mock upstream takes them directly.
"""

import json
import sys

MOCK_TEXT = "Hello from the mock upstream!"
MOCK_USAGE = (12, 6)
TOOL_NAME = "get_weather"
TOOL_ARGS = {"city": "Paris"}
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def check(condition, message):
    """Stops the script with `message` on the first mismatch."""
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def args():
    check(len(sys.argv) == 3, f"usage: {sys.argv[0]} BASE_URL MODEL_PREFIX")
    return sys.argv[1], sys.argv[2]


def model_name(prefix, name):
    return f"{prefix}/{name}" if prefix else name


def expect_raises(kind, action, what):
    """Runs `action`, which must raise `kind`; returns the exception."""
    try:
        action()
    except kind as err:  # noqa: BLE001 - the kind is the check
        return err
    check(False, f"{what} must raise {kind.__name__}")
    return None


def done(summary):
    print(json.dumps(summary))
