//! Waiting for a future on the current thread, for the blocking adapter: a
//! [`CredentialsProvider`](crate::CredentialsProvider) hands out a future whatever the
//! runtime.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes the waiting thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this thread, parking it between polls until its waker is called. A
/// future that needs a runtime's reactor (Tokio's I/O, timers) does not complete here.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        // A spurious wake-up only polls again.
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::task::Poll;
    use std::time::Duration;

    #[test]
    fn a_future_woken_from_another_thread_completes() {
        let (tx, rx) = mpsc::channel::<Waker>();
        let mut polls = 0;
        let fut = std::future::poll_fn(|cx| {
            polls += 1;
            if polls == 1 {
                tx.send(cx.waker().clone()).unwrap();
                return Poll::Pending;
            }
            Poll::Ready(polls)
        });
        let waker = thread::spawn(move || {
            let w = rx.recv().unwrap();
            thread::sleep(Duration::from_millis(20));
            w.wake();
        });
        assert_eq!(block_on(fut), 2);
        waker.join().unwrap();
    }
}
