//! Idempotency: requests carrying the same `Idempotency-Key` (or `X-Request-Id`) within a window
//! reach the upstream once. A duplicate that arrives while the first is in flight waits for and
//! shares its result (a stream as its complete list of chunks); one that arrives after completion
//! gets the stored result until `window_ms` after completion. A key reused with another request
//! body (another fingerprint) is a conflict, which the caller answers with 409/422.
//!
//! Keys are global to the registry: the caller should scope them to the client (e.g. prefix the
//! API key's id) so one client cannot read another's result by guessing its key and body.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long results are kept and how many keys are tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdempotencySettings {
    /// How long after completion a duplicate gets the stored result.
    pub window_ms: u64,
    /// Keys tracked at once (in flight and completed); the oldest completed go first.
    pub max_keys: usize,
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        IdempotencySettings { window_ms: 5_000, max_keys: 10_000 }
    }
}

/// A response as a duplicate receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResult {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ReplayBody,
}

/// The body of an [`IdempotentResult`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayBody {
    Full(Bytes),
    /// Every chunk of a streamed response, in order, as sent to the client.
    Stream(Vec<Bytes>),
}

/// Why a waiting duplicate got no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    /// The first request failed or was cancelled before completing; the key is free again.
    #[error("the first request with this idempotency key did not complete")]
    Abandoned,
}

/// `/api/cache/stats` → `idempotency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdempotencyStats {
    pub active_keys: usize,
    pub window_ms: u64,
}

/// What [`Idempotency::begin`] found.
pub enum Begin<T> {
    /// No live entry: this request goes upstream and reports through the guard.
    First(Guard<T>),
    /// The first request is still running: await its result.
    InFlight(Waiter<T>),
    /// The first request completed within the window: answer with its result.
    Done(T),
    /// The key is in use by a request with another fingerprint.
    Conflict,
}

/// The hex SHA-256 of a request body, as a fingerprint for [`Idempotency::begin`].
pub fn fingerprint(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The registry of idempotency keys. Cloning shares it. `T` is what duplicates receive; it is
/// cloned once per duplicate, so make it cheap (the default is an `Arc`).
pub struct Idempotency<T = Arc<IdempotentResult>> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Idempotency<T> {
    fn clone(&self) -> Self {
        Idempotency { inner: self.inner.clone() }
    }
}

struct Inner<T> {
    settings: IdempotencySettings,
    state: Mutex<State<T>>,
}

struct State<T> {
    slots: HashMap<String, Slot<T>>,
    /// Completed keys by expiry, oldest first (entries whose slot changed since are skipped).
    expiries: VecDeque<(u64, String)>,
}

enum Slot<T> {
    InFlight { fingerprint: String, cell: Arc<Cell<T>> },
    Done { fingerprint: String, result: T, expires_at_ms: u64 },
}

impl<T: Clone> Idempotency<T> {
    pub fn new(settings: IdempotencySettings) -> Self {
        let state = State { slots: HashMap::new(), expiries: VecDeque::new() };
        Idempotency { inner: Arc::new(Inner { settings, state: Mutex::new(state) }) }
    }

    pub fn settings(&self) -> IdempotencySettings {
        self.inner.settings
    }

    /// Claims `key` for a request whose body has `fingerprint`, or finds who holds it.
    /// When every tracked key is in flight the request is not tracked: it gets a
    /// [`Guard`] whose [`is_tracked`](Guard::is_tracked) is false and duplicates are not caught.
    pub fn begin(&self, key: &str, fingerprint: &str, now_ms: u64) -> Begin<T> {
        let mut state = lock(&self.inner.state);
        state.expire(now_ms);
        match state.slots.get(key) {
            Some(Slot::InFlight { fingerprint: held, cell }) => {
                return if held == fingerprint { Begin::InFlight(Waiter::new(cell.clone())) } else { Begin::Conflict };
            }
            Some(Slot::Done { fingerprint: held, result, expires_at_ms }) if *expires_at_ms > now_ms => {
                return if held == fingerprint { Begin::Done(result.clone()) } else { Begin::Conflict };
            }
            _ => {}
        }
        if !state.slots.contains_key(key) && !state.make_room(self.inner.settings.max_keys) {
            return Begin::First(Guard { tracked: None });
        }
        let cell = Arc::new(Cell::default());
        state.slots.insert(key.to_owned(), Slot::InFlight { fingerprint: fingerprint.to_owned(), cell: cell.clone() });
        let tracked = Tracked { inner: self.inner.clone(), key: key.to_owned(), cell };
        Begin::First(Guard { tracked: Some(tracked) })
    }

    /// Keys in flight or within their window.
    pub fn active_keys(&self, now_ms: u64) -> usize {
        let mut state = lock(&self.inner.state);
        state.expire(now_ms);
        state.slots.len()
    }

    pub fn stats(&self, now_ms: u64) -> IdempotencyStats {
        IdempotencyStats { active_keys: self.active_keys(now_ms), window_ms: self.inner.settings.window_ms }
    }
}

impl<T> State<T> {
    /// Forgets completed keys whose window has passed.
    fn expire(&mut self, now_ms: u64) {
        while let Some((expires_at_ms, _)) = self.expiries.front() {
            if *expires_at_ms > now_ms {
                break;
            }
            self.forget_oldest_done();
        }
    }

    /// Frees a slot if the registry is full, forgetting the oldest completed keys; false when
    /// every slot is in flight.
    fn make_room(&mut self, max_keys: usize) -> bool {
        while self.slots.len() >= max_keys {
            if self.expiries.is_empty() {
                return false;
            }
            self.forget_oldest_done();
        }
        true
    }

    fn forget_oldest_done(&mut self) {
        if let Some((expires_at_ms, key)) = self.expiries.pop_front()
            && matches!(self.slots.get(&key), Some(Slot::Done { expires_at_ms: at, .. }) if *at == expires_at_ms)
        {
            self.slots.remove(&key);
        }
    }
}

struct Tracked<T> {
    inner: Arc<Inner<T>>,
    key: String,
    cell: Arc<Cell<T>>,
}

/// Held by the first request of a key. [`complete`](Guard::complete) shares its result;
/// dropping it (or [`fail`](Guard::fail)) tells waiters it failed and frees the key.
#[must_use = "dropping the guard abandons the key"]
pub struct Guard<T> {
    /// `None` once completed, or when the registry was full.
    tracked: Option<Tracked<T>>,
}

impl<T: Clone> Guard<T> {
    /// Whether duplicates of this request are caught (false when the registry was full).
    pub fn is_tracked(&self) -> bool {
        self.tracked.is_some()
    }

    /// Hands `result` to every waiting duplicate and keeps it for the window from `now_ms`.
    pub fn complete(mut self, result: T, now_ms: u64) {
        let Some(tracked) = self.tracked.take() else { return };
        let window_ms = tracked.inner.settings.window_ms;
        {
            let mut state = lock(&tracked.inner.state);
            if let Some(Slot::InFlight { cell, .. }) = state.slots.get(&tracked.key)
                && Arc::ptr_eq(cell, &tracked.cell)
                && let Some(Slot::InFlight { fingerprint, .. }) = state.slots.remove(&tracked.key)
                && window_ms > 0
            {
                let expires_at_ms = now_ms.saturating_add(window_ms);
                let done = Slot::Done { fingerprint, result: result.clone(), expires_at_ms };
                state.slots.insert(tracked.key.clone(), done);
                state.expiries.push_back((expires_at_ms, tracked.key.clone()));
            }
        }
        tracked.cell.resolve(Ok(result));
    }

    /// Gives up: waiters get [`IdempotencyError::Abandoned`] and the key is free.
    pub fn fail(self) {}
}

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        let Some(tracked) = self.tracked.take() else { return };
        {
            let mut state = lock(&tracked.inner.state);
            if let Some(Slot::InFlight { cell, .. }) = state.slots.get(&tracked.key)
                && Arc::ptr_eq(cell, &tracked.cell)
            {
                state.slots.remove(&tracked.key);
            }
        }
        tracked.cell.resolve(Err(IdempotencyError::Abandoned));
    }
}

