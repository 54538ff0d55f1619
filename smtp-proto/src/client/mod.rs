//! The client state machine: its public surface and the run-loop contract.
//!
//! # The run loop
//!
//! Every driver runs the same loop (see the crate documentation for a full example):
//!
//! 1. **Mutate once**: feed what happened — bytes read ([`Client::handle_input`]), end of
//!    stream ([`Client::handle_eof`]), a passed deadline ([`Client::handle_timeout`]), a
//!    finished TLS handshake ([`Client::handle_tls_established`]), or an application
//!    request ([`Client::send`], [`Client::send_body`], [`Client::quit`] ...).
//! 2. **Drain**: call [`Client::poll_output`] until it returns [`Output::Wait`] or
//!    [`Output::Closed`], acting on each output: hand events up, give one body chunk per
//!    [`Output::SendBody`], run the handshake on [`Output::StartTls`] (after writing out
//!    what is in the buffer).
//! 3. **Wait** for exactly one thing: the socket readable (after writing out the output
//!    buffer), the deadline, or the application. Go to 1.
//!
//! Inputs never fail: what they cause comes out of `poll_output`. Only caller misuse
//! returns an error, and leaves the state unchanged.

pub(crate) mod auth;
#[cfg(feature = "cram-md5")]
mod cram_md5;
mod issue;
mod pending;
mod state;
mod timers;
mod transaction;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::command::{Mechanism, VrfyArg};
use crate::config::{Config, TlsMode};
use crate::ehlo::{Capabilities, Hello};
use crate::envelope::Envelope;
use crate::error::{Error, UsageError};
use crate::output::{Event, Output, TlsUpgrade, TxnId};
use crate::reply::{ReplyError, ReplyReader, WholeLine};
use crate::time::Instant;

pub use auth::{Sasl, SaslError, SaslFactory};
use pending::{Expect, Pending};
use timers::{Timer, Timers};
use transaction::{Step, Txn};

/// Entries the queue of owed replies keeps while idle: a message of n recipients needs
/// n + 3 (MAIL, each RCPT, DATA, the end of data), so a session sending a message of up
/// to three recipients at a time does not allocate it per message. (An idle session
/// keeps its heap within 1 KiB: `tests/idle_memory.rs`.)
const IDLE_PENDING: usize = 6;

/// Events the event queue keeps while idle: a flight of replies brings one per
/// recipient before the driver takes them, so a message of up to three recipients does
/// not allocate it.
const IDLE_EVENTS: usize = 3;

/// Where the session is, with what only that phase has: no other combination can be
/// represented. Every change of phase is a named transition in `state.rs`.
#[derive(Debug)]
enum Phase {
    /// The TLS handshake: first thing under implicit TLS (RFC 8314 §3.3), or after
    /// STARTTLS got 220 (RFC 3207 §4.2). `asked`: `Output::StartTls` was handed out and
    /// its timer runs. The core takes no input until the handshake completes, and the
    /// connection is not encrypted before it does.
    Handshake { asked: bool, then: AfterHandshake },
    /// Waiting for the 220 greeting; `encrypted` under implicit TLS (RFC 8314 §3.3).
    Greeting { encrypted: bool },
    /// EHLO, STARTTLS, AUTH: one command at a time.
    Setup(Setup),
    /// Transactions and application commands flow. `rset_owed`: a transaction failed
    /// since the last RSET (RFC 5321 §4.1.4; ours: always RSET before the next MAIL).
    Ready { link: Link, rset_owed: bool },
    /// QUIT is out: nothing more is sent, so no RSET is owed either.
    Quitting(Link),
    /// The session ended (orderly with `None`): `Closed` is reported after the events
    /// already queued. `link` is what it had reached, for the accessors.
    Closing { err: Option<Error>, link: Link },
    /// Over; `poll_output` returns `Closed(None)`.
    Closed(Link),
}

/// What the connection has come to: kept from the phase that reached it to the end, so
/// that [`Client::is_encrypted`] and [`Client::auth_mechanism`] still answer after the
/// session closed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Link {
    /// Over TLS: implicit (RFC 8314 §3.3) or after STARTTLS (RFC 3207 §4.2).
    encrypted: bool,
    /// The mechanism AUTH succeeded with (RFC 4954 §4): only ever set as setup ends.
    auth: Option<Mechanism>,
}

