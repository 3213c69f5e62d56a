-- Usage rows gain what accounting needs beyond in/out tokens: cached and reasoning tokens,
-- time to first token, the combo that routed the request, and the cost in USD computed from
-- the pricing table at the time of the request. Additive only.

ALTER TABLE usage_log ADD COLUMN cached_tokens INTEGER;
ALTER TABLE usage_log ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE usage_log ADD COLUMN ttft_ms INTEGER;
ALTER TABLE usage_log ADD COLUMN cost_usd REAL;
