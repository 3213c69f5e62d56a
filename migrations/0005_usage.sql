-- Usage rows complete: the combo a request was routed through, and whether its tokens are the
-- gateway's estimate (the upstream sent no usage). Logged request/response bodies get their own
-- table so the aggregates' scans stay narrow. Indexes for the usage API's lookups. Additive only.

ALTER TABLE usage_log ADD COLUMN combo TEXT;
ALTER TABLE usage_log ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX usage_log_request ON usage_log(request_id);
CREATE INDEX usage_log_connection_ts ON usage_log(connection_id, ts_ms);

CREATE TABLE usage_bodies (
  usage_id      INTEGER PRIMARY KEY,    -- the usage_log row of the attempt that answered
  request_id    TEXT NOT NULL,
  ts_ms         INTEGER NOT NULL,
  request_body  TEXT NOT NULL,          -- capped; never for keys marked no_log
  response_body TEXT NOT NULL
);
CREATE INDEX usage_bodies_ts ON usage_bodies(ts_ms);
