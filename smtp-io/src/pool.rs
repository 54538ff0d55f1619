//! What the adapters' pools (`smtp_blocking::Pool`, `smtp_tokio::Pool`,
//! `smtp_smol::Pool`) keep beside the core's [`smtp_proto::pool::Pool`]: each
//! message's envelope, content and caller until it ends, its last report, how the
//! core's [`Action`]s become [`Order`]s for the adapter's connections (each attempt's
//! envelope, all recipients or those still to try), how reports, withdrawals and
//! callers giving up reach the core, and how its [`End`] becomes the caller's result.
//! The decisions are the core's; spawning, channels, clocks and each connection's
//! [`Cancels`](crate::stream::Cancels) are the adapters'.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use smtp_proto::pool::{self, Action, ConnId, End, MessageId};
use smtp_proto::session::SessionError;
use smtp_proto::{Capabilities, Envelope, Instant, Report};

use crate::Error;

/// A message's report from a pool: what the server said, and how many times the
/// message was handed to a connection (more than 1 only when an earlier attempt
/// certainly never reached the server, see [`smtp_proto::pool::may_resend`], or with
/// [`PoolConfig::retry_transient_recipients`](smtp_proto::pool::PoolConfig::retry_transient_recipients)
/// when recipients refused for now were tried again: the report then merges the
/// attempts, see [`smtp_proto::pool::Pool::take_report`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolReport {
    /// The server's answers, as a `Connection`'s `send` gives them.
    pub report: Report,
    /// Attempts, from 1.
    pub attempts: u32,
}

/// A map keyed by the core's ids ([`MessageId`], [`ConnId`]), looked up a few times per
/// message: ids are counters the pool hands out, not input, so they need no
/// protection against chosen collisions and a multiply spreads them ([`IdHasher`]).
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The hasher of an [`IdMap`]: a 64-bit id times an odd constant (Fibonacci hashing),
/// which fills the high bits the table's control bytes take and keeps consecutive ids
/// in distinct buckets.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the core asks of an adapter's connections, from [`Messages::pump`].
#[derive(Debug)]
pub enum Order {
    /// Open a connection and set it up (spawn its task or thread).
    Open(ConnId),
    /// Hand the message to the connection's stream (unless its caller gave up
    /// meanwhile: then [`Messages::withdrawn`]).
    Send {
        /// The connection.
        conn: ConnId,
        /// The message.
        msg: MessageId,
        /// This attempt's envelope: all its recipients, or those still to try.
        envelope: Envelope,
        /// Its content, shared by every attempt.
        body: Arc<[u8]>,
    },
    /// NOOP on the idle connection ([`Action::Check`]).
    Check(ConnId),
    /// QUIT and close the connection ([`Action::Close`]); the pool forgets it.
    Close(ConnId),
    /// The idle connection ends its stream, giving its buffers back, and stays open
    /// ([`Action::Trim`]).
    Trim(ConnId),
}

/// A message in the pool: what to send, and whom to tell.
struct Pending<R> {
    /// The envelope of its next attempt. An attempt takes it (no copy: a copy of the
    /// recipient list per message cost about 3% of a pool's instructions per message);
    /// it comes back with the attempt's report, from the session that had it
    /// ([`smtp_proto::session::Session::poll_report_and_envelope`]), or with the
    /// message unsent, for a retry to take. `None` while an attempt has it.
    envelope: Option<Envelope>,
    body: Arc<[u8]>,
    /// Where the caller waits for the result (a channel's sending half).
    reply: R,
    /// The last attempt's report (or the error refusing it).
    last: Option<Result<Report, Error>>,
}

/// The messages of a pool, by the core's [`MessageId`], with what the adapter learnt
/// from its connections (the last open error, the capabilities of the last one set
/// up) and the random bits for the core's backoff jitter. `R` is where a caller waits.
pub struct Messages<R> {
    pending: IdMap<MessageId, Pending<R>>,
    last_open_error: Option<Error>,
    caps: Capabilities,
    random: u64,
}

impl<R> Default for Messages<R> {
    fn default() -> Self {
        let seed = {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::time::SystemTime::now())
        };
        Messages {
            pending: IdMap::default(),
            last_open_error: None,
            caps: Capabilities::default(),
            random: seed,
        }
    }
}

