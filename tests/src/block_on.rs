//! [`block_on`]: a future polled to completion on this thread, without a runtime.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` until it is ready, on this thread and without a tokio runtime: for
/// futures that never wait on I/O (static keys, the in-memory and SQLite stores, which
/// then run inline), so whatever they record is done when this returns.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}
