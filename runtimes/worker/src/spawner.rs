//! `WaitUntilSpawner`: work spawned while a request is being served goes to that request's
//! `ctx.waitUntil`, so the isolate stays alive for it after the response is sent.
//!
//! The gateway (and so the spawner) is shared by every request of the isolate, but `waitUntil`
//! belongs to one request. [`InRequest`] wraps a request's future and its response stream and
//! marks that request as current while they are polled; wasm is single-threaded and polls never
//! interleave, so whatever the core spawns during a poll lands on the right request. Work
//! spawned outside any poll (not done by the core today) still runs, on the microtask queue,
//! but nothing keeps the isolate alive for it.

use std::cell::RefCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll};

use futures_util::Stream;
use js_sys::futures::future_to_promise;
use omniroute_core::maybe_send::BoxFuture;
use omniroute_core::ports::Spawner;
use wasm_bindgen::JsValue;
use worker::Context;

thread_local! {
    /// The request whose futures are being polled right now, if any.
    static CURRENT: RefCell<Option<Rc<Context>>> = const { RefCell::new(None) };
}

/// Hands spawned work to the current request's `waitUntil`.
#[derive(Debug, Default)]
pub struct WaitUntilSpawner;

impl Spawner for WaitUntilSpawner {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        // `future_to_promise` starts the task on the microtask queue right away; `waitUntil`
        // only extends the request's lifetime until the promise settles.
        let promise = future_to_promise(AssertUnwindSafe(async move {
            task.await;
            Ok(JsValue::UNDEFINED)
        }));
        let current = CURRENT.with(|cell| cell.borrow().clone());
        let Some(ctx) = current else {
            worker::console_warn!("omniroute: work spawned outside a request runs without waitUntil");
            return;
        };
        // The raw binding returns the JS exception instead of panicking like `Context::wait_until`.
        let raw: &worker::worker_sys::Context = ctx.as_ref().as_ref();
        if let Err(err) = raw.wait_until(&promise) {
            worker::console_warn!("omniroute: waitUntil refused background work: {:?}", err);
        }
    }
}

/// A request's future or stream, polled with its request marked as current.
pub struct InRequest<T> {
    ctx: Rc<Context>,
    inner: Option<T>,
}

impl<T> InRequest<T> {
    pub fn new(ctx: Rc<Context>, inner: T) -> Self {
        InRequest { ctx, inner: Some(inner) }
    }
}

/// Marks a request as current until dropped, then restores the previous one.
struct Entered(Option<Rc<Context>>);

fn enter(ctx: &Rc<Context>) -> Entered {
    Entered(CURRENT.with(|cell| cell.replace(Some(ctx.clone()))))
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|cell| *cell.borrow_mut() = previous);
    }
}

impl<F: Future + Unpin> Future for InRequest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = enter(&this.ctx);
        match this.inner.as_mut() {
            Some(inner) => Pin::new(inner).poll(cx),
            // Only after drop began; never polled then.
            None => Poll::Pending,
        }
    }
}

impl<S: Stream + Unpin> Stream for InRequest<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        let _entered = enter(&this.ctx);
        match this.inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<T> Drop for InRequest<T> {
    fn drop(&mut self) {
        // The core may record usage when a stream is dropped (client gone, idle timeout).
        let _entered = enter(&self.ctx);
        drop(self.inner.take());
    }
}
