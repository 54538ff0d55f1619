//! A pool of connections shared by many tasks: [`Pool`]. Every decision (which
//! connection takes a message, when to open, check, retire or replace one, what is
//! sent again) is [`smtp_proto::pool`]'s; this file spawns tasks, moves messages and
//! keeps time.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use smtp_io::inbox::{self, tell, Cmd, Inbox, Listeners, Outbox, Reply, ReplyTo};
use smtp_io::pool::{IdMap, Messages, Order, PoolReport};
use smtp_io::stream::Reported;
use smtp_proto::pool::{self, ConnId, MessageId, PoolConfig, Status, SubmitError};
use smtp_proto::{Envelope, Instant, UsageError};
use std::time::Instant as Clock;

use async_io::Timer;
use event_listener::Event;
use futures_lite::future;
use futures_lite::io::AsyncRead;

use crate::{Builder, Connection, Error, ForwardPath, IntoMessage, Parts, ReversePath};

/// Connections shared by any number of tasks: each message goes to a connection with
/// room in its pipeline, joining the next flight behind other callers' messages
/// (RFC 2920); connections open on demand up to the maximum, are checked after idling,
/// retire and are replaced; a message that certainly never reached the server is sent
/// again on another connection. See [`smtp_proto::pool`] for every rule.
///
/// `Clone` (clones share the pool), `Send` and `Sync`; every future is `Send`.
/// Its tasks (the timer, each connection) run on smol's global executor
/// (`smol::spawn`). Dropping every clone without [`Pool::close`] does not
/// hang: callers still waiting keep the pool running until their messages end; then
/// the timer task ends and each connection finishes the messages it has and QUITs.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    builder: Builder,
    max_in_flight: usize,
    origin: Clock,
    /// Wakes the timer task: a deadline may have moved, or the pool is gone.
    timer: Arc<Event>,
    /// Wakes callers waiting for room in the queue, and `close`.
    changed: Event,
    /// How many of them listen: without any, a change wakes nobody (and takes no lock).
    listening: Listeners,
}

struct State {
    core: pool::Pool,
    msgs: Messages<ReplyTo<Result<PoolReport, Error>>>,
    conns: IdMap<ConnId, Outbox>,
    /// The deadline the timer task sleeps until (`None`: none), so that it is woken
    /// only for an earlier one.
    timer_at: Option<Instant>,
    /// How many times a connection ended its stream on the pool's trim (tests look).
    #[cfg(test)]
    trimmed: usize,
}

impl Shared {
    fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then does what the core decides.
    fn with<R>(self: &Arc<Self>, f: impl FnOnce(&mut State, Instant) -> R) -> R {
        let mut st = self.lock();
        let now = self.now();
        let r = f(&mut st, now);
        self.pump(&mut st, now);
        r
    }

    /// Performs every action the core hands out.
    fn pump(self: &Arc<Self>, st: &mut State, now: Instant) {
        let State {
            core, msgs, conns, ..
        } = st;
        let order = |order| match order {
            Order::Open(id) => {
                let (outbox, inbox) = inbox::channel();
                conns.insert(id, outbox);
                // Boxed, as every future a connection awaits once: the task holds only
                // what it needs while idle.
                let open = Box::pin(self.builder.clone().connect());
                smol::spawn(connection(Arc::downgrade(self), id, open, inbox)).detach();
                Ok(())
            }
            Order::Send {
                conn,
                msg,
                envelope,
                body,
            } => {
                let cmd = Cmd::Send {
                    envelope,
                    body,
                    msg,
                };
                tell(conns.get(&conn), cmd)
            }
            Order::Check(conn) => tell(conns.get(&conn), Cmd::Check),
            Order::Close(conn) => tell(conns.remove(&conn).as_ref(), Cmd::Close),
            Order::Trim(conn) => tell(conns.get(&conn), Cmd::Trim),
        };
        let changed = msgs.pump(core, now, order, |reply, result| {
            reply.send(result);
        });
        // A listener counted itself before it looked (under this lock).
        if changed && self.listening.any() {
            self.changed.notify(usize::MAX);
        }
        let deadline = st.core.poll_timeout();
        if deadline.is_some_and(|d| st.timer_at.is_none_or(|at| d < at)) {
            st.timer_at = deadline;
            self.timer.notify(1);
        }
    }
}

