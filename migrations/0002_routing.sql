-- Routing: model aliases, combos, gateway-wide settings, per-provider routing columns, and
-- cooldowns shared between instances. Only adds; rows from 0001 are kept as they are.

CREATE TABLE aliases (
  pattern     TEXT PRIMARY KEY,         -- exact model name or a glob with * and ?
  target      TEXT NOT NULL,            -- provider/model, combo/<name> or a combo name
  source      TEXT NOT NULL,            -- 'config' (file, synced at start) or 'api'
  position    INTEGER NOT NULL DEFAULT 0, -- declaration order: the first matching glob wins
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE combos (
  name        TEXT PRIMARY KEY,
  source      TEXT NOT NULL,
  strategy    TEXT NOT NULL DEFAULT 'priority',
  targets     TEXT NOT NULL DEFAULT '[]', -- JSON [{"target": "...", "weight": 1}]
  settings    TEXT NOT NULL DEFAULT '{}', -- JSON: retries, retry_delay_ms, timeouts
  position    INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE settings (
  key         TEXT PRIMARY KEY,         -- 'routing': default model, retryable statuses, breakers
  value       TEXT NOT NULL,            -- JSON
  source      TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
);

ALTER TABLE providers ADD COLUMN selection TEXT NOT NULL DEFAULT 'fill-first';
ALTER TABLE providers ADD COLUMN sticky_window INTEGER;
ALTER TABLE providers ADD COLUMN timeouts TEXT NOT NULL DEFAULT '{}';

CREATE TABLE cooldowns (
  key         TEXT PRIMARY KEY,         -- an account or target, e.g. 'openai:team'
  until_ms    INTEGER NOT NULL,         -- Unix milliseconds
  updated_at  INTEGER NOT NULL
);
CREATE INDEX cooldowns_until ON cooldowns(until_ms);
