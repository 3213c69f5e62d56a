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
# The mock's `agent-tool-loop` model (tests/src/mock_upstream/agent.rs): a call to the offered
# `Write` tool for the task the prompt's marker names, then, once a tool result came back, the
# final text.
AGENT_MODEL = "agent-tool-loop"
AGENT_DONE_TEXT = "The file is written, agent-tool-loop is done."
AGENT_FILE = "/tmp/omniroute-sdk/out.txt"
AGENT_FILE_TEXT = "hello-42"
AGENT_PROMPT = (
    f"Use one of your tools to write exactly the text {AGENT_FILE_TEXT} (no newline) into the file {AGENT_FILE}, "
    f"then say that you are done. [agent-task file={AGENT_FILE} text={AGENT_FILE_TEXT}]"
)
WRITE_ARGS = {"file_path": AGENT_FILE, "content": AGENT_FILE_TEXT}


def check(condition, message):
    """Stops the script with `message` on the first mismatch."""
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def args(optional=0):
    """BASE_URL, MODEL_PREFIX and up to `optional` more arguments (None where absent)."""
    extra = " ".join(f"[ARG{i + 1}]" for i in range(optional))
    check(3 <= len(sys.argv) <= 3 + optional, f"usage: {sys.argv[0]} BASE_URL MODEL_PREFIX {extra}".rstrip())
    rest = sys.argv[3:] + [None] * (3 + optional - len(sys.argv))
    return (sys.argv[1], sys.argv[2], *rest) if optional else (sys.argv[1], sys.argv[2])


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