impl Pool {
    /// A pool opening its connections from `builder`. Every connection shares the builder's rustls configuration (one
    /// `Arc<rustls::ClientConfig>`, the default one unless
    /// [`Builder::tls_config`] gave another), so TLS sessions resume.
    pub fn new(builder: Builder, config: PoolConfig) -> Pool {
        let shared = Arc::new(Shared {
            max_in_flight: config.max_in_flight.max(1),
            state: Mutex::new(State {
                core: pool::Pool::new(config),
                msgs: Messages::default(),
                conns: IdMap::default(),
                timer_at: None,
                #[cfg(test)]
                trimmed: 0,
            }),
            builder,
            origin: Clock::now(),
            timer: Arc::new(Event::new()),
            changed: Event::new(),
            listening: Listeners::default(),
        });
        smol::spawn(timer(Arc::downgrade(&shared), shared.timer.clone())).detach();
        Pool { shared }
    }

    /// Sends one message held in memory; its report once it has an outcome. Waits while
    /// the queue is full. Dropping the future before any of the message was written
    /// withdraws it (nothing of it reaches the server, and no other message nor the
    /// connection is affected); after, it completes and its report is discarded.
    pub async fn send(
        &self,
        envelope: Envelope,
        body: impl Into<Arc<[u8]>>,
    ) -> Result<PoolReport, Error> {
        let rx = self.submit(envelope, body.into()).await?;
        rx.wait().await
    }

    /// Sends a whole RFC 5322 message, declared as
    /// [`Connection::send_message`](crate::Connection::send_message) does, by what the
    /// last connection set up offered (nothing before the first: then no SMTPUTF8).
    pub async fn send_message(
        &self,
        from: ReversePath,
        to: impl IntoIterator<Item = ForwardPath>,
        message: &[u8],
    ) -> Result<PoolReport, Error> {
        self.send_mail(Parts::new(from, to, message)).await
    }

    /// Sends a message as the caller has it, as
    /// [`Connection::send_mail`](crate::Connection::send_mail) does (the envelope from
    /// the header unless the message brings one, `Bcc` not sent), declared by what the
    /// last connection set up offered. The pool keeps one copy of its content, shared by
    /// its attempts.
    pub async fn send_mail<'a>(&self, message: impl IntoMessage<'a>) -> Result<PoolReport, Error> {
        let caps = self.shared.lock().msgs.capabilities().clone();
        let (envelope, content) = smtp_io::message::prepare(message, &caps)?;
        self.send(envelope, content).await
    }

    /// Sends several messages; their reports in order. They go out concurrently, each
    /// as [`send`](Self::send) sends it.
    pub async fn send_many<B: Into<Arc<[u8]>>>(
        &self,
        messages: impl IntoIterator<Item = (Envelope, B)>,
    ) -> Vec<Result<PoolReport, Error>> {
        let mut waiting = Vec::new();
        for (envelope, body) in messages {
            waiting.push(self.submit(envelope, body.into()).await);
        }
        let mut out = Vec::with_capacity(waiting.len());
        for w in waiting {
            out.push(match w {
                Ok(rx) => rx.wait().await,
                Err(e) => Err(e),
            });
        }
        out
    }

    /// Takes no more messages, finishes those taken, then QUITs every connection.
    pub async fn close(&self) {
        let _listening = self.shared.listening.listen();
        loop {
            let changed = self.shared.changed.listen();
            let closed = self.shared.with(|st, _| {
                st.core.close();
                st.core.is_closed()
            });
            if closed {
                return;
            }
            changed.await;
        }
    }

    /// Connections open, idle and busy, and messages queued and in flight.
    pub fn status(&self) -> Status {
        self.shared.lock().core.status()
    }

    /// Queues the message, waiting while the queue is full.
    async fn submit(&self, mut envelope: Envelope, body: Arc<[u8]>) -> Result<Waiting<'_>, Error> {
        if envelope.recipients.is_empty() {
            return Err(Error::Usage(UsageError::NoRecipients));
        }
        // Signed here, once, before the queue: the builder's signer covers every
        // message of the pool, and its connections send what they are given.
        let signing = &self.shared.builder.settings.signing;
        let body = match signing.sign(&mut envelope, &body)? {
            Some(signed) => signed.into(),
            None => body,
        };
        let (tx, rx) = inbox::reply();
        let mut item = Some((envelope, body, tx));
        // Only a caller that found the queue full listens for room (a listener costs
        // an allocation and a lock), and looks again once listening.
        let mut changed = None;
        let mut listening = None;
        loop {
            let submitted = self.shared.with(|st, now| {
                let msg = st.core.submit(now)?;
                if let Some((envelope, body, reply)) = item.take() {
                    st.msgs.insert(msg, envelope, body, reply);
                }
                Ok(msg)
            });
            match submitted {
                Ok(msg) => {
                    let shared = &self.shared;
                    let done = false;
                    return Ok(Waiting {
                        shared,
                        msg,
                        rx,
                        done,
                    });
                }
                Err(SubmitError::Closed) => return Err(Error::PoolClosed),
                Err(SubmitError::Full) => match changed.take() {
                    Some(listener) => listener.await,
                    None => {
                        listening.get_or_insert_with(|| self.shared.listening.listen());
                        changed = Some(self.shared.changed.listen());
                    }
                },
            }
        }
    }
}

