//! Unit tests of the idempotency registry: sharing, windows, failures, conflicts and bounds.

use std::cell::RefCell;
use std::rc::Rc;

use futures_executor::{LocalPool, block_on};
use futures_util::task::LocalSpawnExt;

use super::*;

const T0: u64 = 1_700_000_000_000;

type Registry = Idempotency<Arc<IdempotentResult>>;

fn registry() -> Registry {
    Idempotency::new(IdempotencySettings::default())
}

fn result(body: &'static str) -> Arc<IdempotentResult> {
    Arc::new(IdempotentResult {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: ReplayBody::Full(Bytes::from_static(body.as_bytes())),
    })
}

fn first(begin: Begin<Arc<IdempotentResult>>) -> Guard<Arc<IdempotentResult>> {
    match begin {
        Begin::First(guard) => guard,
        _ => panic!("expected First"),
    }
}

fn waiter(begin: Begin<Arc<IdempotentResult>>) -> Waiter<Arc<IdempotentResult>> {
    match begin {
        Begin::InFlight(waiter) => waiter,
        _ => panic!("expected InFlight"),
    }
}

fn done(begin: Begin<Arc<IdempotentResult>>) -> Arc<IdempotentResult> {
    match begin {
        Begin::Done(result) => result,
        _ => panic!("expected Done"),
    }
}

/// Pending once (waking itself), so other tasks run in between.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[derive(Default)]
struct Tally {
    firsts: usize,
    shared: Vec<Arc<IdempotentResult>>,
    other: usize,
}

#[test]
fn fifty_concurrent_duplicates_share_one_upstream_call() {
    let registry = registry();
    let tally = Rc::new(RefCell::new(Tally::default()));
    let sent = Arc::new(IdempotentResult {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: ReplayBody::Stream(vec![
            Bytes::from_static(b"data: {\"a\":1}\n\n"),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ]),
    });
    let mut pool = LocalPool::new();
    for _ in 0..50 {
        let (registry, tally, sent) = (registry.clone(), tally.clone(), sent.clone());
        pool.spawner()
            .spawn_local(async move {
                match registry.begin("idem-1", "fp", T0) {
                    Begin::First(guard) => {
                        tally.borrow_mut().firsts += 1;
                        for _ in 0..3 {
                            YieldNow(false).await;
                        }
                        guard.complete(sent, T0 + 10);
                    }
                    Begin::InFlight(waiter) => {
                        let got = waiter.await.unwrap();
                        tally.borrow_mut().shared.push(got);
                    }
                    _ => tally.borrow_mut().other += 1,
                }
            })
            .unwrap();
    }
    pool.run();
    let tally = tally.borrow();
    assert_eq!(tally.firsts, 1);
    assert_eq!(tally.other, 0);
    assert_eq!(tally.shared.len(), 49);
    assert!(tally.shared.iter().all(|got| Arc::ptr_eq(got, &sent)), "the very same result, stream chunks included");
    assert!(Arc::ptr_eq(&done(registry.begin("idem-1", "fp", T0 + 20)), &sent));
}