impl<R> Messages<R> {
    /// Random bits for backoff jitter (splitmix64).
    pub fn random(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// What the last connection set up offered (nothing before the first): a pool's
    /// `send_message` declares by it.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Keeps a message the core accepted as `msg`.
    pub fn insert(&mut self, msg: MessageId, envelope: Envelope, body: Arc<[u8]>, reply: R) {
        let last = None;
        let pending = Pending {
            envelope: Some(envelope),
            body,
            reply,
            last,
        };
        self.pending.insert(msg, pending);
    }

    /// Performs every action the core hands out at `now`: a message that is over goes
    /// to its caller through `reply`; every other action is an [`Order`] for the
    /// adapter, whose `Err` says it could not be carried out: a message not handed over
    /// (its connection is gone) was not written, and its envelope comes back with the
    /// `Err`; a connection not opened failed with that error. Returns whether a message left the queue or anything ended, or the
    /// pool is closed, so that callers waiting for room (or for `close`) look again.
    pub fn pump(
        &mut self,
        core: &mut pool::Pool,
        now: Instant,
        mut order: impl FnMut(Order) -> Result<(), (Error, Option<Box<Envelope>>)>,
        mut reply: impl FnMut(R, Result<PoolReport, Error>),
    ) -> bool {
        let mut changed = false;
        while let Some(action) = core.poll_action(now) {
            changed |= !matches!(action, Action::Open(_) | Action::Check(_) | Action::Trim(_));
            match action {
                Action::Open(conn) => {
                    if let Err((e, _)) = order(Order::Open(conn)) {
                        self.open_failed(core, now, conn, e);
                    }
                }
                Action::Send { conn, msg } => {
                    let Some(p) = self.pending.get_mut(&msg) else {
                        continue;
                    };
                    let Some(envelope) = p.envelope.take() else {
                        // Its envelope did not come back from the attempt before (not
                        // expected): it cannot be sent again, and ends with that
                        // attempt's report.
                        let random = self.random();
                        core.handle_report(now, conn, msg, false, random);
                        continue;
                    };
                    let body = p.body.clone();
                    let send = Order::Send {
                        conn,
                        msg,
                        envelope,
                        body,
                    };
                    if let Err((_, envelope)) = order(send) {
                        self.unsent(core, now, conn, msg, None, envelope.map(|e| *e));
                    }
                }
                Action::Check(conn) => {
                    let _ = order(Order::Check(conn));
                }
                Action::Close(conn) => {
                    let _ = order(Order::Close(conn));
                }
                Action::Trim(conn) => {
                    let _ = order(Order::Trim(conn));
                }
                Action::Done { msg, end, attempts } => {
                    // Its attempts' reports merged, if some recipients were tried again.
                    let merged = core.take_report(msg);
                    if let Some((to, result)) = self.done(msg, end, attempts, merged) {
                        reply(to, result);
                    }
                }
            }
        }
        // A closing pool whose last connection failed to open ends with no action.
        changed || core.is_closed()
    }

    /// The caller of `msg` gave up: its caller is forgotten, and the message withdrawn
    /// from the core if it still waited there. Otherwise returns the connection it was
    /// handed to, which the adapter asks to withdraw it
    /// ([`Cancels::ask`](crate::stream::Cancels::ask), under the pool's lock, as
    /// reports are [`forget`](crate::stream::Cancels::forget)ten): if none of it was
    /// written, the connection withdraws it ([`withdrawn`](Self::withdrawn)), else it
    /// completes and its report is discarded.
    #[must_use = "a message handed to a connection is withdrawn there"]
    pub fn cancel(&mut self, core: &mut pool::Pool, msg: MessageId) -> Option<ConnId> {
        self.pending.remove(&msg)?;
        if core.cancel(msg) {
            return None;
        }
        core.handed_to(msg)
    }

    /// Messages handed to `conn` were withdrawn there (their callers gave up, none of
    /// them written): they leave its count, and nothing of them reached the server.
    pub fn withdrawn(
        &mut self,
        core: &mut pool::Pool,
        now: Instant,
        conn: ConnId,
        msgs: &[MessageId],
    ) {
        for &msg in msgs {
            core.handle_withdrawn(now, conn, msg);
        }
    }

    /// The connection `conn` is set up, offering `caps`.
    pub fn opened(
        &mut self,
        core: &mut pool::Pool,
        now: Instant,
        conn: ConnId,
        caps: &Capabilities,
    ) {
        self.caps = caps.clone();
        core.handle_opened(now, conn);
    }

    /// The connection `conn` could not be set up: `error` is what a message that waited
    /// for it in vain ends with.
    pub fn open_failed(&mut self, core: &mut pool::Pool, now: Instant, conn: ConnId, error: Error) {
        let permanent = error.is_permanent();
        self.last_open_error = Some(error);
        let random = self.random();
        core.handle_open_failed(now, conn, permanent, random);
    }

    /// `msg`'s report (or the session's refusal) came from `conn`, with its envelope
    /// if the session gave it back; a refusal before
    /// anything was written (the session is over) never reached the server. The core
    /// decides whether it is over, sent again whole, or sent again to some recipients
    /// ([`pool::Pool::handle_report_of`]). The adapter first
    /// [`forget`](crate::stream::Cancels::forget)s it in its connection's cancels,
    /// under the same lock as [`cancel`](Self::cancel).
    pub fn report(
        &mut self,
        core: &mut pool::Pool,
        now: Instant,
        conn: ConnId,
        msg: MessageId,
        result: Result<Report, Error>,
        envelope: Option<Box<Envelope>>,
    ) {
        let random = self.random();
        let reported = result.is_ok();
        let last = match result {
            // The core keeps a report it merges with later attempts.
            Ok(report) => core
                .handle_report_of(now, conn, msg, report, random)
                .map(Ok),
            Err(e) => {
                core.handle_report(now, conn, msg, true, random);
                Some(Err(e))
            }
        };
        let Some(p) = self.pending.get_mut(&msg) else {
            return;
        };
        if let Some(last) = last {
            p.last = Some(last);
        }
        if let Some(mut envelope) = envelope.map(|e| *e) {
            if reported {
                // The report may leave some recipients for the next attempt.
                core.retry_envelope(msg, &mut envelope);
            }
            p.envelope = Some(envelope);
        }
    }

    /// `msg` was handed to `conn` but never written: its session ended first with
    /// `error`, or its connection is gone (`None`: the previous result stands).
    /// `envelope` is the one it was handed with, back for the next attempt.
    pub fn unsent(
        &mut self,
        core: &mut pool::Pool,
        now: Instant,
        conn: ConnId,
        msg: MessageId,
        error: Option<&Error>,
        envelope: Option<Envelope>,
    ) {
        if let Some(p) = self.pending.get_mut(&msg) {
            if let Some(e) = error {
                p.last = Some(Err(e.duplicate()));
            }
            if envelope.is_some() {
                p.envelope = envelope;
            }
        }
        let random = self.random();
        core.handle_report(now, conn, msg, true, random);
    }

    /// `msg` is over ([`Action::Done`]): its caller, and the result to hand it (the
    /// core's `merged` report of its attempts, if any, wins over the last one).
    fn done(
        &mut self,
        msg: MessageId,
        end: End,
        attempts: u32,
        merged: Option<Report>,
    ) -> Option<(R, Result<PoolReport, Error>)> {
        let p = self.pending.remove(&msg)?;
        let result = match (end, merged.map(Ok).or(p.last)) {
            (End::Report, Some(Ok(report))) => Ok(PoolReport { report, attempts }),
            (End::Report, Some(Err(e))) => Err(e),
            (End::OpenFailed, _) => Err(match &self.last_open_error {
                Some(e) => e.duplicate(),
                None => Error::PoolClosed,
            }),
            (End::TimedOut, _) => Err(Error::PoolTimeout),
            // Not reached: a connection reports every message it took before the pool
            // forgets it.
            (End::Report | End::Lost, _) => Err(Error::Cancelled),
        };
        Some((p.reply, result))
    }
}

#[cfg(test)]
mod tests {
    use smtp_proto::command::{ForwardPath, ReversePath};
    use smtp_proto::pool::{ConnId, Pool, PoolConfig};
    use smtp_proto::{Envelope, Instant};