/// Session setup (RFC 5321 §4.1.1.1, RFC 3207, RFC 4954): `next` goes out on the next
/// poll; `auth` is the AUTH exchange under way, its secrets dropped with the phase.
#[derive(Debug)]
struct Setup {
    next: Option<SetupCmd>,
    auth: Option<AuthExchange>,
    tls: SetupTls,
}

/// Where setup stands with TLS. STARTTLS goes out at most once (RFC 3207 §4.2): after
/// its 220 the session is `Encrypted`, after a refusal it stays `StartTlsSent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetupTls {
    /// Plaintext, STARTTLS not sent.
    Plain,
    /// Plaintext, STARTTLS sent (and refused, once its reply is in).
    StartTlsSent,
    /// Over TLS (implicit, or after STARTTLS).
    Encrypted,
}

impl Setup {
    /// Setup from its start, with the EHLO (or LHLO) to send first.
    fn start(encrypted: bool) -> Self {
        Setup {
            next: Some(SetupCmd::Hello),
            auth: None,
            tls: if encrypted {
                SetupTls::Encrypted
            } else {
                SetupTls::Plain
            },
        }
    }
}

impl Phase {
    /// What the connection has come to so far.
    fn link(&self) -> Link {
        match self {
            Phase::Handshake { .. } => Link::default(),
            &Phase::Greeting { encrypted } => Link {
                encrypted,
                auth: None,
            },
            Phase::Setup(s) => Link {
                encrypted: s.tls == SetupTls::Encrypted,
                auth: None,
            },
            Phase::Ready { link, .. }
            | Phase::Quitting(link)
            | Phase::Closing { link, .. }
            | Phase::Closed(link) => *link,
        }
    }
}

/// One AUTH exchange (RFC 4954 §4).
struct AuthExchange {
    mechanism: Mechanism,
    sasl: Box<dyn Sasl>,
    /// An initial response too long for the AUTH line: it answers the server's empty
    /// challenge (RFC 4954 §4), once.
    deferred: Option<crate::secret::Secret>,
    /// Challenges received. Wider than the `u8` cap, so that the cap is passed (and
    /// holds) at 255 too: at most 256 are counted before `*`.
    rounds: u16,
    /// `*` went out: the next reply ends the exchange.
    cancelled: bool,
}

impl core::fmt::Debug for AuthExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthExchange")
            .field("mechanism", &self.mechanism)
            .field("rounds", &self.rounds)
            .field("cancelled", &self.cancelled)
            .finish_non_exhaustive()
    }
}

/// Where a session resumes once its TLS handshake completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterHandshake {
    /// Implicit TLS: the greeting comes over TLS (RFC 8314 §3.3).
    Greeting,
    /// STARTTLS: everything learnt before is forgotten and EHLO goes out again
    /// (RFC 3207 §4.2).
    Ehlo,
}

/// The next session-setup command, written on the next poll.
#[derive(Debug)]
enum SetupCmd {
    /// EHLO, or LHLO in LMTP mode.
    Hello,
    Helo,
    StartTls,
    Auth,
    AuthResponse(crate::secret::Secret),
    AuthCancel,
}

/// An application request waiting its turn.
#[derive(Debug)]
enum Work {
    Txn(Box<Txn>),
    Noop,
    Rset,
    Vrfy(VrfyArg),
    Quit,
}

