use serde_json::{Value, json};

use super::*;

fn settings(mode: ThinkingMode, budget_tokens: u32) -> ThinkingBudgetSettings {
    ThinkingBudgetSettings { mode, budget_tokens }
}

fn edited(format: WireFormat, mode: ThinkingMode, n: u32, body: Value) -> Value {
    let mut raw = RawObject::parse(body.to_string().as_bytes()).unwrap();
    apply_to_body(format, &mut raw, settings(mode, n)).unwrap();
    serde_json::from_slice(&raw.to_bytes()).unwrap()
}

use ThinkingMode::{Cap, Disabled, Fixed, Passthrough};

#[test]
fn levels_follow_the_one_effort_scale() {
    assert_eq!(level_for(100), "low");
    assert_eq!(level_for(8192), "medium");
    assert_eq!(level_for(16384), "high");
    assert_eq!(level_for(1_000_000), "high");
    assert_eq!(capped_level(Some("high"), 4000).as_deref(), Some("low"));
    assert_eq!(capped_level(Some("minimal"), 100), None, "a cap never raises");
    assert_eq!(capped_level(Some("low"), 4000), None, "within the cap");
    assert_eq!(capped_level(None, 4000).as_deref(), Some("low"), "absent is medium");
}

#[test]
fn openai_reasoning_effort_and_openrouter_reasoning() {
    let body = json!({"model": "m", "messages": [], "reasoning_effort": "high"});
    assert_eq!(edited(WireFormat::OpenaiChat, Fixed, 2048, body.clone())["reasoning_effort"], "low");
    assert_eq!(edited(WireFormat::OpenaiChat, Cap, 9000, body.clone())["reasoning_effort"], "medium");
    assert_eq!(edited(WireFormat::OpenaiChat, Cap, 20000, body.clone())["reasoning_effort"], "high");
    assert!(edited(WireFormat::OpenaiChat, Disabled, 0, body.clone()).get("reasoning_effort").is_none());
    assert_eq!(edited(WireFormat::OpenaiChat, Passthrough, 1, body.clone()), body);
    let none = json!({"model": "m", "messages": []});
    assert_eq!(edited(WireFormat::OpenaiChat, Fixed, 2048, none.clone()), none, "no reasoning asked, none added");
    let router = json!({"model": "m", "messages": [], "reasoning": {"max_tokens": 30000}});
    assert_eq!(edited(WireFormat::OpenaiChat, Cap, 5000, router)["reasoning"], json!({"max_tokens": 5000}));
}

#[test]
fn responses_reasoning_effort() {
    let body = json!({"model": "m", "input": "hi", "reasoning": {"effort": "high", "summary": "auto"}});
    assert_eq!(
        edited(WireFormat::OpenaiResponses, Cap, 3000, body.clone())["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
    assert_eq!(edited(WireFormat::OpenaiResponses, Fixed, 9000, body.clone())["reasoning"]["effort"], "medium");
    assert!(edited(WireFormat::OpenaiResponses, Disabled, 0, body).get("reasoning").is_none());
    let default_effort = json!({"model": "m", "input": "hi", "reasoning": {"summary": "auto"}});
    assert_eq!(edited(WireFormat::OpenaiResponses, Cap, 3000, default_effort)["reasoning"]["effort"], "low");
}

#[test]
fn anthropic_budget_tokens_with_room_for_the_answer() {
    let body = json!({"model": "m", "max_tokens": 20000, "messages": [], "thinking": {"type": "enabled", "budget_tokens": 16000}});
    let capped = edited(WireFormat::Anthropic, Cap, 4000, body.clone());
    assert_eq!(capped["thinking"], json!({"type": "enabled", "budget_tokens": 4000}));
    assert_eq!(capped["max_tokens"], 20000);
    let within = edited(WireFormat::Anthropic, Cap, 30000, body.clone());
    assert_eq!(within, body);
    let fixed = edited(WireFormat::Anthropic, Fixed, 32000, body.clone());
    assert_eq!(fixed["thinking"]["budget_tokens"], 32000);
    assert_eq!(fixed["max_tokens"], 36000, "the 4000 left for the answer stay");
    assert!(edited(WireFormat::Anthropic, Disabled, 0, body.clone()).get("thinking").is_none());
    assert!(edited(WireFormat::Anthropic, Cap, 500, body).get("thinking").is_none(), "below Anthropic's minimum: off");
    let adaptive = json!({"model": "m", "max_tokens": 9000, "messages": [], "thinking": {"type": "adaptive"}});
    assert_eq!(edited(WireFormat::Anthropic, Cap, 3000, adaptive.clone())["output_config"], json!({"effort": "low"}));
    let fixed = edited(WireFormat::Anthropic, Fixed, 4096, adaptive);
    assert_eq!(fixed["thinking"], json!({"type": "enabled", "budget_tokens": 4096}));
}

#[test]
fn gemini_thinking_budget_and_level() {
    let body = json!({"contents": [], "generationConfig": {"temperature": 1, "thinkingConfig": {"thinkingBudget": -1, "includeThoughts": true}}});
    let capped = edited(WireFormat::Gemini, Cap, 2048, body.clone());
    assert_eq!(
        capped["generationConfig"],
        json!({"temperature": 1, "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}})
    );
    assert_eq!(
        edited(WireFormat::Gemini, Fixed, 512, body.clone())["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        512
    );
    assert_eq!(edited(WireFormat::Gemini, Disabled, 0, body)["generationConfig"], json!({"temperature": 1}));
    let snake = json!({"contents": [], "generation_config": {"thinking_config": {"thinking_level": "high"}}});
    assert_eq!(
        edited(WireFormat::Gemini, Cap, 9000, snake)["generation_config"],
        json!({"thinking_config": {"thinking_level": "medium"}})
    );
    let off = json!({"contents": [], "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}});
    assert_eq!(edited(WireFormat::Gemini, Fixed, 9000, off.clone()), off, "thinking off is not asking");
}

#[test]
fn ollama_think() {
    let level = json!({"model": "m", "messages": [], "think": "high"});
    assert_eq!(edited(WireFormat::Ollama, Cap, 3000, level.clone())["think"], "low");
    assert_eq!(edited(WireFormat::Ollama, Disabled, 0, level)["think"], false);
    let on = json!({"model": "m", "messages": [], "think": true});
    assert_eq!(edited(WireFormat::Ollama, Fixed, 3000, on.clone()), on, "a boolean has no budget to set");
}

#[test]
fn the_hub_carries_budget_and_level() {
    let mut reasoning = Some(ReasoningOptions { effort: Some("high".into()), budget_tokens: None });
    apply_to_hub(&mut reasoning, settings(Cap, 3000));
    assert_eq!(reasoning, Some(ReasoningOptions { effort: Some("low".into()), budget_tokens: Some(3000) }));
    let mut small = Some(ReasoningOptions { effort: None, budget_tokens: Some(1500) });
    apply_to_hub(&mut small, settings(Cap, 3000));
    assert_eq!(small.as_ref().and_then(|r| r.budget_tokens), Some(1500), "within the cap");
    apply_to_hub(&mut small, settings(Fixed, 12000));
    assert_eq!(small, Some(ReasoningOptions { effort: Some("medium".into()), budget_tokens: Some(12000) }));
    let mut unasked = None;
    apply_to_hub(&mut unasked, settings(Fixed, 12000));
    assert_eq!(unasked, None);
    apply_to_hub(&mut small, settings(Disabled, 0));
    assert_eq!(small, None);
}
