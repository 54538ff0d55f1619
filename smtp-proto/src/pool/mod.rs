//! A pool's decisions, sans-IO: many callers' messages over few connections.
//!
//! A [`Pool`] decides which connection takes the next message, when to open, check,
//! retire or replace a connection, and what may be sent again and when. It does no I/O
//! and reads no clock: time comes in with every call, random bits for backoff jitter
//! too. An adapter's pool runs each connection as an open stream
//! ([`Session::stream`](crate::session::Session::stream)), performs the [`Action`]s
//! that [`Pool::poll_action`] hands out, and reports back with the `handle_*` calls;
//! it wakes at [`Pool::poll_timeout`].
//!
//! # Which connection, and when to open another
//!
//! A connection's messages go out in flights (RFC 2920): every flight costs a write
//! and a wake-up on each side, whatever it carries, so few full flights cost less CPU,
//! at client and server, than many thin ones. And a message that joins a busy
//! connection's next flight waits about a round trip, while a new connection costs
//! several before it takes anything (connect, greeting, EHLO; TLS and AUTH more).
//! Another connection helps only where one is slow to answer: a long round trip, or a
//! server that works through each connection's messages one at a time (one process
//! per connection). So the pool fills a connection's pipeline before it spreads to
//! another: to [`PoolConfig::max_in_flight`] while the connection answers promptly
//! (its oldest unanswered message was handed to it less than
//! [`PoolConfig::spread_after`] ago, or it has none), to [`PoolConfig::fill`] once it
//! is slower. That number is the connection's fill below.
//!
//! - A waiting message goes to the ready connection with the most messages in flight
//!   below its fill; ties go to the oldest connection. If none is below its fill, it
//!   goes to the one with the fewest that has room (fewer than `max_in_flight`), ties
//!   again to the oldest: it joins that connection's next flight rather than wait for
//!   another to open. It waits only while no connection has room (all full,
//!   retiring, being opened or checked).
//! - Another connection opens when, after that, a message still waits or every ready
//!   connection has more than its fill in flight (or is retiring), provided none is
//!   opening already and the pool is below [`PoolConfig::max_connections`]. So where
//!   the server answers promptly (a fast one near by), `n` concurrent callers use
//!   about `n / max_in_flight` connections, each flight carrying all the messages its
//!   callers have ready: at 0 ms, 100 callers on one connection cost the client and
//!   the server about 12% less CPU per message than spread over four
//!   (docs/bench/results.md). Where answers take longer than `spread_after`, the first
//!   `fill` concurrent messages go to one connection and the next one opens a second;
//!   `n` callers use about `n / fill` connections (with `fill` 32, 100 callers use 4,
//!   where spreading them over 16 makes flights of a handful); callers past
//!   `fill × max_connections` fill the pipelines further, evenly, up to
//!   `max_in_flight` each. One caller at a time uses one connection; a pool of one
//!   connection is pure pipelining. `fill` 0 with `spread_after` zero spreads: every
//!   message to the emptiest connection, and another opens while every one is busy.
//! - Latency: a message waits for an open only when no connection has room. A
//!   connection that stopped answering takes the messages that come, up to
//!   `max_in_flight` for `spread_after` and then until it has more than `fill`, and
//!   those that come while another opens; once that one is open it takes the next
//!   ones (the adapter's timeouts end the stuck connection; what it had is then sent
//!   again or unknown, as below). A lower `fill` or `spread_after` bounds that
//!   sooner, at the price of thinner flights.
//! - Connections below their fill take the fullest first, so when the load falls (or
//!   a slow connection answers promptly again) the
//!   others take nothing, fall idle and retire: a connection idle for
//!   [`PoolConfig::check_after`] is checked (NOOP) before it takes a message; one idle
//!   for [`PoolConfig::max_idle`] is closed (QUIT); one past [`PoolConfig::max_age`] or
//!   [`PoolConfig::max_messages`] takes nothing more and is closed once its messages
//!   are answered. A connection that dies is forgotten once the adapter says so
//!   ([`Pool::handle_closed`]); the next message opens another.
//!
//! # Idle connections' buffers
//!
//! A connection's stream stays open between bursts of messages (its queues keep their
//! room, so the next burst allocates nothing) until the connection has been idle for
//! [`PoolConfig::trim_after`]: then [`Action::Trim`] tells the adapter to end the
//! stream and give its buffers back, once per idle period, and the pool gives back its
//! own room for the connection's messages in flight. So a connection in steady use
//! grows its buffers once, and one that idles holds little.
//!
//! # What is sent again
//!
//! Only a message that certainly never reached the server ([`may_resend`]): its
//! session ended before the end of its data, or a 421 answered it. It waits
//! a backoff (doubling, with jitter) and goes to the front of the queue, at most
//! [`PoolConfig::max_attempts`] attempts in all. Never a message whose outcome is
//! unknown, accepted (even in part) or rejected. A connection that cannot be opened
//! is retried with the same backoff; after `max_attempts` failures in a row with no
//! connection open (or a permanent failure), the waiting messages end with
//! [`End::OpenFailed`].
//!
//! ## Recipients that failed for now
//!
//! With [`PoolConfig::retry_transient_recipients`] (off by default), a message whose
//! transaction settled some recipients for good (accepted, or refused permanently)
//! and others for now only (a 4xx to RCPT, or not attempted after "too many
//! recipients") is sent again, after the same backoff and within the same
//! `max_attempts`, in a new transaction carrying only those others
//! (the pool decides which, and when: never after an unknown outcome,
//! never when the transaction failed as a whole). So no recipient that was accepted
//! gets a second copy, and none refused for good is asked again. The adapter hands
//! each attempt the message's envelope itself (no copy) and gets it back with the
//! report ([`Session::poll_report_and_envelope`](crate::session::Session::poll_report_and_envelope)),
//! hands reports in with [`Pool::handle_report_of`] and narrows the envelope for the
//! next attempt with [`Pool::retry_envelope`] (or copies it with
//! [`Pool::attempt_envelope`]); the message's report is then the attempts' reports
//! merged, each recipient's status from the attempt that settled it (see
//! [`Pool::take_report`]).
//!
//! # Callers
//!
//! At most [`PoolConfig::max_queued`] messages wait ([`SubmitError::Full`]: the adapter
//! makes the caller wait, so nothing grows without bound); one that waited
//! [`PoolConfig::max_wait`] without being sent ends with [`End::TimedOut`]. A caller
//! that gives up withdraws its message with [`Pool::cancel`]: a message still waiting
//! is gone at once. One already handed to a connection ([`Pool::handed_to`]) is
//! withdrawn from that connection's session if none of it was written yet
//! ([`Session::stream_withdraw`](crate::session::Session::stream_withdraw)); the
//! adapter then says so with [`Pool::handle_withdrawn`], and nothing of it reaches the
//! server. Otherwise it completes there and its report is discarded. Either way no
//! [`Action::Done`] comes for it, and no other message, nor the connection, is
//! affected. Every other submitted message ends with exactly one [`Action::Done`].

