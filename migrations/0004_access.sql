-- Access: gateway API keys (hashes + policy as a JSON document), admin login sessions and the
-- audit log of management changes. Additive only; settings documents reuse `settings` (0002).

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  hash        TEXT NOT NULL UNIQUE,     -- hex SHA-256 of the key; the key itself is never stored
  body        TEXT NOT NULL,            -- JSON: name, prefix, role, expiry, policy, budget
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE admin_sessions (
  token_hash  TEXT PRIMARY KEY,         -- hex SHA-256 of the auth_token cookie
  created_ms  INTEGER NOT NULL,
  expires_ms  INTEGER NOT NULL
);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms       INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  ip          TEXT,
  action      TEXT NOT NULL,
  target      TEXT NOT NULL,
  before_json TEXT,                     -- secrets masked before they get here
  after_json  TEXT
);
CREATE INDEX audit_log_ts ON audit_log(ts_ms);

-- Usage rows name the gateway key they came with (per-key spend, budgets, last use).
ALTER TABLE usage_log ADD COLUMN api_key_id TEXT;
CREATE INDEX usage_log_key_ts ON usage_log(api_key_id, ts_ms);