/// A sans-IO SMTP or LMTP client session.
///
/// Create one per connection with [`Client::new`] and drive it with the loop in the
/// [module documentation](self).
pub struct Client {
    config: Config,
    /// The last `now` handed in: timers started while polling start from it.
    now: Instant,
    phase: Phase,
    reader: ReplyReader,
    caps: Capabilities,
    /// The domain the 220 greeting announced (empty before it).
    greeting_name: String,
    pending: Pending,
    /// Every deadline of the session, one per timer.
    timers: Timers,
    work: VecDeque<Work>,
    /// Transactions with commands on the wire, oldest first.
    active: VecDeque<Box<Txn>>,
    events: VecDeque<Event>,
    next_txn: u64,
    /// A session's stream is open ([`Session::stream`](crate::session::Session::stream)):
    /// a transaction that is over gives its envelope back ([`returned`](Self::returned))
    /// rather than drop it, so that a pool can send a message again without keeping a
    /// copy of its envelope (only one that may be sent again: one that failed, or ended
    /// with some recipient not accepted; not one whose every recipient was accepted,
    /// where moving it back would cost what the copy did); and the queues keep their room
    /// while idle, as a pool's connection between bursts of messages does (its pool says
    /// when to give the room back, ending the stream:
    /// [`give_back_room`](Self::give_back_room)).
    pub(crate) streaming: bool,
    /// The envelopes of transactions that are over, in the order they ended, while
    /// `streaming`; the session takes them.
    pub(crate) returned: VecDeque<(TxnId, Envelope)>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("phase", &self.phase)
            .field("encrypted", &self.is_encrypted())
            .field("authenticated", &self.auth_mechanism())
            .field("pending", &self.pending)
            .field("queued", &self.work.len())
            .field("active", &self.active.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A new session on a connection that was just opened at `now`. The greeting timer
    /// starts now; under implicit TLS (RFC 8314 §3.3) the first output is
    /// [`Output::StartTls`] instead, and the greeting timer starts when the handshake
    /// completes.
    ///
    /// With a configuration [`Config::validate`] refuses, the session is over before it
    /// starts: the first poll returns `Closed(Some(Error::InvalidConfig(..)))` and nothing
    /// is ever written.
    pub fn new(config: Config, now: Instant) -> Self {
        let reader = ReplyReader::new(config.reply_limits);
        let invalid = config.validate().err().map(Error::InvalidConfig);
        let mut timers = Timers::default();
        let phase = if let Some(e) = invalid {
            Phase::Closing {
                err: Some(e),
                link: Link::default(),
            }
        } else if config.tls == TlsMode::Implicit {
            Phase::Handshake {
                asked: false,
                then: AfterHandshake::Greeting,
            }
        } else {
            timers.set(Timer::Greeting, Some(now + config.timeouts.greeting));
            Phase::Greeting { encrypted: false }
        };
        Client {
            timers,
            config,
            now,
            phase,
            reader,
            caps: Capabilities::default(),
            greeting_name: String::new(),
            pending: Pending::default(),
            work: VecDeque::new(),
            active: VecDeque::new(),
            events: VecDeque::new(),
            next_txn: 0,
            streaming: false,
            returned: VecDeque::new(),
        }
    }

    /// The configuration the session runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What the last EHLO/LHLO reply offered (empty before it, and after STARTTLS until
    /// the new EHLO reply).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The name the server announced itself with (RFC 8460 §4.3 `receiving-mx-helo`):
    /// its EHLO reply's domain, or its greeting's until an EHLO reply came (a session
    /// HELO opened, EHLO refused, and after STARTTLS until the new reply). Still there
    /// when the session failed, e.g. STARTTLS not offered or its handshake failing.
    /// `None` before a 220 greeting. Lossy UTF-8, as the server sent it: not checked to
    /// be a domain name.
    pub fn server_name(&self) -> Option<&str> {
        [self.caps.domain(), self.greeting_name.as_str()]
            .into_iter()
            .find(|name| !name.is_empty())
    }

    /// Whether the session runs over TLS (implicit, or after STARTTLS).
    pub fn is_encrypted(&self) -> bool {
        self.phase.link().encrypted
    }

    /// The SASL mechanism AUTH succeeded with.
    pub fn auth_mechanism(&self) -> Option<&Mechanism> {
        match &self.phase {
            Phase::Ready { link, .. }
            | Phase::Quitting(link)
            | Phase::Closing { link, .. }
            | Phase::Closed(link) => link.auth.as_ref(),
            Phase::Handshake { .. } | Phase::Greeting { .. } | Phase::Setup(_) => None,
        }
    }

    /// Whether the session is over (or ending: the `Closed` output is still to come).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closing { .. } | Phase::Closed(_))
    }

