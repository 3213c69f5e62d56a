//! The scope tables against error bodies as each provider sends them (copied from the providers'
//! documentation and SDK test fixtures).

use super::*;

fn scope(format: WireFormat, status: u16, body: &str) -> Scope {
    classify(format, status, body.as_bytes())
}

#[test]
fn openai_errors_by_scope() {
    let f = WireFormat::OpenaiChat;
    let quota = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    assert_eq!(scope(f, 429, quota), Scope::Account, "insufficient_quota is a 429 but the account's");
    let rate = r#"{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    assert_eq!(scope(f, 429, rate), Scope::Model);
    let key = r#"{"error":{"message":"Incorrect API key provided: sk-abc. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
    assert_eq!(scope(f, 401, key), Scope::Account);
    let context = r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
    assert_eq!(scope(f, 400, context), Scope::Request);
    let missing = r#"{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#;
    assert_eq!(scope(f, 404, missing), Scope::Model);
    let server = r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#;
    assert_eq!(scope(f, 500, server), Scope::Model);
    let invalid = r#"{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#;
    assert_eq!(scope(f, 400, invalid), Scope::Request);
    assert_eq!(scope(WireFormat::OpenaiResponses, 429, quota), Scope::Account);
}

#[test]
fn anthropic_errors_by_scope() {
    let f = WireFormat::Anthropic;
    let overloaded = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    assert_eq!(scope(f, 529, overloaded), Scope::Model);
    let rate = r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#;
    assert_eq!(scope(f, 429, rate), Scope::Model);
    let key = r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    assert_eq!(scope(f, 401, key), Scope::Account);
    let credit = r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}"#;
    assert_eq!(scope(f, 400, credit), Scope::Account, "a credit shortfall is a 400 but the account's");
    let billing = r#"{"type":"error","error":{"type":"billing_error","message":"Billing issue"}}"#;
    assert_eq!(scope(f, 402, billing), Scope::Account);
    let long = r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208000 tokens > 200000 maximum"}}"#;
    assert_eq!(scope(f, 400, long), Scope::Request);
    let missing = r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}"#;
    assert_eq!(scope(f, 404, missing), Scope::Model);
}

#[test]
fn gemini_errors_by_scope() {
    let f = WireFormat::Gemini;
    let exhausted = r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"model":"gemini-2.0-flash","location":"global"}}]}]}}"#;
    assert_eq!(scope(f, 429, exhausted), Scope::Model, "Gemini's quota 429 is per model");
    let key = r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#;
    assert_eq!(scope(f, 400, key), Scope::Account, "an invalid key is a 400 with reason API_KEY_INVALID");
    let overloaded =
        r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#;
    assert_eq!(scope(f, 503, overloaded), Scope::Model);
    let denied = r#"{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}"#;
    assert_eq!(scope(f, 403, denied), Scope::Account);
    let missing = r#"{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}}"#;
    assert_eq!(scope(f, 404, missing), Scope::Model);
    let invalid = r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#;
    assert_eq!(scope(f, 400, invalid), Scope::Request);
}

#[test]
fn ollama_errors_by_scope() {
    let f = WireFormat::Ollama;
    assert_eq!(scope(f, 404, r#"{"error":"model \"llama9\" not found, try pulling it first"}"#), Scope::Model);
    assert_eq!(scope(f, 401, r#"{"error":"unauthorized"}"#), Scope::Account);
    assert_eq!(scope(f, 500, r#"{"error":"llama runner process has terminated: exit status 2"}"#), Scope::Model);
    assert_eq!(scope(f, 400, r#"{"error":"invalid options: foo"}"#), Scope::Request);
}

#[test]
fn bodies_that_name_nothing_fall_back_to_the_status() {
    for format in [WireFormat::OpenaiChat, WireFormat::Anthropic, WireFormat::Gemini, WireFormat::Ollama] {
        assert_eq!(classify(format, 502, b"<html>Bad Gateway</html>"), Scope::Model);
        assert_eq!(classify(format, 402, b""), Scope::Account);
        assert_eq!(classify(format, 422, b"not json"), Scope::Request);
        assert_eq!(classify(format, 429, b"{}"), Scope::Model);
    }
}

#[test]
fn a_prompt_too_long_is_told_apart_from_other_request_errors() {
    let openai = br#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
    let anthropic = br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#;
    let gemini = br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#;
    for body in [&openai[..], &anthropic[..], &gemini[..]] {
        assert!(super::exceeds_context(400, body), "{}", String::from_utf8_lossy(body));
    }
    let other = br#"{"error":{"message":"messages: must not be empty","type":"invalid_request_error","code":null}}"#;
    assert!(!super::exceeds_context(400, other));
    assert!(!super::exceeds_context(500, openai), "a 5xx is never the prompt's fault");
}