    use super::{Messages, Order};
    use crate::Error;

    fn envelope() -> Envelope {
        Envelope::new(
            ReversePath::new("a@example.org").unwrap(),
            [ForwardPath::new("b@example.net").unwrap()],
        )
    }

    /// The orders of one pump (what, to which connection), and whether it said to look
    /// again.
    fn pump(msgs: &mut Messages<()>, core: &mut Pool) -> (Vec<(&'static str, ConnId)>, bool) {
        let mut orders = Vec::new();
        let changed = msgs.pump(
            core,
            Instant::ZERO,
            |o| {
                orders.push(match o {
                    Order::Open(c) => ("open", c),
                    Order::Send { conn, .. } => ("send", conn),
                    Order::Check(c) => ("check", c),
                    Order::Close(c) => ("close", c),
                    Order::Trim(c) => ("trim", c),
                });
                Ok(())
            },
            |(), _| {},
        );
        (orders, changed)
    }

    /// A message handed to a connection that is gone gets its envelope back from the
    /// refused order, and its next attempt carries it whole: the pool kept no copy.
    #[test]
    fn a_message_refused_by_a_connection_gone_is_sent_again_with_its_envelope() {
        let mut core = Pool::new(PoolConfig::default());
        let mut msgs = Messages::default();
        let now = Instant::ZERO;
        let envelope = envelope();
        let m = core.submit(now).unwrap();
        msgs.insert(m, envelope.clone(), b"x".as_slice().into(), ());
        let (orders, _) = pump(&mut msgs, &mut core);
        let [("open", conn)] = orders[..] else {
            panic!("{orders:?}");
        };
        msgs.opened(&mut core, now, conn, &Default::default());
        // The connection's task is gone: the order is refused, with the envelope.
        let mut sent = Vec::new();
        // Pumps; returns the connection it opens, if any.
        let mut send = |msgs: &mut Messages<()>, core: &mut Pool, now, gone: bool| {
            let mut opened = None;
            msgs.pump(
                core,
                now,
                |o| match o {
                    Order::Send { envelope, .. } if gone => {
                        Err((Error::PoolClosed, Some(Box::new(envelope))))
                    }
                    Order::Send { envelope, .. } => {
                        sent.push(envelope);
                        Ok(())
                    }
                    Order::Open(c) => {
                        opened = Some(c);
                        Ok(())
                    }
                    _ => Ok(()),
                },
                |(), _| {},
            );
            opened
        };
        send(&mut msgs, &mut core, now, true);
        // That connection retires; the retry, after the backoff, opens another.
        let later = core.poll_timeout().expect("a retry after the backoff");
        let another = send(&mut msgs, &mut core, later, false).expect("another opens");
        msgs.opened(&mut core, later, another, &Default::default());
        send(&mut msgs, &mut core, later, false);
        assert_eq!(sent, [envelope], "sent again, whole");
    }

    /// `close` waits until a pump says to look again: one comes when the pool's last
    /// connection, opening when the pool closed, fails to open, though that pump has
    /// nothing to do. (Without it, a closing pool whose extra connection got a 421
    /// greeting left `close` waiting for ever.)
    #[test]
    fn a_pool_closed_by_a_failed_open_says_to_look_again() {
        // `fill: 0`, `spread_after` zero: a busy connection makes another open
        // (smtp_proto::pool's rule).
        let mut core = Pool::new({
            let mut pool_config = PoolConfig::default();
            pool_config.fill = 0;
            pool_config.spread_after = std::time::Duration::ZERO;
            pool_config
        });
        let mut msgs = Messages::default();
        let now = Instant::ZERO;
        let envelope = envelope();
        let m = core.submit(now).unwrap();
        msgs.insert(m, envelope, b"x".as_slice().into(), ());
        let (orders, _) = pump(&mut msgs, &mut core);
        let [("open", first)] = orders[..] else {
            panic!("{orders:?}");
        };
        msgs.opened(&mut core, now, first, &Default::default());
        // The message goes to the first connection; it being busy, a second opens.
        let (orders, _) = pump(&mut msgs, &mut core);
        let [("send", c), ("open", second)] = orders[..] else {
            panic!("{orders:?}");
        };
        assert_eq!(c, first);
        // Its caller gives up; its connection refuses it unwritten: it is gone.
        assert_eq!(msgs.cancel(&mut core, m), Some(first), "withdraw it there");
        msgs.unsent(&mut core, now, first, m, Some(&Error::PoolClosed), None);
        core.close();
        let (orders, _) = pump(&mut msgs, &mut core);
        assert_eq!(orders, [("close", first)]);
        assert!(!core.is_closed(), "the second connection is still opening");
        msgs.open_failed(&mut core, now, second, Error::PoolClosed);
        let (orders, look_again) = pump(&mut msgs, &mut core);
        assert!(orders.is_empty(), "{orders:?}");
        assert!(core.is_closed());
        assert!(look_again, "close would wait for ever");
    }
}