#[cfg(test)]
mod handback_tests;
mod merge;
mod retry;
mod slab;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::time::Duration;

use crate::envelope::Envelope;
use crate::report::Report;
use crate::time::Instant;
use slab::Slab;

pub use retry::may_resend;
pub(crate) use retry::{backoff, transient_recipients};

/// A pool's limits and timings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Most connections open (or opening) at once. At least 1.
    pub max_connections: usize,
    /// Most messages handed to one connection and not yet reported: the
    /// `max_open` of its stream. At least 1.
    pub max_in_flight: usize,
    /// Messages in flight on a connection slow to answer (see
    /// [`spread_after`](Self::spread_after)) before the pool spreads to another: below
    /// it, a connection takes the next message rather than an emptier one; once every
    /// connection has more, another opens (see the [module documentation](self)). At
    /// most `max_in_flight`; 0 (with `spread_after` zero) spreads every message to the
    /// emptiest connection. 32 by default: flights of 32 cost the client and the server
    /// about what one connection streaming costs per message (smtp-bench's `pool`,
    /// docs/bench/results.md), while a connection that stops answering holds about 32
    /// messages before another opens.
    pub fill: usize,
    /// A connection whose oldest unanswered message was handed to it less than this
    /// long ago (or that has none) answers promptly: it fills to `max_in_flight`, not
    /// to [`fill`](Self::fill), before the pool spreads. So where the server answers
    /// within this (a fast server near by), connections are added only for messages
    /// that find every pipeline full, and each flight carries as many messages as there
    /// are callers; where answers take longer (a long round trip, a server slow per
    /// connection) the pool spreads at `fill`. 10 ms by default: above a loaded
    /// machine's scheduling delays, below a round trip across a continent. Zero: every
    /// connection fills to `fill` only.
    pub spread_after: Duration,
    /// A connection idle this long is closed.
    pub max_idle: Duration,
    /// A connection idle this long gives its buffers back ([`Action::Trim`]): before,
    /// its stream and queues keep their room for the next messages, so that a
    /// connection busy in bursts (a fast server answers each flight before the next
    /// is ready) does not allocate them again for each burst. 1 s by default: many
    /// bursts at any load that keeps a connection, little held by one that idles.
    pub trim_after: Duration,
    /// A connection this old takes no more messages and is closed once idle.
    pub max_age: Duration,
    /// A connection that took this many messages takes no more and is closed once idle.
    /// 10,000 by default, and not more: servers cap messages per connection too
    /// (KumoMTA's listener at 10,000 by default) and refuse more with a 4xx to MAIL,
    /// which the pool sends again only if it is a 421. A replacement costs a connect
    /// and an EHLO (and TLS and AUTH): a few round trips per 10,000 messages, about 2%
    /// of one connection's time at 50 ms and 1,800 msg/s, and not measurable at 0 ms,
    /// where 100 callers on one connection replaced it ten times a second and went as
    /// fast as one caller streaming without replacing it (docs/bench/results.md).
    pub max_messages: u64,
    /// A connection idle this long is checked (NOOP) before it takes a message.
    pub check_after: Duration,
    /// Most messages waiting for a connection.
    pub max_queued: usize,
    /// How long a message may wait for a connection.
    pub max_wait: Duration,
    /// Most attempts per message, sending it again whole or to some recipients alike
    /// (and opens in a row that fail before waiting messages fail). At least 1.
    pub max_attempts: u32,
    /// The first backoff after a failure; it doubles per attempt, with jitter.
    pub backoff_base: Duration,
    /// The longest backoff.
    pub backoff_max: Duration,
    /// Send a message again to its recipients that failed for now only, in a new
    /// transaction carrying only them (see the [module documentation](self)). Off by
    /// default: the caller sees the 4xx and decides.
    pub retry_transient_recipients: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 4,
            max_in_flight: 100,
            fill: 32,
            spread_after: Duration::from_millis(10),
            max_idle: Duration::from_secs(60),
            trim_after: Duration::from_secs(1),
            max_age: Duration::from_secs(3600),
            max_messages: 10_000,
            check_after: Duration::from_secs(30),
            max_queued: 10_000,
            max_wait: Duration::from_secs(60),
            max_attempts: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            retry_transient_recipients: false,
        }
    }
}