    /// Whether the session is set up and idle: nothing queued, nothing owed.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Ready { .. })
            && self.pending.is_empty()
            && self.work.is_empty()
            && self.active.is_empty()
    }

    /// Whether an AUTH exchange is under way (RFC 4954 §4): from the choice of a
    /// mechanism, before AUTH is written, until its final reply. What the client writes
    /// meanwhile is secret; a log that starts mid-exchange learns it here, not from the
    /// AUTH line it never saw.
    pub(crate) fn in_auth(&self) -> bool {
        matches!(&self.phase, Phase::Setup(Setup { auth: Some(_), .. }))
    }

    /// Whether the content [`send_body`](Self::send_body) takes now is framed as BDAT
    /// chunks, each behind its command (RFC 3030 §2), rather than after DATA.
    pub(crate) fn body_in_bdat(&self) -> bool {
        self.active.back().is_some_and(|t| t.bdat)
    }

    /// When the driver must call [`Client::handle_timeout`]: the earliest armed timer
    /// (the greeting, the TLS handshake, the reply being awaited, or the content being
    /// written).
    pub fn deadline(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        self.timers.next().map(|(_, at)| at)
    }

    // ----- inputs -----

    /// Bytes read from the server.
    pub fn handle_input(&mut self, now: Instant, mut input: &[u8]) {
        self.now = now;
        if self.is_closed() || input.is_empty() {
            return;
        }
        if matches!(self.phase, Phase::Handshake { .. }) {
            return self.on_injection();
        }
        while !input.is_empty() && !self.is_closed() {
            // Most replies to MAIL and DATA matter by their code alone: no copy of them.
            let whole = self.reader.peek(input);
            if let Some(line) = whole.filter(|l| self.on_unremarkable(l.code)) {
                self.reader.skip(&mut input, line);
                continue;
            }
            match self.read_next(&mut input, whole) {
                Ok(Some(Hello::Capabilities(caps))) => self.on_capabilities(caps),
                Ok(Some(Hello::Other(reply))) => {
                    self.on_reply(reply);
                    if matches!(self.phase, Phase::Handshake { .. })
                        && (!input.is_empty() || self.reader.has_partial())
                    {
                        return self.on_injection();
                    }
                }
                Ok(None) => {}
                Err(e) => return self.on_malformed(e),
            }
        }
    }

    /// The next reply from `input`. The one to EHLO or LHLO, when positive, is read
    /// straight into capabilities ([`ReplyReader::read_ehlo`]); any other is
    /// [`Hello::Other`]. `whole`: the reply at the front of `input` if
    /// [`ReplyReader::peek`] found it, so that it is not parsed again.
    fn read_next(
        &mut self,
        input: &mut &[u8],
        whole: Option<WholeLine<'_>>,
    ) -> Result<Option<Hello>, ReplyError> {
        if !matches!(self.phase, Phase::Greeting { .. })
            && self.pending.head() == Some(Expect::Ehlo)
        {
            self.reader.read_ehlo(input)
        } else if let Some(line) = whole {
            Ok(Some(Hello::Other(self.reader.take(input, line))))
        } else {
            Ok(self.reader.read(input)?.map(Hello::Other))
        }
    }

    /// The server closed its side of the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        if !self.is_closed() {
            self.on_eof();
        }
    }

    /// The driver's timer fired. Ignored unless a deadline really passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.is_closed() {
            return;
        }
        if let Some((timer, deadline)) = self.timers.next() {
            if now >= deadline {
                self.on_timeout(timer);
            }
        }
    }

    /// The TLS handshake asked for by [`Output::StartTls`] completed. Under implicit TLS
    /// the greeting is awaited next (RFC 8314 §3.3); after STARTTLS the core forgets
    /// every capability and sends EHLO again (RFC 3207 §4.2).
    pub fn handle_tls_established(&mut self, now: Instant, upgrade: TlsUpgrade) {
        let _ = upgrade;
        self.now = now;
        if !self.is_closed() {
            self.on_tls_established();
        }
    }

    // ----- application requests -----

    /// Queues a mail transaction. Its outcome arrives as events naming the returned id.
    pub fn send(&mut self, now: Instant, envelope: Envelope) -> Result<TxnId, UsageError> {
        self.try_send(now, envelope).map_err(|(e, _)| e)
    }

    /// [`send`](Self::send), giving the envelope back with the refusal.
    // The envelope comes back as it went in: boxing it would allocate.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_send(
        &mut self,
        now: Instant,
        envelope: Envelope,
    ) -> Result<TxnId, (UsageError, Envelope)> {
        if self.is_closed() || self.quit_asked() {
            return Err((UsageError::Closed, envelope));
        }
        if envelope.recipients.is_empty() {
            return Err((UsageError::NoRecipients, envelope));
        }
        self.now = now;
        let id = TxnId(self.next_txn);
        self.next_txn += 1;
        self.work
            .push_back(Work::Txn(Box::new(Txn::new(id, envelope))));
        Ok(id)
    }

    /// Withdraws a transaction none of whose commands was written yet: it leaves the
    /// session without a single event, as if never queued. A command counts as written
    /// once [`poll_output`](Self::poll_output) appended it to the output buffer (the
    /// driver may have sent any part of it since), so this succeeds only while the
    /// transaction waits its turn: queued behind others, or first in line with its MAIL
    /// held back by the window (RFC 2920 §3.1). An RSET written before that MAIL is not
    /// the transaction's: it ends the one before. Returns whether it was withdrawn;
    /// `false` (nothing changes) once its MAIL is out, once it is over, or for an id
    /// the session does not know.
    pub fn withdraw(&mut self, txn: TxnId) -> bool {
        if self.is_closed() {
            return false;
        }
        let queued = self
            .work
            .iter()
            .position(|w| matches!(w, Work::Txn(t) if t.id == txn));
        if let Some(i) = queued {
            self.work.remove(i);
            return true;
        }
        // Only the newest active transaction can still be at its first step.
        let unstarted = self
            .active
            .back()
            .is_some_and(|t| t.id == txn && t.step == Step::Mail && t.outstanding == 0);
        if unstarted {
            self.active.pop_back();
        }
        unstarted
    }

    /// Content for the transaction that asked with [`Output::SendBody`]: frames `chunk`
    /// (at most `max_chunk` octets) into `out`. `last` ends the content; an empty last
    /// chunk is fine. A content error (NUL outside BINARYMIME) fails the transaction;
    /// under DATA it also ends the session, since DATA cannot be aborted.
    pub fn send_body(
        &mut self,
        now: Instant,
        txn: TxnId,
        chunk: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let Some(t) = self.active.back_mut() else {
            return Err(UsageError::NotExpectingBody);
        };
        if t.id != txn || t.step != Step::Body {
            return Err(UsageError::NotExpectingBody);
        }
        if chunk.len()
            > self
                .config
                .body_chunk
                .max(self.config.bdat_inline_limit as usize)
        {
            return Err(UsageError::ChunkTooLarge);
        }
        self.now = now;
        self.write_body(txn, chunk, last, out);
        Ok(())
    }

    /// Queues a NOOP; its reply comes as [`Event::Reply`].
    pub fn noop(&mut self, now: Instant) -> Result<(), UsageError> {
        self.queue_work(now, Work::Noop)
    }

    /// Queues an RSET; its reply comes as [`Event::Reply`].
    pub fn rset(&mut self, now: Instant) -> Result<(), UsageError> {
        self.queue_work(now, Work::Rset)
    }

    /// Queues a VRFY; its reply comes as [`Event::Reply`]. An argument that needs
    /// SMTPUTF8, to a server that does not offer it, is not sent: that comes as
    /// [`Event::CommandRefused`] instead (RFC 6531 §3.7.4.2).
    pub fn vrfy(&mut self, now: Instant, arg: VrfyArg) -> Result<(), UsageError> {
        self.queue_work(now, Work::Vrfy(arg))
    }

    /// Ends the session after everything already queued: QUIT, then `Closed(None)` on
    /// the 221 (RFC 5321 §4.1.1.10). Asked before the session is set up, QUIT goes out
    /// once it is (after EHLO, and STARTTLS/AUTH if configured), behind queued requests.
    pub fn quit(&mut self, now: Instant) -> Result<(), UsageError> {
        self.queue_work(now, Work::Quit)
    }

    /// Whether QUIT was asked for: it is queued last (nothing may be queued after it),
    /// or on the wire.
    fn quit_asked(&self) -> bool {
        matches!(self.phase, Phase::Quitting(_)) || matches!(self.work.back(), Some(Work::Quit))
    }

    fn queue_work(&mut self, now: Instant, w: Work) -> Result<(), UsageError> {
        if self.is_closed() || self.quit_asked() {
            return Err(UsageError::Closed);
        }
        self.now = now;
        self.work.push_back(w);
        Ok(())
    }

    // ----- output -----

    /// The next thing to do. Commands are appended to `out`, which the driver writes out
    /// when this returns `Wait`, `StartTls` or `Closed` (or whenever it likes).
    pub fn poll_output(&mut self, out: &mut Vec<u8>) -> Output {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Output::Event(e);
            }
            match &mut self.phase {
                Phase::Closing { .. } => return self.closed(out),
                Phase::Closed(_) => return Output::Closed(None),
                Phase::Handshake { asked: false, .. } => return self.ask_handshake(),
                Phase::Setup(setup) => {
                    if let Some(cmd) = setup.next.take() {
                        self.write_setup(cmd, out);
                    }
                }
                Phase::Ready { .. } | Phase::Quitting(_) => {
                    if let Some(o) = self.issue(out) {
                        return o;
                    }
                }
                _ => {}
            }
            if self.events.is_empty() && !matches!(self.phase, Phase::Closing { .. }) {
                if self.is_idle() {
                    // No copy of the last replies while idle.
                    self.reader.forget_recent();
                    if !self.streaming {
                        self.give_back_room();
                    }
                }
                return Output::Wait {
                    deadline: self.deadline(),
                };
            }
        }
    }

    /// An idle session may sit in a pool for hours: give back the queues' buffers
    /// beyond what one small message needs, rather than keep their high-water mark
    /// (nor allocate them again for each message).
    pub(crate) fn give_back_room(&mut self) {
        self.events.shrink_to(IDLE_EVENTS);
        self.pending.shrink_to(IDLE_PENDING);
    }

    // ----- internals shared by state.rs and issue.rs -----

    /// Records that a reply is owed for `bytes` just written. With nothing owed before,
    /// it is the head: its reply timer starts now.
    fn expect(&mut self, expect: Expect, bytes: usize) {
        let was_head = self.pending.is_empty();
        self.pending.push(expect, bytes);
        if was_head {
            self.arm_reply_timer();
        }
        if let Some(t) = expect.txn().and_then(|id| self.txn_mut(id)) {
            t.outstanding += 1;
        }
    }

    /// The reply at the head of the queue is complete: its transaction owes one reply
    /// fewer, and the next reply's timer starts now. The one place `outstanding` falls.
    fn answered(&mut self) -> Option<Expect> {
        let head = self.pending.pop();
        if let Some(t) = head.and_then(Expect::txn).and_then(|id| self.txn_mut(id)) {
            t.outstanding -= 1;
        }
        self.arm_reply_timer();
        head
    }

    /// The command just answered owes another reply (LMTP: one per accepted recipient,
    /// RFC 2033 §4.2): it is the head again, its timer restarted.
    fn owed_again(&mut self, expect: Expect) {
        self.pending.push_front(expect);
        if let Some(t) = expect.txn().and_then(|id| self.txn_mut(id)) {
            t.outstanding += 1;
        }
        self.arm_reply_timer();
    }

    /// RFC 5321 §4.5.3.2: the head's reply is awaited under its own command's timer,
    /// from when it became the head (the whole reply, however it trickles in).
    fn arm_reply_timer(&mut self) {
        let timeouts = &self.config.timeouts;
        let deadline = self.pending.head().map(|e| self.now + e.timeout(timeouts));
        self.timers.set(Timer::Reply, deadline);
    }

    /// The transaction is over (its last event is queued): its envelope goes back
    /// while a session's stream is open ([`streaming`](Self::streaming)), else it
    /// is dropped.
    fn txn_over(&mut self, t: Box<Txn>) {
        if self.streaming {
            let Txn { id, env, .. } = *t;
            self.returned.push_back((id, env));
        }
    }

    fn txn_mut(&mut self, id: TxnId) -> Option<&mut Txn> {
        let idx = self.txn_index(id)?;
        self.active.get_mut(idx).map(|b| &mut **b)
    }

    /// Where transaction `id` is in `active`. Transactions enter `active` in the order
    /// of their ids and leave it from anywhere, so it stays sorted: a binary search, as a
    /// deep pipeline holds thousands. Nearly every lookup is for one end, though (a
    /// reply answers the oldest, a command written is the newest's): those first. And
    /// ids are given one after another and transactions mostly leave from the front,
    /// so a transaction is usually as far from the front as its id from the front's:
    /// that place next, then the search.
    fn txn_index(&self, id: TxnId) -> Option<usize> {
        let last = self.active.len().checked_sub(1)?;
        let front = self.active.front()?.id;
        if front == id {
            return Some(0);
        }
        if self.active.back().is_some_and(|t| t.id == id) {
            return Some(last);
        }
        let dense = usize::try_from(id.0.checked_sub(front.0)?).ok();
        if let Some(i) = dense.filter(|&i| self.active.get(i).is_some_and(|t| t.id == id)) {
            return Some(i);
        }
        self.active.binary_search_by_key(&id, |t| t.id).ok()
    }

    /// Whether another command may go out now (RFC 2920 §3.1).
    fn can_send(&self) -> bool {
        if self.pipelining() {
            !self.pending.has_terminator() && self.pending.unanswered() < self.config.window
        } else {
            self.pending.is_empty()
        }
    }

    fn pipelining(&self) -> bool {
        self.config.pipelining && self.caps.pipelining()
    }
}
