-- Model discovery: what each provider's upstream listed when last asked (its own model list),
-- kept so model lists and bare-name routing keep those models across a restart while the
-- upstream is down. A cache, rewritten by the gateway; never config. Additive only.

CREATE TABLE discovered_models (
  provider_id TEXT PRIMARY KEY,           -- a providers.id
  models      TEXT NOT NULL DEFAULT '[]', -- JSON [{"id": "...", "name": "..."}], the upstream's order
  fetched_ms  INTEGER NOT NULL,           -- Unix ms of the answer these came from
  updated_at  INTEGER NOT NULL
);
