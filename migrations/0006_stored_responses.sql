-- Stored responses of the Responses API (`store`, its default): each response a key (or the
-- anonymous scope) made, its own input items and the response object as answered, readable
-- until `expires_ms` (the retention setting when it was made) and pruned with the usage rows.
-- The items that have an id are indexed for `item_reference`. Additive only.

CREATE TABLE stored_responses (
  scope                TEXT NOT NULL,     -- key:<id>, anonymous or session
  id                   TEXT NOT NULL,     -- the response id the client got
  model                TEXT NOT NULL,
  created_ms           INTEGER NOT NULL,
  expires_ms           INTEGER NOT NULL,
  previous_response_id TEXT,              -- the response it continued
  input                TEXT NOT NULL,     -- JSON array: its own input items, references resolved
  response             TEXT NOT NULL,     -- JSON: the response object as answered, output included
  PRIMARY KEY (scope, id)
);
CREATE INDEX stored_responses_expires ON stored_responses(expires_ms);

CREATE TABLE stored_response_items (
  scope       TEXT NOT NULL,
  item_id     TEXT NOT NULL,
  response_id TEXT NOT NULL,              -- the stored response that holds the item
  created_ms  INTEGER NOT NULL,
  expires_ms  INTEGER NOT NULL,
  item        TEXT NOT NULL,              -- JSON: the item
  PRIMARY KEY (scope, item_id, response_id)
);
CREATE INDEX stored_response_items_expires ON stored_response_items(expires_ms);
CREATE INDEX stored_response_items_response ON stored_response_items(scope, response_id);