/// A one-shot result many waiters can read.
struct Cell<T> {
    state: Mutex<CellState<T>>,
}

struct CellState<T> {
    outcome: Option<Result<T, IdempotencyError>>,
    /// One slot per waiter, so a waiter polled again replaces its own waker.
    wakers: Vec<Option<Waker>>,
}

impl<T> Default for Cell<T> {
    fn default() -> Self {
        Cell { state: Mutex::new(CellState { outcome: None, wakers: Vec::new() }) }
    }
}

impl<T> Cell<T> {
    fn resolve(&self, outcome: Result<T, IdempotencyError>) {
        let wakers = {
            let mut state = lock(&self.state);
            if state.outcome.is_some() {
                return;
            }
            state.outcome = Some(outcome);
            mem::take(&mut state.wakers)
        };
        wakers.into_iter().flatten().for_each(Waker::wake);
    }
}

/// Resolves to the first request's result, or an error if it failed.
#[must_use = "futures do nothing unless awaited"]
pub struct Waiter<T> {
    cell: Arc<Cell<T>>,
    slot: Option<usize>,
}

impl<T> Waiter<T> {
    fn new(cell: Arc<Cell<T>>) -> Self {
        Waiter { cell, slot: None }
    }
}

impl<T: Clone> Future for Waiter<T> {
    type Output = Result<T, IdempotencyError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = lock(&this.cell.state);
        if let Some(outcome) = &state.outcome {
            return Poll::Ready(outcome.clone());
        }
        match this.slot.and_then(|i| state.wakers.get_mut(i)) {
            Some(Some(waker)) if waker.will_wake(cx.waker()) => {}
            Some(slot) => *slot = Some(cx.waker().clone()),
            None => {
                state.wakers.push(Some(cx.waker().clone()));
                this.slot = Some(state.wakers.len() - 1);
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for Waiter<T> {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let mut state = lock(&self.cell.state);
            if let Some(slot) = state.wakers.get_mut(i) {
                *slot = None;
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[path = "idempotency_tests.rs"]
mod tests;