/// A queued message's report to come; dropping it withdraws the message. (It borrows
/// the pool, as the caller's future does: no count of the pool's to take per message.)
struct Waiting<'a> {
    shared: &'a Arc<Shared>,
    msg: MessageId,
    rx: Reply<Result<PoolReport, Error>>,
    /// The result came: the message is over, nothing to withdraw.
    done: bool,
}

impl Waiting<'_> {
    async fn wait(mut self) -> Result<PoolReport, Error> {
        let result = (&mut self.rx).await;
        self.done = true;
        result.unwrap_or(Err(Error::PoolClosed))
    }
}

impl Drop for Waiting<'_> {
    /// A message still queued is gone at once. One handed to a connection is withdrawn
    /// there if none of it was written yet (the connection's task sees to it and tells
    /// the core); else it completes and its report is discarded.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let msg = self.msg;
        self.shared.with(|st, _| {
            let conn = st.msgs.cancel(&mut st.core, msg);
            if let Some(line) = conn.and_then(|c| st.conns.get(&c)) {
                line.cancel(msg);
            }
        });
    }
}

/// Wakes the core at its deadlines (idle limits, backoffs, wait limits) until the pool
/// is dropped.
async fn timer(shared: Weak<Shared>, wake: Arc<Event>) {
    loop {
        let notified = wake.listen();
        let Some(s) = shared.upgrade() else {
            return;
        };
        let deadline = {
            let mut st = s.lock();
            st.timer_at = st.core.poll_timeout();
            st.timer_at
        };
        let at = deadline.and_then(|d| s.origin.checked_add(d.as_duration()));
        drop(s);
        match at {
            Some(at) => {
                let sleep = async {
                    Timer::at(at).await;
                };
                future::or(sleep, notified).await;
            }
            None => notified.await,
        }
        match shared.upgrade() {
            Some(s) => s.with(|_, _| ()),
            None => return,
        }
    }
}

impl Drop for Shared {
    /// The timer task ends; each connection task, its channel closed, finishes the
    /// messages it has and QUITs.
    fn drop(&mut self) {
        self.timer.notify(1);
    }
}