/// A message in the pool, from [`Pool::submit`]. Ids compare in submission order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MessageId {
    /// In submission order, unique: what the id says and how ids compare.
    number: u64,
    /// Where the pool keeps it (see `slab`): found without a search.
    slot: u32,
}

impl MessageId {
    /// The number (in submission order).
    pub fn get(self) -> u64 {
        self.number
    }
}

/// Hashed by its number alone (which names its slot too): one `u64`, as an adapter's
/// map of ids hashes it fastest.
impl core::hash::Hash for MessageId {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.number);
    }
}

impl core::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("MessageId").field(&self.number).finish()
    }
}

/// A connection of the pool, from [`Action::Open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(u64);

impl ConnId {
    /// The number (in opening order).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What the adapter does next.
#[must_use = "an Action is an instruction: the adapter must perform it and report back"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open a connection and set its session up, then
    /// [`handle_opened`](Pool::handle_opened) or
    /// [`handle_open_failed`](Pool::handle_open_failed).
    Open(ConnId),
    /// Hand the message to the connection's stream; its report comes back with
    /// [`handle_report`](Pool::handle_report).
    Send {
        /// The connection.
        conn: ConnId,
        /// The message.
        msg: MessageId,
    },
    /// Send NOOP on the idle connection, then [`handle_checked`](Pool::handle_checked).
    Check(ConnId),
    /// QUIT and close the connection (it has nothing in flight); nothing to report.
    Close(ConnId),
    /// The connection, idle for [`PoolConfig::trim_after`], gives its buffers back (an
    /// adapter ends its open stream, [`Session::finish_stream`](crate::session::Session::finish_stream))
    /// and stays open; nothing to report. Once per idle period.
    Trim(ConnId),
    /// The message is over: tell its caller.
    Done {
        /// The message.
        msg: MessageId,
        /// How it ended.
        end: End,
        /// How many times it was handed to a connection.
        attempts: u32,
    },
}

/// How a message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Its last report is its outcome (the adapter kept it from
    /// [`handle_report`](Pool::handle_report)).
    Report,
    /// It waited for a connection that could not be opened (the adapter kept the error
    /// from [`handle_open_failed`](Pool::handle_open_failed)); it was never sent. (A
    /// message that was sent and waits to be sent again ends [`End::Report`] instead.)
    OpenFailed,
    /// It waited [`PoolConfig::max_wait`] and was never sent (likewise).
    TimedOut,
    /// Its connection was closed without its report (the adapter's contract is to hand
    /// in every report first): its outcome is unknown, and it is not sent again.
    Lost,
}

/// Why [`Pool::submit`] refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// [`PoolConfig::max_queued`] messages wait: try again after an [`Action::Done`].
    Full,
    /// The pool is closing.
    Closed,
}

/// What [`Pool::status`] says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// Connections open and set up.
    pub open: usize,
    /// Of those, with nothing in flight.
    pub idle: usize,
    /// Of those, with messages in flight.
    pub busy: usize,
    /// Connections being opened.
    pub opening: usize,
    /// Messages waiting for a connection.
    pub queued: usize,
    /// Messages handed to connections and not yet reported.
    pub in_flight: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Opening,
    Ready,
    Checking,
    Closing,
}

