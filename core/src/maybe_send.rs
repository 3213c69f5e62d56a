//! `Send` where the target has threads, nothing on wasm32: one marker instead of `?Send` everywhere.
//! Ports return these aliases so they stay dyn-compatible on every runtime.

use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;

cfg_if::cfg_if! {
    if #[cfg(target_arch = "wasm32")] {
        /// Nothing is `Send` on a single-threaded wasm isolate; this bound is empty there.
        pub trait MaybeSend {}
        impl<T: ?Sized> MaybeSend for T {}
        /// Empty on wasm32, `Sync` elsewhere.
        pub trait MaybeSync {}
        impl<T: ?Sized> MaybeSync for T {}
        /// A boxed future: `Send` natively, not on wasm32.
        pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
        /// A boxed stream: `Send` natively, not on wasm32.
        pub type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + 'a>>;
    } else {
        /// `Send` natively; empty on wasm32.
        pub trait MaybeSend: Send {}
        impl<T: ?Sized + Send> MaybeSend for T {}
        /// `Sync` natively; empty on wasm32.
        pub trait MaybeSync: Sync {}
        impl<T: ?Sized + Sync> MaybeSync for T {}
        /// A boxed future: `Send` natively, not on wasm32.
        pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
        /// A boxed stream: `Send` natively, not on wasm32.
        pub type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;
    }
}

/// Boxes a future into the target's [`BoxFuture`].
pub fn boxed<'a, T>(fut: impl Future<Output = T> + MaybeSend + 'a) -> BoxFuture<'a, T> {
    Box::pin(fut)
}

/// Boxes a stream into the target's [`BoxStream`].
pub fn boxed_stream<'a, T>(stream: impl Stream<Item = T> + MaybeSend + 'a) -> BoxStream<'a, T> {
    Box::pin(stream)
}