/// One connection: open it, stream what the pool hands it, answer checks, close.
/// The stream stays open between bursts of messages (its queues keep their room)
/// until the pool says to trim ([`Cmd::Trim`], after `PoolConfig::trim_after` idle);
/// then the task holds its `Connection` and a small wait ([`Connection::idle`]). The
/// stream's future, far larger, is boxed for as long as the stream is open.
async fn connection(
    shared: Weak<Shared>,
    id: ConnId,
    open: Pin<Box<impl Future<Output = Result<Connection, Error>>>>,
    inbox: Inbox,
) {
    let Some(mut conn) = opened(&shared, id, open).await else {
        return;
    };
    let Some(max_in_flight) = shared.upgrade().map(|s| s.max_in_flight) else {
        return;
    };
    let cancels = inbox.cancels();
    loop {
        // Why the stream ended, if not trimmed or dead: a check, or a close (the pool
        // closes the connection, or is gone).
        let mut check = None;
        // Messages withdrawn (their callers gave up before any of them was written)
        // leave the connection's count.
        let withdrawn = |msgs: &[MessageId]| {
            if let (false, Some(s)) = (msgs.is_empty(), shared.upgrade()) {
                s.with(|st, now| {
                    st.msgs.withdrawn(&mut st.core, now, id, msgs);
                });
            }
        };
        let next = |cx: &mut Context<'_>| loop {
            return match inbox.poll_next(cx) {
                Poll::Ready(Some(Cmd::Send { msg, .. })) if cancels.take(&msg) => {
                    withdrawn(&[msg]);
                    continue;
                }
                Poll::Ready(Some(Cmd::Send {
                    envelope,
                    body,
                    msg,
                })) => Poll::Ready(Some((envelope, Body::new(body), msg))),
                Poll::Ready(Some(Cmd::Trim)) => Poll::Ready(None),
                Poll::Ready(other) => {
                    check = Some(matches!(other, Some(Cmd::Check)));
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            };
        };
        let withdraw = |open: &mut _, session: &mut _| {
            withdrawn(&cancels.withdraw(open, session));
        };
        // A step's reports at once: one lock and one clock read for them all.
        let on_reports = |reports: std::vec::Drain<'_, Reported<MessageId>>| {
            let Some(s) = shared.upgrade() else {
                return;
            };
            s.with(|st, now| {
                for (msg, result, envelope) in reports {
                    // Under the pool's lock, as a cancel asks: nothing left to withdraw.
                    cancels.forget(&msg);
                    st.msgs.report(&mut st.core, now, id, msg, result, envelope);
                }
            });
        };
        let streamed =
            Box::pin(conn.stream_withdrawing(max_in_flight, next, on_reports, withdraw)).await;
        let Some(s) = shared.upgrade() else {
            let _ = Box::pin(conn.quit()).await;
            return;
        };
        match (streamed, check) {
            (Err(e), _) => {
                // The session died: what was handed over and not taken was not written.
                return s.with(|st, now| {
                    while let Some(Cmd::Send { msg, envelope, .. }) = inbox.try_next() {
                        st.msgs
                            .unsent(&mut st.core, now, id, msg, Some(&e), Some(envelope));
                    }
                    st.conns.remove(&id);
                    st.core.handle_closed(now, id);
                });
            }
            (Ok(()), Some(true)) => {
                drop(s);
                let alive = Box::pin(conn.noop())
                    .await
                    .is_ok_and(|r| r.code().get() == 250);
                let Some(s) = shared.upgrade() else {
                    return;
                };
                s.with(|st, now| {
                    if !alive {
                        st.conns.remove(&id);
                    }
                    st.core.handle_checked(now, id, alive);
                });
                if !alive {
                    return;
                }
            }
            (Ok(()), Some(false)) => {
                drop(s);
                let _ = Box::pin(conn.quit()).await;
                return;
            }
            (Ok(()), None) => {
                // Trimmed (the stream's buffers given back): idle until a message or a
                // command comes, or the server speaks (a close or a 421, which the
                // next stream's first step takes in).
                #[cfg(test)]
                {
                    s.lock().trimmed += 1;
                }
                drop(s);
                conn.idle(|cx| inbox.poll_ready(cx)).await;
            }
        }
    }
}

/// Opens the connection and tells the pool how that went: the connection if it is
/// set up. (Its own future, so that the task does not keep room for the result beside
/// the connection.)
async fn opened(
    shared: &Weak<Shared>,
    id: ConnId,
    open: Pin<Box<impl Future<Output = Result<Connection, Error>>>>,
) -> Option<Connection> {
    let opened = open.await;
    let s = shared.upgrade()?;
    s.with(|st, now| match opened {
        Ok(conn) => {
            st.msgs.opened(&mut st.core, now, id, conn.capabilities());
            Some(conn)
        }
        Err(e) => {
            st.conns.remove(&id);
            st.msgs.open_failed(&mut st.core, now, id, e);
            None
        }
    })
}

/// A message's content, shared by its attempts.
struct Body {
    data: Arc<[u8]>,
    pos: usize,
}

impl Body {
    fn new(data: Arc<[u8]>) -> Self {
        Body { data, pos: 0 }
    }
}

impl AsyncRead for Body {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let rest = &self.data[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;
    use smtp_io::inbox;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        smol::block_on(f)
    }

    macro_rules! aw {
        ($e:expr) => {
            $e.await
        };
    }

    include!("../../smtp-testkit/pool-tests/lines.rs");
    include!("../../smtp-testkit/pool-tests/task_size.rs");
}