#[derive(Debug)]
struct Conn {
    id: ConnId,
    state: State,
    opened: Instant,
    last_active: Instant,
    /// In the order they were handed over, with when.
    /// A deque: reports come oldest first, and leave from the front.
    in_flight: VecDeque<(MessageId, Instant)>,
    taken: u64,
    /// Past its age or message limit: takes nothing more.
    retiring: bool,
    /// Told to give its buffers back ([`Action::Trim`]) since it last took a message.
    trimmed: bool,
}

impl Conn {
    /// Messages in flight before the pool spreads past this connection: `max_in_flight`
    /// while it answers promptly (its oldest unanswered message was handed less than
    /// [`PoolConfig::spread_after`] ago, or it has none), else [`PoolConfig::fill`].
    fn fill(&self, config: &PoolConfig, now: Instant) -> usize {
        let slow = |&(_, handed): &(MessageId, Instant)| {
            now.saturating_duration_since(handed) >= config.spread_after
        };
        if config.spread_after.is_zero() || self.in_flight.front().is_some_and(slow) {
            config.fill
        } else {
            config.max_in_flight
        }
    }

    fn holds(&self, msg: MessageId) -> Option<usize> {
        self.in_flight.iter().position(|&(m, _)| m == msg)
    }

    /// Takes `msg` out of the messages in flight, if there. (The room stays for the
    /// next burst until the connection is trimmed.)
    fn take_out(&mut self, msg: MessageId) -> bool {
        let Some(i) = self.holds(msg) else {
            return false;
        };
        self.in_flight.remove(i);
        true
    }

    /// Ready with nothing in flight.
    fn is_idle(&self) -> bool {
        self.state == State::Ready && self.in_flight.is_empty()
    }
}

/// A message in the queue. First come the messages waiting to be sent again (pushed
/// to the front), then the others in submission order, so by deadline: the scans below
/// stop at the first of those, and cost what the retries do, not the queue's length.
#[derive(Debug)]
struct Waiting {
    msg: MessageId,
    not_before: Instant,
    deadline: Instant,
    retry: bool,
}

#[derive(Debug)]
struct Msg {
    attempts: u32,
    deadline: Instant,
    cancelled: bool,
    /// The reports of the attempts so far, merged, once an attempt settled some
    /// recipients and left others for a later one.
    /// Boxed: rare, and the map of messages moves its entries as it changes.
    merged: Option<Box<Report>>,
    /// The recipients (positions in the envelope) the next attempt carries; `None`:
    /// all of them.
    recipients: Option<Vec<usize>>,
    /// The same recipients as positions in the last attempt's envelope, until the
    /// adapter narrows that envelope to them ([`Pool::retry_envelope`]).
    narrow: Option<Vec<usize>>,
}

/// The pool's decisions; see the [module documentation](self).
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    conns: Vec<Conn>,
    queue: VecDeque<Waiting>,
    msgs: Slab<Msg>,
    /// Merged reports of messages that ended, until [`Pool::take_report`].
    reports: BTreeMap<MessageId, Report>,
    actions: VecDeque<Action>,
    next_msg: u64,
    next_conn: u64,
    /// Opens that failed in a row, and when the next may start.
    open_failures: u32,
    open_not_before: Instant,
    open_permanent: bool,
    closing: bool,
    /// The last time handed in: [`Pool::poll_timeout`] names only later instants.
    now: Instant,
    /// No connection is to be trimmed before this (`None`: none is idle untrimmed,
    /// as far as known): a bound that spares the scan per message.
    trim_due: Option<Instant>,
}

