//! The libSQL response store on a real database file in a temporary folder.

use serde_json::json;

use super::*;

fn response(scope: &str, id: &str, previous: Option<&str>, created_ms: u64) -> StoredResponse {
    StoredResponse {
        scope: scope.into(),
        id: id.into(),
        model: "gpt-mock".into(),
        created_ms,
        expires_ms: created_ms + 1_000,
        previous_response_id: previous.map(str::to_owned),
        input: vec![
            json!({"type": "message", "role": "user", "content": format!("question {id}")}),
            json!({"type": "function_call_output", "id": format!("fco_{id}"), "call_id": "c", "output": "ok"}),
        ],
        response: json!({
            "id": id, "object": "response", "status": "completed",
            "output": [
                {"type": "reasoning", "id": format!("rs_{id}"), "summary": [], "encrypted_content": format!("sig {id}")},
                {"type": "message", "id": format!("msg_{id}"), "role": "assistant", "content": []},
            ],
        }),
    }
}

async fn open(dir: &tempfile::TempDir) -> LibsqlResponseStore {
    LibsqlResponseStore::new(Database::open_file(&dir.path().join("db.sqlite")).await.unwrap())
}

fn ids(chain: &[StoredResponse]) -> Vec<&str> {
    chain.iter().map(|r| r.id.as_str()).collect()
}

#[tokio::test]
async fn responses_round_trip_within_their_scope_and_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let first = response("key:a", "resp_1", None, 100);
    store.put(first.clone()).await.unwrap();
    assert_eq!(store.get("key:a", "resp_1", 500).await.unwrap(), Some(first.clone()));
    assert_eq!(store.get("key:b", "resp_1", 500).await.unwrap(), None, "another key's scope sees nothing");
    assert_eq!(store.get("anonymous", "resp_1", 500).await.unwrap(), None);
    assert_eq!(store.get("key:a", "resp_1", 1_100).await.unwrap(), None, "expired at its expiry");
    // The same id in another scope is another response.
    store.put(response("key:b", "resp_1", None, 200)).await.unwrap();
    assert_eq!(store.get("key:a", "resp_1", 500).await.unwrap(), Some(first));
}

#[tokio::test]
async fn chains_are_read_newest_first_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir).await;
        store.put(response("key:a", "resp_1", None, 100)).await.unwrap();
        store.put(response("key:a", "resp_2", Some("resp_1"), 200)).await.unwrap();
        store.put(response("key:a", "resp_3", Some("resp_2"), 300)).await.unwrap();
    }
    // A new process on the same file.
    let store = open(&dir).await;
    assert_eq!(ids(&store.chain("key:a", "resp_3", 400, 100).await.unwrap()), ["resp_3", "resp_2", "resp_1"]);
    assert_eq!(ids(&store.chain("key:a", "resp_3", 400, 2).await.unwrap()), ["resp_3", "resp_2"], "at most `max`");
    assert!(store.chain("key:b", "resp_3", 400, 100).await.unwrap().is_empty());
    // resp_1 expired (created 100, kept 1000 ms): the chain stops before it.
    assert_eq!(ids(&store.chain("key:a", "resp_3", 1_150, 100).await.unwrap()), ["resp_3", "resp_2"]);
    assert!(store.delete("key:a", "resp_2", 400).await.unwrap());
    assert_eq!(ids(&store.chain("key:a", "resp_3", 400, 100).await.unwrap()), ["resp_3"]);
}

#[tokio::test]
async fn a_chain_that_loops_ends_at_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.put(response("key:a", "resp_1", Some("resp_2"), 100)).await.unwrap();
    store.put(response("key:a", "resp_2", Some("resp_1"), 200)).await.unwrap();
    assert_eq!(
        ids(&store.chain("key:a", "resp_2", 300, 5).await.unwrap()),
        ["resp_2", "resp_1", "resp_2", "resp_1", "resp_2"]
    );
}

#[tokio::test]
async fn items_are_found_by_id_newest_copy_first_and_go_with_their_response() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.put(response("key:a", "resp_1", None, 100)).await.unwrap();
    // A later response holding an item of the same id (a client echoing it back).
    let mut later = response("key:a", "resp_2", Some("resp_1"), 200);
    later.input.push(json!({"type": "reasoning", "id": "rs_resp_1", "summary": [], "encrypted_content": "echoed"}));
    store.put(later).await.unwrap();
    let wanted: Vec<String> = ["rs_resp_1", "msg_resp_2", "fco_resp_1", "rs_nope"].map(String::from).to_vec();
    let found = store.items("key:a", &wanted, 300).await.unwrap();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found["rs_resp_1"]["encrypted_content"], "echoed", "the newest copy");
    assert_eq!(found["fco_resp_1"]["type"], "function_call_output", "input items with ids count too");
    assert!(store.items("key:b", &wanted, 300).await.unwrap().is_empty(), "other scopes' items are not found");

    assert!(store.delete("key:a", "resp_2", 300).await.unwrap());
    assert!(!store.delete("key:a", "resp_2", 300).await.unwrap(), "already gone");
    let found = store.items("key:a", &wanted, 300).await.unwrap();
    assert_eq!(found["rs_resp_1"]["encrypted_content"], "sig resp_1", "the deleted response's copy went with it");
    assert!(!found.contains_key("msg_resp_2"));
}

#[tokio::test]
async fn prune_deletes_expired_responses_and_their_items() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.put(response("key:a", "resp_1", None, 100)).await.unwrap();
    store.put(response("key:a", "resp_2", None, 5_000)).await.unwrap();
    assert_eq!(store.prune(1_100).await.unwrap(), 1);
    let mut rows = store.db.connection().query("SELECT COUNT(*) FROM stored_response_items", ()).await.unwrap();
    assert_eq!(rows.next().await.unwrap().unwrap().get::<i64>(0).unwrap(), 3, "only resp_2's items are left");
    assert!(store.get("key:a", "resp_2", 1_100).await.unwrap().is_some());
    assert!(!store.delete("key:a", "resp_1", 1_100).await.unwrap());
}

#[tokio::test]
async fn storing_again_replaces_the_response_and_its_items() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.put(response("key:a", "resp_1", None, 100)).await.unwrap();
    let mut again = response("key:a", "resp_1", None, 150);
    again.response["output"] = json!([]);
    store.put(again.clone()).await.unwrap();
    assert_eq!(store.get("key:a", "resp_1", 200).await.unwrap(), Some(again));
    let wanted = vec!["rs_resp_1".to_string()];
    assert!(store.items("key:a", &wanted, 200).await.unwrap().is_empty(), "the old output items are gone");
}
