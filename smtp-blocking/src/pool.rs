//! A pool of connections shared by many threads: [`Pool`]. Every decision (which
//! connection takes a message, when to open, check, retire or replace one, what is
//! sent again) is [`smtp_proto::pool`]'s; this file spawns threads, moves messages and
//! keeps time.

use std::io::Cursor;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant as Clock};

use smtp_io::pool::{IdMap, Messages, Order, PoolReport};
use smtp_io::stream::{Cancels, Reported};
use smtp_proto::pool::{self, ConnId, MessageId, PoolConfig, Status, SubmitError};
use smtp_proto::{Envelope, Instant, UsageError};

use crate::{Builder, Error, ForwardPath, IntoMessage, Next, Parts, ReversePath};

/// How long an idle connection's thread waits for a message before it glances at its
/// socket (see [`Next::Empty`]): how soon a server's idle close is noticed.
const IDLE_WAKE: Duration = Duration::from_millis(50);

/// Connections shared by any number of threads: each message goes to a connection
/// with room in its pipeline, joining the next flight behind other callers' messages
/// (RFC 2920); connections open on demand up to the maximum, are checked after idling,
/// retire and are replaced; a message that certainly never reached the server is sent
/// again on another connection. See [`smtp_proto::pool`] for every rule.
///
/// `Clone` (clones share the pool), `Send` and `Sync`. Each connection runs on a
/// thread of its own, and one more thread wakes the pool at its deadlines (idle
/// limits, backoffs, wait limits). An idle connection's thread waits for a message
/// 50 ms at a time and glances at its socket in between, so that a server that
/// closes an idle connection (or says 421) is noticed before a message is handed to
/// it. Calls block: [`send`](Self::send) until the
/// message's report, and while the queue is full (backpressure). Dropping every clone
/// without [`Pool::close`] does not hang: nobody can be waiting in a call then; the
/// timer thread ends, and each connection thread finishes the messages it has and
/// QUITs.
///
/// A call returns with its message's outcome, so a caller cannot walk away from a
/// message half-way as an async caller drops its future: what bounds a call is
/// [`PoolConfig::max_wait`] for the queue (the message then ends with
/// [`Error::PoolTimeout`], never sent) and the builder's timeouts for the exchange. A
/// caller that unwinds instead (a panic in the iterator [`send_many`](Self::send_many)
/// reads, say) withdraws the messages it submitted, as an async caller's dropped
/// future does: one none of which was written never reaches the server, and one
/// written completes and its report is discarded; no other message, nor the
/// connection, is affected.
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

/// What callers and threads share; the timer thread holds it without the builder, so
/// that the pool's end is [`Shared`]'s.
struct Inner {
    state: Mutex<State>,
    origin: Clock,
    /// Wakes callers waiting for room in the queue, and `close`.
    changed: Condvar,
    /// Wakes the timer thread: a deadline may have moved, or the pool is gone.
    timer: Condvar,
}

struct Shared {
    inner: Arc<Inner>,
    builder: Builder,
    max_in_flight: usize,
}

/// A connection thread, as the pool reaches it.
struct Line {
    tx: Sender<Cmd>,
    /// Its messages whose callers gave up.
    cancels: Arc<Cancels<MessageId>>,
}

/// A message for a connection thread's stream: envelope, content, and its id.
type Item = (Envelope, Cursor<Arc<[u8]>>, MessageId);

/// What a connection thread is told. A message is boxed: the channel keeps a block of
/// 31 slots per connection for its life, each the size of the largest command.
enum Cmd {
    Send(Box<Item>),
    Check,
    Close,
    /// End the stream, giving its buffers back ([`Order::Trim`]).
    Trim,
}

/// Tells a connection's task or thread; `Err` if it is gone (a message it was handed
/// was then never written).
fn tell(line: Option<&Line>, cmd: Cmd) -> Result<(), (Error, Option<Box<Envelope>>)> {
    let refused = match line {
        Some(l) => l.tx.send(cmd).err().map(|e| e.0),
        None => Some(cmd),
    };
    match refused {
        None => Ok(()),
        Some(Cmd::Send(item)) => Err((Error::PoolClosed, Some(Box::new(item.0)))),
        Some(_) => Err((Error::PoolClosed, None)),
    }
}

type Reply = Sender<Result<PoolReport, Error>>;