impl Pool {
    /// An empty pool: connections open on demand.
    pub fn new(mut config: PoolConfig) -> Self {
        config.max_connections = config.max_connections.max(1);
        config.max_in_flight = config.max_in_flight.max(1);
        config.fill = config.fill.min(config.max_in_flight);
        config.max_attempts = config.max_attempts.max(1);
        Pool {
            config,
            conns: Vec::new(),
            queue: VecDeque::new(),
            msgs: Slab::new(),
            reports: BTreeMap::new(),
            actions: VecDeque::new(),
            next_msg: 0,
            next_conn: 0,
            open_failures: 0,
            open_not_before: Instant::ZERO,
            open_permanent: false,
            closing: false,
            now: Instant::ZERO,
            trim_due: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Connections and messages, by state.
    pub fn status(&self) -> Status {
        let mut s = Status {
            queued: self.queue.len(),
            ..Status::default()
        };
        for c in &self.conns {
            s.in_flight += c.in_flight.len();
            match c.state {
                State::Opening => s.opening += 1,
                State::Ready | State::Checking => {
                    s.open += 1;
                    if c.in_flight.is_empty() {
                        s.idle += 1;
                    } else {
                        s.busy += 1;
                    }
                }
                State::Closing => {}
            }
        }
        s
    }

    /// Whether the pool was closed and everything is over: every message ended and
    /// every connection closed.
    pub fn is_closed(&self) -> bool {
        self.closing && self.msgs.is_empty() && self.conns.is_empty() && self.actions.is_empty()
    }

    // ----- callers -----

    /// A message to send: it waits for a connection.
    pub fn submit(&mut self, now: Instant) -> Result<MessageId, SubmitError> {
        if self.closing {
            return Err(SubmitError::Closed);
        }
        if self.queue.len() >= self.config.max_queued {
            return Err(SubmitError::Full);
        }
        let deadline = now + self.config.max_wait;
        let m = Msg {
            attempts: 0,
            deadline,
            cancelled: false,
            merged: None,
            recipients: None,
            narrow: None,
        };
        let msg = self
            .msgs
            .insert(self.next_msg, m)
            .ok_or(SubmitError::Full)?;
        self.next_msg += 1;
        self.queue.push_back(Waiting {
            msg,
            not_before: now,
            deadline,
            retry: false,
        });
        Ok(msg)
    }

    /// The caller gave up: `true` if the message was still waiting and is gone (no
    /// [`Action::Done`] comes); `false` if a connection has it (no `Done` comes either:
    /// the adapter withdraws it from [`handed_to`](Self::handed_to) if it can, see
    /// [`handle_withdrawn`](Self::handle_withdrawn), else it completes there) or it is
    /// unknown.
    pub fn cancel(&mut self, msg: MessageId) -> bool {
        if let Some(i) = self.queue.iter().position(|w| w.msg == msg) {
            self.queue.remove(i);
            self.msgs.remove(&msg);
            return true;
        }
        if let Some(m) = self.msgs.get_mut(&msg) {
            m.cancelled = true;
        }
        false
    }

    /// The connection the message was handed to and has not reported, if any.
    pub fn handed_to(&self, msg: MessageId) -> Option<ConnId> {
        self.conns
            .iter()
            .find(|c| c.holds(msg).is_some())
            .map(|c| c.id)
    }

    /// The envelope of the message's next attempt, from its whole `envelope`: all of
    /// it, or (after an attempt that settled some recipients, with
    /// [`PoolConfig::retry_transient_recipients`]) only the recipients still to try.
    /// A copy allocates its recipient list alone: the addresses in it are shared. (An
    /// adapter that hands the envelope over and gets it back with the report, see
    /// [`retry_envelope`](Self::retry_envelope), copies nothing.)
    pub fn attempt_envelope(&self, msg: MessageId, envelope: &Envelope) -> Envelope {
        let only = self.msgs.get(&msg).and_then(|m| m.recipients.as_deref());
        match only {
            None => envelope.clone(),
            Some(only) => Envelope {
                recipients: only
                    .iter()
                    .filter_map(|&i| envelope.recipients.get(i).cloned())
                    .collect(),
                ..envelope.clone()
            },
        }
    }

    /// The envelope of the message's next attempt, made from the one its last attempt
    /// carried, given back with that attempt's report
    /// ([`Session::poll_report_and_envelope`](crate::session::Session::poll_report_and_envelope))
    /// and handed here right after that report
    /// ([`handle_report_of`](Self::handle_report_of)): after an attempt that settled
    /// some recipients and left others for a later one
    /// ([`PoolConfig::retry_transient_recipients`]), only those others stay in it;
    /// otherwise (sent again whole, or not at all) it stays as it is. Nothing is
    /// allocated: the first attempt can take the message's envelope itself, and no
    /// copy is kept for the retries.
    pub fn retry_envelope(&mut self, msg: MessageId, envelope: &mut Envelope) {
        let Some(keep) = self.msgs.get_mut(&msg).and_then(|m| m.narrow.take()) else {
            return;
        };
        // `keep` is in order (positions in the report).
        let mut i = 0;
        envelope.recipients.retain(|_| {
            let kept = keep.binary_search(&i).is_ok();
            i += 1;
            kept
        });
    }

    /// No more messages: the waiting ones are still sent, then every connection closes.
    pub fn close(&mut self) {
        self.closing = true;
    }

    // ----- what happened -----

    /// The connection is set up.
    pub fn handle_opened(&mut self, now: Instant, conn: ConnId) {
        if let Some(c) = self.conn_mut(conn) {
            c.state = State::Ready;
            c.opened = now;
            c.last_active = now;
        }
        self.may_trim(now);
        self.open_failures = 0;
        self.open_permanent = false;
    }

    /// The connection could not be opened (refused, a 421 greeting, TLS or AUTH
    /// failed); `permanent` if trying again cannot help. `random` draws the backoff.
    pub fn handle_open_failed(&mut self, now: Instant, conn: ConnId, permanent: bool, random: u64) {
        self.conns.retain(|c| c.id != conn);
        self.open_failures = self.open_failures.saturating_add(1);
        self.open_permanent |= permanent;
        let wait = backoff(
            self.config.backoff_base,
            self.config.backoff_max,
            self.open_failures,
            random,
        );
        self.open_not_before = now + wait;
    }

    /// The NOOP of [`Action::Check`] was answered 250 (`alive`), or not (the session
    /// then ended: 421, 221, a reset): a dead connection is forgotten.
    pub fn handle_checked(&mut self, now: Instant, conn: ConnId, alive: bool) {
        if !alive {
            return self.handle_closed(now, conn);
        }
        if let Some(c) = self.conn_mut(conn) {
            if c.state == State::Checking {
                c.state = State::Ready;
            }
            c.last_active = now;
        }
        self.may_trim(now);
    }

    /// The message's report came from the connection; `resend` is [`may_resend`] of
    /// it (or `true` if the connection refused it before writing anything, its session
    /// being over). `random` draws the backoff of a resend. An adapter that hands in
    /// reports ([`handle_report_of`](Self::handle_report_of)) calls this only for such
    /// a refusal.
    pub fn handle_report(
        &mut self,
        now: Instant,
        conn: ConnId,
        msg: MessageId,
        resend: bool,
        random: u64,
    ) {
        let again = resend
            && self
                .msgs
                .get(&msg)
                .is_some_and(|m| m.attempts < self.config.max_attempts);
        // Only a dying session (cut, 421) gives such a report: it takes nothing more.
        self.settle(now, conn, msg, again, resend, random);
    }

    /// The message's report came from the connection: the pool decides from it whether
    /// the message is over, is sent again whole ([`may_resend`]), or (with
    /// [`PoolConfig::retry_transient_recipients`]) is sent again to some recipients
    /// only (those refused for now, unless the outcome is unknown). Returns the report unless the pool keeps it to
    /// merge with later attempts: the adapter keeps a returned report as the message's
    /// latest, for its [`Action::Done`]; at `Done`, [`take_report`](Self::take_report)
    /// says which report is the message's.
    #[must_use = "a report returned is the message's latest: keep it for its Done"]
    pub fn handle_report_of(
        &mut self,
        now: Instant,
        conn: ConnId,
        msg: MessageId,
        report: Report,
        random: u64,
    ) -> Option<Report> {
        let resend = may_resend(&report);
        let max_attempts = self.config.max_attempts;
        let retry_some = self.config.retry_transient_recipients;
        let Some(m) = self.msgs.get_mut(&msg).filter(|m| !m.cancelled) else {
            self.settle(now, conn, msg, false, resend, random);
            return Some(report);
        };
        let more = m.attempts < max_attempts;
        // The recipients to try again, as positions in this attempt's envelope, and in
        // the whole one.
        let again: Vec<usize> = if retry_some && !resend {
            transient_recipients(&report)
        } else {
            Vec::new()
        };
        let only = m.recipients.as_deref();
        let rest: Vec<usize> = again
            .iter()
            .filter_map(|&i| only.map_or(Some(i), |o| o.get(i).copied()))
            .collect();
        let split = more && !rest.is_empty();
        let kept = if m.merged.is_none() && !split {
            Some(report)
        } else {
            if !(resend && more) {
                merge::fold(&mut m.merged, report, m.recipients.as_deref());
            }
            if split {
                m.recipients = Some(rest);
                m.narrow = Some(again);
            }
            None
        };
        self.settle(now, conn, msg, (resend && more) || split, resend, random);
        kept
    }

    /// The report of a message that ended [`End::Report`], when the pool kept it: the
    /// reports of its attempts merged (each recipient's status from the attempt that
    /// settled it; the outcome accepted if an attempt was accepted, unknown if one
    /// was). `None`: the report is the last one the adapter kept. Called at the
    /// message's [`Action::Done`] (the pool holds it until then).
    pub fn take_report(&mut self, msg: MessageId) -> Option<Report> {
        self.reports.remove(&msg)
    }

    /// The message, handed to `conn` and cancelled by its caller ([`Pool::cancel`]),
    /// was withdrawn from the connection's session before any of it was written
    /// ([`Session::stream_withdraw`](crate::session::Session::stream_withdraw)): it is
    /// gone, and no [`Action::Done`] comes. (One that was not cancelled waits to be
    /// sent again, as if that attempt never was.) The connection goes on.
    pub fn handle_withdrawn(&mut self, now: Instant, conn: ConnId, msg: MessageId) {
        let Some(c) = self.conn_mut(conn) else {
            return;
        };
        if !c.take_out(msg) {
            return;
        }
        c.taken = c.taken.saturating_sub(1);
        c.last_active = now;
        self.may_trim(now);
        let Some(m) = self.msgs.get_mut(&msg) else {
            return;
        };
        if m.cancelled {
            self.msgs.remove(&msg);
            return;
        }
        m.attempts = m.attempts.saturating_sub(1);
        let deadline = m.deadline;
        self.queue.push_front(Waiting {
            msg,
            not_before: now,
            deadline,
            retry: true,
        });
    }

    /// The message left the connection with a report: it waits to be sent again
    /// (`again`) or ends; `dying` if the connection's session is ending.
    fn settle(
        &mut self,
        now: Instant,
        conn: ConnId,
        msg: MessageId,
        again: bool,
        dying: bool,
        random: u64,
    ) {
        if let Some(c) = self.conn_mut(conn) {
            c.take_out(msg);
            c.last_active = now;
            c.retiring |= dying;
        }
        self.may_trim(now);
        let Some(m) = self.msgs.get(&msg) else {
            return;
        };
        if m.cancelled {
            self.msgs.remove(&msg);
            return;
        }
        if again {
            let wait = backoff(
                self.config.backoff_base,
                self.config.backoff_max,
                m.attempts,
                random,
            );
            let deadline = m.deadline;
            self.queue.push_front(Waiting {
                msg,
                not_before: now + wait,
                deadline,
                retry: true,
            });
            return;
        }
        self.done(msg, End::Report);
    }

    /// The connection is gone (the server closed it, it failed, or it was closed as
    /// asked). Every report of its messages was handed in first; one that was not
    /// ends [`End::Lost`].
    pub fn handle_closed(&mut self, _now: Instant, conn: ConnId) {
        let Some(i) = self.conns.iter().position(|c| c.id == conn) else {
            return;
        };
        let c = self.conns.remove(i);
        for (msg, _) in c.in_flight {
            match self.msgs.get(&msg) {
                Some(m) if m.cancelled => {
                    self.msgs.remove(&msg);
                }
                Some(_) => self.done(msg, End::Lost),
                None => {}
            }
        }
    }

    // ----- decisions -----

    /// The next thing to do at `now`, or `None` until something happens or
    /// [`poll_timeout`](Self::poll_timeout) passes.
    pub fn poll_action(&mut self, now: Instant) -> Option<Action> {
        self.now = self.now.max(now);
        if self.actions.is_empty() {
            self.decide(now);
        }
        self.actions.pop_front()
    }

    /// When to call [`poll_action`](Self::poll_action) again at the latest: a message's
    /// wait limit or backoff, an open's backoff, a connection's idle limit or its trim
    /// ([`PoolConfig::trim_after`]) (each after
    /// the last `now` handed to `poll_action`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Called after every lock of an adapter's pool (per message): one pass, in
        // plain loops, nothing collected.
        let now = self.now;
        let mut earliest: Option<Instant> = None;
        let mut consider = |t: Instant| {
            if t > now && earliest.is_none_or(|e| t < e) {
                earliest = Some(t);
            }
        };
        // The retries first, then the oldest first-time message (by deadline, as the
        // queue is ordered): the first of those ends the scan.
        for w in &self.queue {
            consider(w.deadline);
            if !w.retry {
                break;
            }
            consider(w.not_before);
        }
        // An idle connection's first deadline: its trim unless done (or its close
        // comes first), else its close. (One addition per connection: this runs per
        // message.)
        let max_idle = self.config.max_idle;
        let first = self.config.trim_after.min(max_idle);
        for c in &self.conns {
            if c.is_idle() {
                consider(c.last_active + if c.trimmed { max_idle } else { first });
            }
        }
        if !self.queue.is_empty() {
            consider(self.open_not_before);
        }
        earliest
    }

    fn decide(&mut self, now: Instant) {
        self.expire(now);
        self.retire(now);
        self.dispatch(now);
        self.open(now);
        if self.closing && self.queue.is_empty() {
            for c in &mut self.conns {
                if c.state == State::Ready && c.in_flight.is_empty() {
                    c.state = State::Closing;
                    self.actions.push_back(Action::Close(c.id));
                }
            }
            // A connection being closed is over for the pool.
            self.conns.retain(|c| c.state != State::Closing);
        }
        self.trim(now);
    }

    /// Connections idle for [`PoolConfig::trim_after`] give their buffers back: after
    /// the messages were dispatched, so that one that just took a message is not.
    fn trim(&mut self, now: Instant) {
        // This runs per message: the scan only once one may be due. A connection that
        // falls idle later than the bound's was set is due later than it, so the bound
        // holds while set; it is set afresh here, or when a connection falls idle
        // without it.
        if self.trim_due.is_none_or(|t| now < t) {
            return;
        }
        let trim_after = self.config.trim_after;
        let mut next: Option<Instant> = None;
        for c in &mut self.conns {
            if !c.is_idle() || c.trimmed {
                continue;
            }
            let at = c.last_active + trim_after;
            if at <= now {
                c.trimmed = true;
                c.in_flight = VecDeque::new();
                self.actions.push_back(Action::Trim(c.id));
            } else if next.is_none_or(|n| at < n) {
                next = Some(at);
            }
        }
        self.trim_due = next;
    }

    /// Messages that waited too long end: never sent ([`End::TimedOut`]), or sent and
    /// waiting to be sent again (their last report says why).
    fn expire(&mut self, now: Instant) {
        let mut i = 0;
        while let Some(w) = self.queue.get(i) {
            if w.deadline <= now {
                let msg = w.msg;
                self.queue.remove(i);
                self.give_up(msg, End::TimedOut);
            } else if w.retry {
                i += 1;
            } else {
                break;
            }
        }
    }

    fn retire(&mut self, now: Instant) {
        let config = &self.config;
        for c in &mut self.conns {
            if c.state != State::Ready {
                continue;
            }
            c.retiring |= now.saturating_duration_since(c.opened) >= config.max_age
                || c.taken >= config.max_messages;
            let idle = now.saturating_duration_since(c.last_active) >= config.max_idle;
            if c.in_flight.is_empty() && (c.retiring || idle) {
                c.state = State::Closing;
                self.actions.push_back(Action::Close(c.id));
            }
        }
        self.conns.retain(|c| c.state != State::Closing);
    }

    fn dispatch(&mut self, now: Instant) {
        while let Some(i) = self.queue.iter().position(|w| w.not_before <= now) {
            let config = &self.config;
            // The fullest below its fill, else the emptiest with room; ties the oldest.
            let target = self
                .conns
                .iter_mut()
                .filter(|c| {
                    c.state == State::Ready
                        && !c.retiring
                        && c.in_flight.len() < config.max_in_flight
                })
                .min_by_key(|c| match (c.in_flight.len(), c.fill(config, now)) {
                    (n, fill) if n < fill => (false, fill - n, c.id),
                    (n, _) => (true, n, c.id),
                });
            let Some(c) = target else {
                return;
            };
            let stale = now.saturating_duration_since(c.last_active) >= config.check_after;
            if c.in_flight.is_empty() && stale {
                c.state = State::Checking;
                self.actions.push_back(Action::Check(c.id));
                continue;
            }
            let Some(w) = self.queue.remove(i) else {
                return;
            };
            c.in_flight.push_back((w.msg, now));
            c.taken += 1;
            c.trimmed = false;
            let conn = c.id;
            if let Some(m) = self.msgs.get_mut(&w.msg) {
                m.attempts += 1;
            }
            self.actions.push_back(Action::Send { conn, msg: w.msg });
        }
    }

    fn open(&mut self, now: Instant) {
        let live = self.conns.len();
        if self.open_permanent || self.open_failures >= self.config.max_attempts {
            if live == 0 {
                // Nothing can take the waiting messages: they end, never sent.
                while let Some(w) = self.queue.pop_front() {
                    self.give_up(w.msg, End::OpenFailed);
                }
                self.open_failures = 0;
                self.open_permanent = false;
            }
            return;
        }
        // The cheap reasons first: run per message, this mostly stops here.
        if live >= self.config.max_connections || now < self.open_not_before {
            return;
        }
        if self.conns.iter().any(|c| c.state == State::Opening) {
            return;
        }
        let ready = self.conns.iter().filter(|c| c.state == State::Ready);
        let config = &self.config;
        let all_filled = ready.clone().count() > 0
            && ready
                .clone()
                .all(|c| c.retiring || c.in_flight.len() > c.fill(config, now));
        let waiting = self.queue.iter().any(|w| w.not_before <= now);
        if waiting || (all_filled && !self.closing) {
            let id = ConnId(self.next_conn);
            self.next_conn += 1;
            self.conns.push(Conn {
                id,
                state: State::Opening,
                opened: now,
                last_active: now,
                in_flight: VecDeque::new(),
                taken: 0,
                retiring: false,
                trimmed: false,
            });
            self.actions.push_back(Action::Open(id));
        }
    }

    /// A waiting message ends without another attempt: `never_sent` if it had none,
    /// else its last report says why ([`End::Report`]).
    fn give_up(&mut self, msg: MessageId, never_sent: End) {
        let tried = self.msgs.get(&msg).is_some_and(|m| m.attempts > 0);
        self.done(msg, if tried { End::Report } else { never_sent });
    }

    fn done(&mut self, msg: MessageId, end: End) {
        if let Some(mut m) = self.msgs.remove(&msg) {
            if let Some(report) = m.merged.take().filter(|_| end == End::Report) {
                self.reports.insert(msg, *report);
            }
            self.actions.push_back(Action::Done {
                msg,
                end,
                attempts: m.attempts,
            });
        }
    }

    /// A connection was active at `now` and may fall idle: it is due for a trim no
    /// sooner than `trim_after` later (see [`trim`](Self::trim)).
    fn may_trim(&mut self, now: Instant) {
        if self.trim_due.is_none() {
            self.trim_due = Some(now + self.config.trim_after);
        }
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns.iter_mut().find(|c| c.id == id)
    }
}
