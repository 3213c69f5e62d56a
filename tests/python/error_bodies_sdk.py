"""Reads the mock's account and request errors with each official SDK, unchanged: the error bodies
the failure-scope tables are checked against (issue 16) must be what each SDK takes for the
provider's own answer, down to its typed error and error code.

Usage: python error_bodies_sdk.py BASE_URL MODEL_PREFIX   (BASE_URL is the origin)
Keys: `sk-revoked` (an invalid key), `sk-no-credit` (an account out of credit); model
`context-too-long` (over the context window), `error-<status>`.
Exits non-zero on the first mismatch; prints a JSON summary.
"""

import anthropic
import ollama
import openai
from google import genai
from google.genai import errors, types

from sdk_common import args, check, done, expect_raises, model_name

HELLO = [{"role": "user", "content": "Say hello"}]


def openai_errors(base_url, prefix, summary):
    def client(key):
        return openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=60)

    model = model_name(prefix, "gpt-mock")
    for api in ("chat", "responses"):

        def call(key, name=model, api=api):
            if api == "chat":
                return client(key).chat.completions.create(model=name, messages=HELLO)
            return client(key).responses.create(model=name, input="Say hello")

        revoked = expect_raises(openai.AuthenticationError, lambda: call("sk-revoked"), f"{api}: sk-revoked")
        check(revoked.code == "invalid_api_key", f"{api}: revoked code {revoked.code}")
        broke = expect_raises(openai.RateLimitError, lambda: call("sk-no-credit"), f"{api}: sk-no-credit")
        check(broke.code == "insufficient_quota", f"{api}: no-credit code {broke.code}")
        check(broke.type == "insufficient_quota", f"{api}: no-credit type {broke.type}")
        long = expect_raises(
            openai.BadRequestError,
            lambda: call("sk-test", model_name(prefix, "context-too-long")),
            f"{api}: context-too-long",
        )
        check(long.code == "context_length_exceeded", f"{api}: context code {long.code}")
        check(long.param == ("messages" if api == "chat" else "input"), f"{api}: context param {long.param}")
        summary[f"openai-{api}"] = [revoked.status_code, broke.status_code, long.status_code]


def anthropic_errors(base_url, prefix, summary):
    def call(key, name="gpt-mock"):
        client = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=60)
        return client.messages.create(model=model_name(prefix, name), max_tokens=64, messages=HELLO)

    revoked = expect_raises(anthropic.AuthenticationError, lambda: call("sk-revoked"), "sk-revoked")
    check(revoked.type == "authentication_error", f"revoked type {revoked.type}")
    broke = expect_raises(anthropic.BadRequestError, lambda: call("sk-no-credit"), "sk-no-credit")
    check("credit balance is too low" in broke.api_message, f"no-credit message {broke.api_message!r}")
    long = expect_raises(anthropic.BadRequestError, lambda: call("sk-test", "context-too-long"), "context")
    check(long.api_message.startswith("prompt is too long: "), f"context message {long.api_message!r}")
    limited = expect_raises(anthropic.RateLimitError, lambda: call("sk-test", "error-429"), "error-429")
    check(limited.type == "rate_limit_error", f"429 type {limited.type}")
    overloaded = expect_raises(anthropic.OverloadedError, lambda: call("sk-test", "error-529"), "error-529")
    check(overloaded.type == "overloaded_error", f"529 type {overloaded.type}")
    billing = expect_raises(anthropic.PaymentRequiredError, lambda: call("sk-test", "error-402"), "error-402")
    check(billing.type == "billing_error", f"402 type {billing.type}")
    summary["anthropic"] = [e.status_code for e in (revoked, broke, long, limited, overloaded, billing)]


def genai_errors(base_url, prefix, summary):
    def call(key, name="gpt-mock"):
        options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=60_000)
        client = genai.Client(api_key=key, http_options=options)
        return client.models.generate_content(model=model_name(prefix, name), contents="Say hello")

    revoked = expect_raises(errors.ClientError, lambda: call("sk-revoked"), "sk-revoked")
    check((revoked.code, revoked.status) == (400, "INVALID_ARGUMENT"), f"revoked {revoked.code} {revoked.status}")
    reasons = [d.get("reason") for d in revoked.details["error"].get("details", [])]
    check("API_KEY_INVALID" in reasons, f"revoked details {revoked.details}")
    broke = expect_raises(errors.ClientError, lambda: call("sk-no-credit"), "sk-no-credit")
    check((broke.code, broke.status) == (429, "RESOURCE_EXHAUSTED"), f"no-credit {broke.code} {broke.status}")
    check("prepayment credits are depleted" in broke.message, f"no-credit message {broke.message!r}")
    long = expect_raises(errors.ClientError, lambda: call("sk-test", "context-too-long"), "context")
    check((long.code, long.status) == (400, "INVALID_ARGUMENT"), f"context {long.code} {long.status}")
    check(long.message.startswith("The input token count"), f"context message {long.message!r}")
    quota = expect_raises(errors.ClientError, lambda: call("sk-test", "error-429"), "error-429")
    check((quota.code, quota.status) == (429, "RESOURCE_EXHAUSTED"), f"429 {quota.code} {quota.status}")
    busy = expect_raises(errors.ServerError, lambda: call("sk-test", "error-503"), "error-503")
    check((busy.code, busy.status) == (503, "UNAVAILABLE"), f"503 {busy.code} {busy.status}")
    summary["gemini"] = [e.code for e in (revoked, broke, long, quota, busy)]


def ollama_errors(base_url, prefix, summary):
    def call(key, name="gpt-mock"):
        client = ollama.Client(host=base_url, timeout=60, headers={"Authorization": f"Bearer {key}"})
        return client.chat(model=model_name(prefix, name), messages=HELLO, stream=False)

    revoked = expect_raises(ollama.ResponseError, lambda: call("sk-revoked"), "sk-revoked")
    check((revoked.status_code, revoked.error) == (401, "unauthorized"), f"revoked {revoked.status_code} {revoked.error}")
    broke = expect_raises(ollama.ResponseError, lambda: call("sk-no-credit"), "sk-no-credit")
    check(broke.status_code == 429 and "usage limit" in broke.error, f"no-credit {broke.status_code} {broke.error}")
    long = expect_raises(ollama.ResponseError, lambda: call("sk-test", "context-too-long"), "context")
    check(long.status_code == 400 and "context length" in long.error, f"context {long.status_code} {long.error}")
    missing = expect_raises(ollama.ResponseError, lambda: call("sk-test", "error-404"), "error-404")
    check(missing.status_code == 404 and "not found" in missing.error, f"404 {missing.status_code} {missing.error}")
    summary["ollama"] = [e.status_code for e in (revoked, broke, long, missing)]


def main():
    base_url, prefix = args()
    summary = {}
    openai_errors(base_url, prefix, summary)
    anthropic_errors(base_url, prefix, summary)
    genai_errors(base_url, prefix, summary)
    ollama_errors(base_url, prefix, summary)
    done(summary)


if __name__ == "__main__":
    main()
