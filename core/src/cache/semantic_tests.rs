use super::*;

fn index(max_entries: usize) -> SemanticIndex {
    let index = SemanticIndex::new(max_entries);
    index.configure(Some("openai/embed"), max_entries);
    index
}

#[test]
fn finds_the_most_similar_answer_at_or_above_the_threshold() {
    let index = index(10);
    assert!(index.insert("s", "k1", &[1.0, 0.0, 0.0], 1_000));
    assert!(index.insert("s", "k2", &[1.0, 1.0, 0.0], 1_000));
    // cos([2,1,0], [1,0,0]) = 0.894; cos([2,1,0], [1,1,0]) = 0.949
    let found = index.search("s", &[2.0, 1.0, 0.0], 0.9, 0).expect("a match");
    assert_eq!(found.key, "k2");
    assert!((found.similarity - 3.0 / (5.0f64.sqrt() * 2.0f64.sqrt())).abs() < 1e-6, "{found:?}");
    assert_eq!(index.search("s", &[2.0, 1.0, 0.0], 0.95, 0), None, "just below the threshold");
    let exact = index.search("s", &[3.0, 0.0, 0.0], 1.0, 0).expect("the same direction");
    assert_eq!(exact.key, "k1");
    let stats = index.stats();
    assert_eq!((stats.lookups, stats.hits, stats.entries), (3, 2, 2));
}

#[test]
fn never_crosses_scopes_or_dimensions() {
    let index = index(10);
    index.insert("model-a", "k1", &[1.0, 0.0], 1_000);
    assert_eq!(index.search("model-b", &[1.0, 0.0], 0.5, 0), None);
    assert_eq!(index.search("model-a", &[1.0, 0.0, 0.0], 0.5, 0), None, "another embedding size");
    assert!(index.search("model-a", &[1.0, 0.0], 0.5, 0).is_some());
}

#[test]
fn entries_expire_and_are_dropped_when_seen() {
    let index = index(10);
    index.insert("s", "k1", &[1.0, 0.0], 100);
    assert!(index.search("s", &[1.0, 0.0], 0.9, 99).is_some());
    assert_eq!(index.search("s", &[1.0, 0.0], 0.9, 100), None);
    assert_eq!(index.stats().entries, 0);
}

#[test]
fn bounded_by_entries_least_recently_used_out() {
    let index = index(2);
    index.insert("s", "a", &[1.0, 0.0, 0.0], 1_000);
    index.insert("s", "b", &[0.0, 1.0, 0.0], 1_000);
    assert!(index.search("s", &[1.0, 0.0, 0.0], 0.99, 0).is_some(), "a is now the most recent");
    index.insert("s", "c", &[0.0, 0.0, 1.0], 1_000);
    assert_eq!(index.stats().entries, 2);
    assert_eq!(index.search("s", &[0.0, 1.0, 0.0], 0.99, 0), None, "b was evicted");
    assert!(index.search("s", &[1.0, 0.0, 0.0], 0.99, 0).is_some());
    assert_eq!(index.stats().bytes, 2 * 3 * 4);
    index.configure(Some("openai/embed"), 1);
    assert_eq!(index.stats().entries, 1);
    assert_eq!(index.stats().max_entries, 1);
}

#[test]
fn a_new_embedding_model_empties_it_and_none_turns_it_off() {
    let index = index(10);
    index.insert("s", "a", &[1.0, 0.0], 1_000);
    index.configure(Some("openai/embed"), 10);
    assert_eq!(index.stats().entries, 1, "the same model keeps its vectors");
    index.configure(Some("openai/embed-2"), 10);
    assert_eq!(index.stats().entries, 0);
    index.configure(None, 10);
    assert!(!index.stats().enabled);
    assert!(!index.insert("s", "a", &[1.0, 0.0], 1_000), "off: nothing is kept");
}

#[test]
fn refuses_vectors_without_a_direction() {
    let index = index(10);
    assert!(!index.insert("s", "a", &[], 1_000));
    assert!(!index.insert("s", "a", &[0.0, 0.0], 1_000));
    assert!(!index.insert("s", "a", &[f32::NAN, 1.0], 1_000));
    assert!(!index.insert("s", "a", &vec![1.0; MAX_DIMENSIONS + 1], 1_000));
    assert_eq!(index.search("s", &[0.0, 0.0], 0.1, 0), None);
    assert_eq!(index.stats().lookups, 0, "no usable query, no lookup");
}

#[test]
fn replacing_a_key_and_unhits() {
    let index = index(10);
    index.insert("s", "a", &[1.0, 0.0], 1_000);
    index.insert("s", "a", &[0.0, 1.0], 1_000);
    assert_eq!(index.stats().entries, 1);
    assert_eq!(index.search("s", &[1.0, 0.0], 0.9, 0), None, "the old vector is gone");
    let found = index.search("s", &[0.0, 1.0], 0.9, 0).unwrap();
    index.unhit(&found.key);
    let stats = index.stats();
    assert_eq!((stats.entries, stats.hits, stats.lookups), (0, 0, 2));
    index.note_failure();
    assert_eq!(index.stats().embedding_failures, 1);
}
