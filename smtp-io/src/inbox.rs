//! How an async pool (`smtp_tokio::Pool`, `smtp_smol::Pool`) hands work to one of its
//! connections' tasks: [`channel`] gives the pool's end, an [`Outbox`], and the task's,
//! an [`Inbox`], with the connection's [`Cancels`] beside the queue; and [`reply`], where
//! a caller waits for its message's result.
//!
//! Not a runtime's channel, because an idle pooled connection should hold next to
//! nothing: Tokio's unbounded channel keeps a block of 32 slots per channel for its
//! life (and async-channel's a block of 31), where this is one small allocation whose
//! queue holds no buffer while the connection idles ([`Inbox::poll_ready`] frees it).
//! Each command costs one uncontended lock, and a task is woken once per batch: the
//! first command queued takes the waker its poll left, the others find none.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use smtp_proto::pool::MessageId;
use smtp_proto::Envelope;

use crate::stream::Cancels;

/// What a connection's task is told.
#[derive(Debug)]
pub enum Cmd {
    /// Stream this message ([`Order::Send`](crate::pool::Order::Send)).
    Send {
        /// This attempt's envelope.
        envelope: Envelope,
        /// Its content, shared by every attempt.
        body: Arc<[u8]>,
        /// The message.
        msg: MessageId,
    },
    /// NOOP on the idle connection ([`Order::Check`](crate::pool::Order::Check)).
    Check,
    /// QUIT and close ([`Order::Close`](crate::pool::Order::Close)).
    Close,
    /// End the stream, giving its buffers back, and wait idle
    /// ([`Order::Trim`](crate::pool::Order::Trim)).
    Trim,
}

#[derive(Default)]
struct Queue {
    cmds: VecDeque<Cmd>,
    /// The task's, while it waits for a command.
    waker: Option<Waker>,
    /// The pool dropped its [`Outbox`]: after what is queued, nothing more comes.
    hung_up: bool,
    /// The task dropped its [`Inbox`]: nothing more is taken.
    gone: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    cancels: Cancels<MessageId>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The pool's end: commands for one connection's task.
pub struct Outbox(Arc<Shared>);

/// The task's end.
pub struct Inbox(Arc<Shared>);

/// A connection's outbox and inbox.
pub fn channel() -> (Outbox, Inbox) {
    let shared = Arc::new(Shared::default());
    (Outbox(shared.clone()), Inbox(shared))
}

impl Outbox {
    /// Queues `cmd` and wakes the task if it waits; `Err` (the command given back) if
    /// the task is gone: a message so refused was never written.
    #[must_use = "a message the task did not take was never written"]
    // The command comes back as it went in (its envelope for the next attempt): boxing
    // it would allocate.
    #[allow(clippy::result_large_err)]
    pub fn tell(&self, cmd: Cmd) -> Result<(), Cmd> {
        let waker = {
            let mut q = self.0.lock();
            if q.gone {
                return Err(cmd);
            }
            q.cmds.push_back(cmd);
            q.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// The caller of `msg`, handed to this connection, gave up ([`Cancels::ask`]).
    pub fn cancel(&self, msg: MessageId) {
        self.0.cancels.ask(msg);
    }
}

/// Tells a connection's task `cmd` (an [`Order`](crate::pool::Order) of the pool's, for
/// [`Messages::pump`](crate::pool::Messages::pump)); `Err` if it is gone (`line` is
/// `None`, or the task is over): a message it was handed was then never written, and
/// its envelope comes back for the next attempt (boxed: rare, and a small `Err`).
pub fn tell(line: Option<&Outbox>, cmd: Cmd) -> Result<(), (crate::Error, Option<Box<Envelope>>)> {
    let refused = match line {
        Some(l) => l.tell(cmd).err(),
        None => Some(cmd),
    };
    match refused {
        None => Ok(()),
        Some(Cmd::Send { envelope, .. }) => {
            Err((crate::Error::PoolClosed, Some(Box::new(envelope))))
        }
        Some(_) => Err((crate::Error::PoolClosed, None)),
    }
}

impl Drop for Outbox {
    /// The task takes what is queued, then learns that nothing more comes.
    fn drop(&mut self) {
        let waker = {
            let mut q = self.0.lock();
            q.hung_up = true;
            q.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Inbox {
    /// The next command; `Ready(None)` once the pool hung up and nothing is left.
    pub fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Cmd>> {
        let mut q = self.0.lock();
        match q.cmds.pop_front() {
            Some(cmd) => Poll::Ready(Some(cmd)),
            None if q.hung_up => Poll::Ready(None),
            None => {
                register(&mut q.waker, cx);
                Poll::Pending
            }
        }
    }

    /// Ready once a command waits or the pool hung up: what an idle connection waits
    /// for. While not, the queue's buffer is freed, so that the idle connection holds
    /// none.
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut q = self.0.lock();
        if !q.cmds.is_empty() || q.hung_up {
            return Poll::Ready(());
        }
        q.cmds = VecDeque::new();
        register(&mut q.waker, cx);
        Poll::Pending
    }

    /// The next command if one is queued.
    pub fn try_next(&self) -> Option<Cmd> {
        self.0.lock().cmds.pop_front()
    }

    /// The messages handed here whose callers gave up.
    pub fn cancels(&self) -> &Cancels<MessageId> {
        &self.0.cancels
    }
}

impl Drop for Inbox {
    /// Later commands are refused ([`Outbox::tell`]).
    fn drop(&mut self) {
        self.0.lock().gone = true;
    }
}

/// Keeps the task's waker, cloning it only if it changed.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// Where a caller of an async pool waits for its message's result: one small
/// allocation, filled once. (async-channel's `bounded(1)`, which smol's pool used,
/// allocates a listener for each wait besides.)
pub fn reply<T>() -> (ReplyTo<T>, Reply<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        sent: false,
    }));
    (ReplyTo(Some(slot.clone())), Reply(slot))
}

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    /// The value was sent, or the sender dropped without one.
    sent: bool,
}

/// The pool's end of a [`reply`].
pub struct ReplyTo<T>(Option<Arc<Mutex<Slot<T>>>>);

/// The caller's end of a [`reply`]: a future of the value, `None` if the sender was
/// dropped without one.
pub struct Reply<T>(Arc<Mutex<Slot<T>>>);

impl<T> ReplyTo<T> {
    /// Hands the caller its value (dropped if the caller is gone).
    pub fn send(mut self, value: T) {
        close(self.0.take(), Some(value));
    }
}

impl<T> Drop for ReplyTo<T> {
    /// Without a value: the caller learns that none comes.
    fn drop(&mut self) {
        close(self.0.take(), None);
    }
}

/// Fills the slot (with `value`, or with nothing) and wakes its caller.
fn close<T>(slot: Option<Arc<Mutex<Slot<T>>>>, value: Option<T>) {
    let Some(slot) = slot else {
        return;
    };
    let waker = {
        let mut s = slot.lock().unwrap_or_else(PoisonError::into_inner);
        s.value = value;
        s.sent = true;
        s.waker.take()
    };
    if let Some(w) = waker {
        w.wake();
    }
}

impl<T> std::future::Future for Reply<T> {
    type Output = Option<T>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if s.sent {
            return Poll::Ready(s.value.take());
        }
        register(&mut s.waker, cx);
        Poll::Pending
    }
}

