-- Providers, their accounts and the config version; usage rows.
-- Every later migration only adds or transforms (never drops user data).

CREATE TABLE providers (
  id          TEXT PRIMARY KEY,
  source      TEXT NOT NULL,            -- 'config' (file + env, synced at start) or 'api'
  catalog_id  TEXT,                     -- the built-in catalog entry it extends; NULL = custom
  name        TEXT,
  format      TEXT,
  base_url    TEXT,
  auth        TEXT,
  headers     TEXT NOT NULL DEFAULT '{}',
  chat_path   TEXT,
  api_version TEXT,
  models      TEXT NOT NULL DEFAULT '[]',
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE connections (
  id          TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL,
  source      TEXT NOT NULL,
  name        TEXT NOT NULL,
  api_key_enc TEXT,                     -- AES-256-GCM, key from OMNIROUTE_SECRET
  priority    INTEGER NOT NULL DEFAULT 0,
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX connections_provider ON connections(provider_id);

CREATE TABLE config_version (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

CREATE TABLE usage_log (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id      TEXT NOT NULL,
  ts_ms           INTEGER NOT NULL,
  provider        TEXT NOT NULL,
  connection_id   TEXT NOT NULL,
  requested_model TEXT NOT NULL,
  upstream_model  TEXT NOT NULL,
  client_format   TEXT NOT NULL,
  upstream_format TEXT NOT NULL,
  status          INTEGER NOT NULL,
  stream          INTEGER NOT NULL,
  input_tokens    INTEGER,
  output_tokens   INTEGER,
  latency_ms      INTEGER NOT NULL,
  error           TEXT
);
CREATE INDEX usage_log_ts ON usage_log(ts_ms);