struct State {
    core: pool::Pool,
    msgs: Messages<Reply>,
    conns: IdMap<ConnId, Line>,
    /// The deadline the timer thread sleeps until (`None`: none), so that it is woken
    /// only for an earlier one.
    timer_at: Option<Instant>,
    /// How many times a connection ended its stream on the pool's trim (tests look).
    #[cfg(test)]
    trimmed: usize,
    /// The connection threads, for `close` to wait for their QUIT.
    threads: Vec<JoinHandle<()>>,
    /// Every clone of the pool is gone: the timer thread ends.
    gone: bool,
}

impl Inner {
    fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Shared {
    /// Runs `f` on the state, then does what the core decides.
    fn with<R>(self: &Arc<Self>, f: impl FnOnce(&mut State, Instant) -> R) -> R {
        let mut st = self.inner.lock();
        let r = f(&mut st, self.inner.now());
        self.pump(&mut st);
        r
    }

    /// Performs every action the core hands out.
    fn pump(self: &Arc<Self>, st: &mut State) {
        let now = self.inner.now();
        let State {
            core,
            msgs,
            conns,
            threads,
            ..
        } = st;
        let order = |order| match order {
            Order::Open(id) => {
                let (tx, rx) = mpsc::channel();
                let cancels = Arc::new(Cancels::default());
                let line = Line {
                    tx,
                    cancels: cancels.clone(),
                };
                conns.insert(id, line);
                let (shared, builder) = (Arc::downgrade(self), self.builder.clone());
                let max_in_flight = self.max_in_flight;
                let spawned = std::thread::Builder::new()
                    .name(format!("smtp-pool-{}", id.get()))
                    .spawn(move || connection(shared, id, builder, max_in_flight, rx, cancels));
                // The threads of connections that are over are let go.
                threads.retain(|t| !t.is_finished());
                spawned.map(|t| threads.push(t)).map_err(|e| {
                    conns.remove(&id);
                    (Error::Io(e), None)
                })
            }
            Order::Send {
                conn,
                msg,
                envelope,
                body,
            } => {
                let item = (envelope, Cursor::new(body), msg);
                tell(conns.get(&conn), Cmd::Send(Box::new(item)))
            }
            Order::Check(conn) => tell(conns.get(&conn), Cmd::Check),
            Order::Close(conn) => tell(conns.remove(&conn).as_ref(), Cmd::Close),
            Order::Trim(conn) => tell(conns.get(&conn), Cmd::Trim),
        };
        let changed = msgs.pump(core, now, order, |reply, result| {
            let _ = reply.send(result);
        });
        if changed {
            self.inner.changed.notify_all();
        }
        let deadline = st.core.poll_timeout();
        if deadline.is_some_and(|d| st.timer_at.is_none_or(|at| d < at)) {
            st.timer_at = deadline;
            self.inner.timer.notify_one();
        }
    }
}

impl Pool {
    /// A pool opening its connections from `builder`. Every connection shares the
    /// builder's rustls configuration (one `Arc<rustls::ClientConfig>`, the default
    /// one unless [`Builder::tls_config`] gave another), so TLS sessions resume.
    ///
    /// # Panics
    /// If the timer thread cannot be spawned.
    pub fn new(builder: Builder, config: PoolConfig) -> Pool {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                core: pool::Pool::new(config.clone()),
                msgs: Messages::default(),
                conns: IdMap::default(),
                timer_at: None,
                #[cfg(test)]
                trimmed: 0,
                threads: Vec::new(),
                gone: false,
            }),
            origin: Clock::now(),
            changed: Condvar::new(),
            timer: Condvar::new(),
        });
        let shared = Arc::new(Shared {
            inner: inner.clone(),
            builder,
            max_in_flight: config.max_in_flight.max(1),
        });
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("smtp-pool-timer".into())
            .spawn(move || timer(weak, inner))
            .expect("spawn the pool's timer thread");
        Pool { shared }
    }

    /// Sends one message held in memory; its report once it has an outcome. Waits while
    /// the queue is full.
    pub fn send(
        &self,
        envelope: Envelope,
        body: impl Into<Arc<[u8]>>,
    ) -> Result<PoolReport, Error> {
        self.submit(envelope, body.into())?.wait()
    }

    /// Sends a whole RFC 5322 message, declared as
    /// [`Connection::send_message`](crate::Connection::send_message) does, by what the
    /// last connection set up offered (nothing before the first: then no SMTPUTF8).
    pub fn send_message(
        &self,
        from: ReversePath,
        to: impl IntoIterator<Item = ForwardPath>,
        message: &[u8],
    ) -> Result<PoolReport, Error> {
        self.send_mail(Parts::new(from, to, message))
    }

    /// Sends a message as the caller has it, as
    /// [`Connection::send_mail`](crate::Connection::send_mail) does (the envelope from
    /// the header unless the message brings one, `Bcc` not sent), declared by what the
    /// last connection set up offered. The pool keeps one copy of its content, shared by
    /// its attempts.
    pub fn send_mail<'a>(&self, message: impl IntoMessage<'a>) -> Result<PoolReport, Error> {
        let caps = self.shared.inner.lock().msgs.capabilities().clone();
        let (envelope, content) = smtp_io::message::prepare(message, &caps)?;
        self.send(envelope, content)
    }

    /// Sends several messages; their reports in order. They go out concurrently, each
    /// as [`send`](Self::send) sends it.
    pub fn send_many<B: Into<Arc<[u8]>>>(
        &self,
        messages: impl IntoIterator<Item = (Envelope, B)>,
    ) -> Vec<Result<PoolReport, Error>> {
        let waiting: Vec<_> = messages
            .into_iter()
            .map(|(envelope, body)| self.submit(envelope, body.into()))
            .collect();
        waiting
            .into_iter()
            .map(|w| w.and_then(Waiting::wait))
            .collect()
    }

    /// Takes no more messages, finishes those taken, then QUITs every connection;
    /// returns once every connection's thread has ended.
    pub fn close(&self) {
        let inner = &self.shared.inner;
        let mut st = inner.lock();
        loop {
            st.core.close();
            self.shared.pump(&mut st);
            if st.core.is_closed() {
                break;
            }
            st = inner.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        let threads = std::mem::take(&mut st.threads);
        drop(st);
        for t in threads {
            // A thread that panicked has nothing more to say.
            let _ = t.join();
        }
    }

    /// Connections open, idle and busy, and messages queued and in flight.
    pub fn status(&self) -> Status {
        self.shared.inner.lock().core.status()
    }

    /// Queues the message, waiting while the queue is full.
    fn submit(&self, mut envelope: Envelope, body: Arc<[u8]>) -> Result<Waiting, Error> {
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
        let inner = &self.shared.inner;
        let mut st = inner.lock();
        loop {
            let submitted = st.core.submit(inner.now());
            if let Ok(msg) = submitted {
                let (tx, rx) = mpsc::channel();
                st.msgs.insert(msg, envelope, body, tx);
                self.shared.pump(&mut st);
                let shared = self.shared.clone();
                return Ok(Waiting { shared, msg, rx });
            }
            self.shared.pump(&mut st);
            match submitted {
                Err(SubmitError::Full) => {
                    st = inner.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                _ => return Err(Error::PoolClosed),
            }
        }
    }
}

/// A queued message's report to come; dropped unread (a panic in `send_many`), it
/// withdraws the message: still queued, it is gone at once; handed to a connection,
/// it is withdrawn there if none of it was written yet (the connection's thread sees
/// to it and tells the core), else it completes and its report is discarded.
struct Waiting {
    shared: Arc<Shared>,
    msg: MessageId,
    rx: Receiver<Result<PoolReport, Error>>,
}

impl Waiting {
    fn wait(self) -> Result<PoolReport, Error> {
        self.rx.recv().unwrap_or(Err(Error::PoolClosed))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let msg = self.msg;
        self.shared.with(|st, _| {
            let conn = st.msgs.cancel(&mut st.core, msg);
            if let Some(line) = conn.and_then(|c| st.conns.get(&c)) {
                line.cancels.ask(msg);
            }
        });
    }
}

/// Wakes the core at its deadlines (idle limits, backoffs, wait limits) until the pool
/// is dropped.
fn timer(shared: Weak<Shared>, inner: Arc<Inner>) {
    let mut st = inner.lock();
    loop {
        if st.gone {
            return;
        }
        st.timer_at = st.core.poll_timeout();
        st = match st.timer_at {
            Some(at) => {
                let left = at.saturating_duration_since(inner.now());
                inner
                    .timer
                    .wait_timeout(st, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => inner.timer.wait(st).unwrap_or_else(|e| e.into_inner()),
        };
        if st.gone {
            return;
        }
        drop(st);
        match shared.upgrade() {
            Some(s) => s.with(|_, _| ()),
            None => return,
        }
        st = inner.lock();
    }
}

impl Drop for Shared {
    /// The timer thread ends; each connection thread, its channel closed once the
    /// timer thread let go of the state, finishes the messages it has and QUITs.
    fn drop(&mut self) {
        self.inner.lock().gone = true;
        self.inner.timer.notify_one();
    }
}

/// One connection: open it, stream what the pool hands it, answer checks, close.
fn connection(
    shared: Weak<Shared>,
    id: ConnId,
    builder: Builder,
    max_in_flight: usize,
    rx: Receiver<Cmd>,
    cancels: Arc<Cancels<MessageId>>,
) {
    let opened = builder.connect();
    let Some(s) = shared.upgrade() else {
        return;
    };
    let mut conn = match opened {
        Ok(conn) => {
            s.with(|st, now| st.msgs.opened(&mut st.core, now, id, conn.capabilities()));
            conn
        }
        Err(e) => {
            return s.with(|st, now| {
                st.conns.remove(&id);
                st.msgs.open_failed(&mut st.core, now, id, e);
            });
        }
    };
    drop(s);
    loop {
        let mut cmd = None;
        // Messages withdrawn (their callers gave up before any of them was written)
        // leave the connection's count.
        let withdrawn = |msgs: &[MessageId]| {
            if let (false, Some(s)) = (msgs.is_empty(), shared.upgrade()) {
                s.with(|st, now| st.msgs.withdrawn(&mut st.core, now, id, msgs));
            }
        };
        let next = |block: bool| loop {
            let received = if block {
                match rx.recv_timeout(IDLE_WAKE) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => return Next::Empty,
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            } else {
                match rx.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => return Next::Empty,
                    Err(TryRecvError::Disconnected) => None,
                }
            };
            return match received {
                Some(Cmd::Send(item)) if cancels.take(&item.2) => {
                    withdrawn(&[item.2]);
                    continue;
                }
                Some(Cmd::Send(item)) => Next::Message(*item),
                Some(other) => {
                    cmd = Some(other);
                    Next::End
                }
                None => Next::End,
            };
        };
        let withdraw = |open: &mut _, session: &mut _| {
            withdrawn(&cancels.withdraw(open, session));
        };
        // A step's reports at once: one lock and one clock read for them all.
        let on_reports = |reports: std::vec::Drain<'_, Reported<MessageId>>| {
            if let Some(s) = shared.upgrade() {
                s.with(|st, now| {
                    for (msg, result, envelope) in reports {
                        // Under the pool's lock, as a cancel asks: nothing left to withdraw.
                        cancels.forget(&msg);
                        st.msgs.report(&mut st.core, now, id, msg, result, envelope);
                    }
                });
            }
        };
        let streamed = conn.stream_withdrawing(max_in_flight, next, on_reports, withdraw);
        let Some(s) = shared.upgrade() else {
            let _ = conn.quit();
            return;
        };
        match (streamed, cmd) {
            (Err(e), _) => {
                // The session died: what was handed over and not taken was not written.
                return s.with(|st, now| {
                    while let Ok(Cmd::Send(item)) = rx.try_recv() {
                        let (envelope, _, msg) = *item;
                        st.msgs
                            .unsent(&mut st.core, now, id, msg, Some(&e), Some(envelope));
                    }
                    st.conns.remove(&id);
                    st.core.handle_closed(now, id);
                });
            }
            (Ok(()), Some(Cmd::Check)) => {
                drop(s);
                let alive = conn.noop().is_ok_and(|r| r.code().get() == 250);
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
            (Ok(()), Some(Cmd::Trim)) => {
                // Trimmed (the stream's buffers given back): the next stream starts
                // with nothing.
                #[cfg(test)]
                {
                    s.inner.lock().trimmed += 1;
                }
            }
            (Ok(()), _) => {
                drop(s);
                let _ = conn.quit();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;

    impl super::Shared {
        fn lock(&self) -> std::sync::MutexGuard<'_, super::State> {
            self.inner.lock()
        }
    }

    use smtp_testkit::ready as block_on;

    macro_rules! aw {
        ($e:expr) => {
            $e
        };
    }

    include!("../../smtp-testkit/pool-tests/lines.rs");
}