/// How many callers of a pool listen for a change (room in its queue, or for `close`):
/// while none does, a pool skips waking anyone, which costs its runtime's notifier a
/// lock per message. A caller counts itself ([`listen`](Self::listen)) before it looks
/// again under the pool's lock, so a change made after that look is always announced.
#[derive(Debug, Default)]
pub struct Listeners(AtomicUsize);

impl Listeners {
    /// Counts a listener for as long as the guard lives.
    pub fn listen(&self) -> Listening<'_> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Listening(&self.0)
    }

    /// Whether any caller listens.
    pub fn any(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
}

/// A counted listener of [`Listeners`].
#[derive(Debug)]
pub struct Listening<'a>(&'a AtomicUsize);

impl Drop for Listening<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use super::{channel, Cmd};

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiting_task_is_woken_once_per_batch_and_learns_of_the_hang_up_after_the_queue() {
        let (out, inbox) = channel();
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(inbox.poll_ready(&mut cx).is_pending());
        assert!(out.tell(Cmd::Check).is_ok());
        assert!(out.tell(Cmd::Close).is_ok());
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "one wake for two commands"
        );
        assert!(inbox.poll_ready(&mut cx).is_ready());
        drop(out);
        assert!(matches!(
            inbox.poll_next(&mut cx),
            Poll::Ready(Some(Cmd::Check))
        ));
        assert!(matches!(
            inbox.poll_next(&mut cx),
            Poll::Ready(Some(Cmd::Close))
        ));
        assert!(matches!(inbox.poll_next(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_reply_wakes_its_caller_once_with_the_value_or_none_if_the_sender_is_dropped() {
        use std::future::Future;
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let (to, mut reply) = super::reply();
        assert!(std::pin::Pin::new(&mut reply).poll(&mut cx).is_pending());
        to.send(7);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            std::pin::Pin::new(&mut reply).poll(&mut cx),
            Poll::Ready(Some(7))
        );
        let (to, mut reply) = super::reply::<u8>();
        assert!(std::pin::Pin::new(&mut reply).poll(&mut cx).is_pending());
        drop(to);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert_eq!(
            std::pin::Pin::new(&mut reply).poll(&mut cx),
            Poll::Ready(None)
        );
    }

    #[test]
    fn a_command_for_a_task_that_is_gone_comes_back() {
        let (out, inbox) = channel();
        drop(inbox);
        assert!(out.tell(Cmd::Check).is_err());
    }
}