#[test]
fn duplicates_on_other_threads_wait_for_the_first() {
    let registry = registry();
    let guard = first(registry.begin("k", "fp", T0));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let registry = registry.clone();
            std::thread::spawn(move || match registry.begin("k", "fp", T0) {
                Begin::InFlight(waiter) => block_on(waiter),
                _ => Err(IdempotencyError::Abandoned),
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    guard.complete(result("once"), T0 + 1);
    for handle in handles {
        assert_eq!(handle.join().unwrap().unwrap(), result("once"));
    }
}

#[test]
fn a_completed_result_is_kept_for_the_window_only() {
    let registry = registry();
    first(registry.begin("k", "fp", T0)).complete(result("a"), T0 + 1_000);
    assert_eq!(done(registry.begin("k", "fp", T0 + 5_999)), result("a"));
    assert_eq!(registry.stats(T0 + 5_999), IdempotencyStats { active_keys: 1, window_ms: 5_000 });
    assert_eq!(registry.active_keys(T0 + 6_000), 0, "forgotten after the window");
    let again = first(registry.begin("k", "fp", T0 + 6_000));
    assert!(again.is_tracked());
}

#[test]
fn a_dropped_guard_fails_the_waiters_and_frees_the_key() {
    let registry = registry();
    let guard = first(registry.begin("k", "fp", T0));
    let mut waiting = waiter(registry.begin("k", "fp", T0 + 1));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut waiting).poll(&mut cx).is_pending());
    drop(guard);
    assert_eq!(block_on(waiting), Err(IdempotencyError::Abandoned));
    let waiter_after_fail = {
        let guard = first(registry.begin("k", "fp", T0 + 2));
        let w = waiter(registry.begin("k", "fp", T0 + 2));
        guard.fail();
        w
    };
    assert_eq!(block_on(waiter_after_fail), Err(IdempotencyError::Abandoned));
    first(registry.begin("k", "fp", T0 + 3)).complete(result("ok"), T0 + 4);
    assert_eq!(done(registry.begin("k", "fp", T0 + 5)), result("ok"));
}

#[test]
fn another_fingerprint_under_the_same_key_conflicts() {
    let registry = registry();
    let guard = first(registry.begin("k", "fp-a", T0));
    assert!(matches!(registry.begin("k", "fp-b", T0), Begin::Conflict));
    guard.complete(result("a"), T0);
    assert!(matches!(registry.begin("k", "fp-b", T0 + 1), Begin::Conflict));
    assert!(matches!(registry.begin("k", "fp-a", T0 + 1), Begin::Done(_)));
    assert!(matches!(registry.begin("k", "fp-b", T0 + 5_000), Begin::First(_)), "free again after the window");
}

#[test]
fn the_registry_is_bounded() {
    let registry: Registry = Idempotency::new(IdempotencySettings { window_ms: 5_000, max_keys: 2 });
    let a = first(registry.begin("a", "fp", T0));
    let b = first(registry.begin("b", "fp", T0));
    let untracked = first(registry.begin("c", "fp", T0));
    assert!(!untracked.is_tracked(), "every slot is in flight");
    assert!(matches!(registry.begin("c", "fp", T0), Begin::First(_)), "so duplicates are not caught");
    untracked.complete(result("c"), T0);
    a.complete(result("a"), T0 + 1);
    b.complete(result("b"), T0 + 2);
    let d = first(registry.begin("d", "fp", T0 + 3));
    assert!(d.is_tracked(), "the oldest completed key made room");
    assert_eq!(done(registry.begin("b", "fp", T0 + 3)), result("b"));
    assert_eq!(registry.active_keys(T0 + 3), 2);
    let a = first(registry.begin("a", "fp", T0 + 3));
    assert!(a.is_tracked(), "a was forgotten, and b now makes room for it");
    assert!(matches!(registry.begin("b", "fp", T0 + 3), Begin::First(_)));
}

#[test]
fn a_zero_window_only_shares_in_flight() {
    let registry: Registry = Idempotency::new(IdempotencySettings { window_ms: 0, max_keys: 10 });
    let guard = first(registry.begin("k", "fp", T0));
    let w = waiter(registry.begin("k", "fp", T0));
    guard.complete(result("x"), T0);
    assert_eq!(block_on(w), Ok(result("x")));
    assert_eq!(registry.active_keys(T0), 0);
    assert!(matches!(registry.begin("k", "fp", T0), Begin::First(_)));
}

#[test]
fn fingerprints_hash_the_body() {
    assert_eq!(fingerprint(b"{}"), fingerprint(b"{}"));
    assert_ne!(fingerprint(b"{}"), fingerprint(b"{ }"));
    assert_eq!(fingerprint(b"").len(), 64);
}
