//! The session's rule book: every change of phase, every step of a transaction and
//! every way the session ends is a named transition here, whether a server reply, the
//! end of the stream, a timer (`timers.rs`), a finished handshake, a command just
//! written or a refusal found while encoding causes it. `issue.rs` decides what may go
//! on the wire next, encodes it and calls the transition named for what it wrote
//! (`mail_written`, `rcpt_written`, `content_ended` ...); `mod.rs` takes the inputs and
//! hands out the outputs.
//!
//! Phases (`Phase` carries what only it has, so no other combination can be
//! represented):
//! `Handshake` (implicit TLS, RFC 8314 §3.3) → `Greeting` → `Setup` (EHLO, STARTTLS,
//! AUTH) → [`Handshake` → `Setup`] (RFC 3207 §4.2) → `Ready` → `Quitting` →
//! `Closing` → `Closed`; any phase may go to `Closing`. What the connection came to
//! (TLS, the AUTH mechanism: `Link`) is carried from `Ready` to the end; whether an
//! RSET is owed only by `Ready`; whether STARTTLS went out only by `Setup`.
//!
//! Transaction steps (`Step`, one transaction's, RFC 5321 §3.3): `Mail` (RSET first if
//! owed) → `Rcpt(n)` … → `BeforeBody` → `AwaitData` (DATA out, RFC 5321 §4.1.1.4) or
//! straight to `Body` (BDAT, RFC 3030 §2) → `Body` → `Done`; after a 354 with nothing to
//! deliver `EndOnly` sends the end of data alone. A failed transaction goes to `Done`
//! (`settle`) and leaves once it owes no reply.
//!
//! Rules that hold throughout:
//! - a reply answers the oldest command still owed one (RFC 2920 §3.1); a reply with
//!   nothing owed is a protocol error; a transaction's count of owed replies falls in
//!   one place (`answered`, mod.rs);
//! - 421 at any point ends the session (RFC 5321 §3.8);
//! - server refusals of MAIL, RCPT, DATA and the end of data are transaction events, never
//!   session errors; session errors are for EHLO/TLS/AUTH and broken protocol;
//! - a transaction reports exactly one outcome (under LMTP, one per accepted recipient);
//! - "too many recipients" (RFC 5321 §4.5.3.1.10) is recorded and acted on in `on_rcpt`.

use alloc::vec::Vec;

use base64::Engine;

use super::pending::Expect;
use super::timers::Timer;
use super::transaction::{Framing, Step, Txn};
use super::{AfterHandshake, AuthExchange, Client, Link, Phase, Setup, SetupCmd, SetupTls, Work};
use crate::body::DataEncoder;
use crate::command::Command;
use crate::config::{TlsMode, TlsPolicy};
use crate::ehlo::Capabilities;
use crate::error::{AuthError, Error, ProtocolError, Stage, TlsRequiredError};
use crate::output::{Event, Output, TlsUpgrade, TxnFailure, TxnId};
use crate::reply::{Reply, ReplyCode};
use crate::report::too_many_recipients;

impl Client {
    // ----- the session's own transitions: inputs other than replies -----

    /// RFC 5321 §3.8 and §4.1.1.10: the server closed. After QUIT that is the end asked
    /// for; anywhere else the session fails, named for the reply it was waiting for.
    pub(super) fn on_eof(&mut self) {
        if matches!(self.phase, Phase::Quitting(_)) && self.pending.head() == Some(Expect::Quit) {
            // A server may close without its 221; QUIT was the last word either way.
            // (With replies still owed before QUIT's, the close is an error like any.)
            return self.close_with(None);
        }
        let stage = match self.phase {
            Phase::Greeting { .. } => Some(Stage::Greeting),
            Phase::Handshake { .. } => Some(Stage::TlsHandshake),
            _ => self
                .pending
                .head()
                .map(Expect::stage)
                .or(if self.reader.has_partial() {
                    Some(Stage::Noop)
                } else {
                    None
                }),
        };
        self.fail(Error::ConnectionClosed { stage });
    }

    /// RFC 5321 §4.5.3.2: a timer ran out; the session fails, named for what it waited
    /// for.
    pub(super) fn on_timeout(&mut self, timer: Timer) {
        let stage = match timer {
            Timer::Greeting => Stage::Greeting,
            Timer::TlsHandshake => Stage::TlsHandshake,
            // Content written while replies are owed (BDAT pipelined behind RCPTs) is
            // blamed on the oldest owed reply, as a reply timer would be.
            Timer::Reply | Timer::Body => self
                .pending
                .head()
                .map(Expect::stage)
                .unwrap_or(Stage::DataBlock),
        };
        self.fail(Error::Timeout { stage });
    }

    /// The handshake is done: implicit TLS goes on to the greeting (RFC 8314 §3.3),
    /// STARTTLS forgets what it learnt in plaintext and says EHLO again (RFC 3207 §4.2).
    /// A handshake nobody asked for changes nothing.
    pub(super) fn on_tls_established(&mut self) {
        let Phase::Handshake { asked: true, then } = self.phase else {
            return;
        };
        self.timers.set(Timer::TlsHandshake, None);
        match then {
            AfterHandshake::Greeting => {
                self.phase = Phase::Greeting { encrypted: true };
                let deadline = self.now + self.config.timeouts.greeting;
                self.timers.set(Timer::Greeting, Some(deadline));
            }
            AfterHandshake::Ehlo => {
                self.caps = Capabilities::default();
                self.phase = Phase::Setup(Setup::start(true));
                self.events.push_back(Event::TlsEstablished);
            }
        }
    }

    /// Bytes arrived while the core waits for a TLS handshake: behind STARTTLS's 220 they
    /// would be read as if they came over TLS (RFC 3207 §4.2; CVE-2021-38371,
    /// CVE-2020-14954 and kin), and before an implicit TLS handshake they are not TLS at
    /// all (RFC 8314 §3.3).
    pub(super) fn on_injection(&mut self) {
        self.fail(Error::ResponseInjection);
    }

    /// A reply broke the grammar of RFC 5321 §4.2 (or a configured limit): the stream
    /// is out of step for good.
    pub(super) fn on_malformed(&mut self, e: crate::reply::ReplyError) {
        self.fail(Error::Protocol(ProtocolError::Reply(e)));
    }

    /// Content that cannot be framed (a NUL outside BINARYMIME) under DATA: what was
    /// sent cannot be taken back (RFC 5321 §4.1.1.4 has no abort), so the session closes
    /// without the end marker and the message is not delivered.
    pub(super) fn data_aborted(&mut self, e: crate::body::BodyError) {
        if let Some(t) = self.active.back_mut() {
            t.fail(TxnFailure::Refused(crate::error::TxnError::Body(e.clone())));
        }
        self.fail(Error::DataAborted(e));
    }

    /// The same under BDAT: no more chunks go out, BDAT LAST included (RFC 3030 §2), and
    /// an RSET comes before the next MAIL.
    pub(super) fn chunk_refused(&mut self, id: TxnId, e: crate::body::BodyError) {
        if let Some(t) = self.txn_mut(id) {
            t.fail(TxnFailure::Refused(crate::error::TxnError::Body(e)));
        }
        self.settle(id);
    }

    /// The end is reported: `Closing` becomes `Closed`. After an error that leaves the
    /// server in step (see `ends_politely`), QUIT goes out without waiting for its 221
    /// (RFC 5321 §4.1.1.10).
    pub(super) fn closed(&mut self, out: &mut Vec<u8>) -> Output {
        let link = self.phase.link();
        let err = match core::mem::replace(&mut self.phase, Phase::Closed(link)) {
            Phase::Closing { err, .. } => err,
            _ => None,
        };
        if err.as_ref().is_some_and(ends_politely) {
            Command::Quit.encode(out);
        }
        Output::Closed(err)
    }

    /// `Output::StartTls` is handed out: the handshake's timer starts (RFC 3207 §4,
    /// RFC 8314 §3.3). Nothing is read until it completes.
    pub(super) fn ask_handshake(&mut self) -> Output {
        if let Phase::Handshake { asked, .. } = &mut self.phase {
            *asked = true;
        }
        let deadline = self.now + self.config.timeouts.tls_handshake;
        self.timers.set(Timer::TlsHandshake, Some(deadline));
        Output::StartTls(TlsUpgrade { deadline })
    }

    /// QUIT is on the wire (RFC 5321 §4.1.1.10): nothing more is sent; its reply, or the
    /// server's close, ends the session.
    pub(super) fn quit_sent(&mut self) {
        self.phase = Phase::Quitting(self.phase.link());
    }

    /// Ends the session with `err` (or orderly with `None`): every transaction still
    /// open gets its outcome first.
    ///
    /// Unknown (RFC 5321 §4.5.3.2.6) only where the message may have been delivered:
    /// its end of data (or BDAT LAST) went out and no failure is known. A transaction
    /// already failed (MAIL refused, no recipient accepted, a chunk refused) keeps that
    /// failure, even with its end marker or BDAT LAST on the wire: no server delivers
    /// it.
    pub(super) fn close_with(&mut self, err: Option<Error>) {
        if self.is_closed() {
            return;
        }
        while let Some(t) = self.active.pop_front() {
            if t.ended && t.failure.is_none() {
                let owed = t.finals_expected(self.config.lmtp).saturating_sub(t.finals);
                if self.config.lmtp && !t.accepted.is_empty() {
                    for &r in t.accepted.iter().skip(t.finals).take(owed) {
                        self.events.push_back(Event::OutcomeUnknown {
                            txn: t.id,
                            rcpt: Some(r),
                        });
                    }
                } else {
                    self.events.push_back(Event::OutcomeUnknown {
                        txn: t.id,
                        rcpt: None,
                    });
                }
            } else {
                self.not_delivered(&t);
            }
            self.txn_over(t);
        }
        while let Some(w) = self.work.pop_front() {
            if let Work::Txn(t) = w {
                self.events.push_back(Event::TransactionFailed {
                    txn: t.id,
                    rcpt: None,
                    failure: TxnFailure::SessionClosed,
                });
                self.txn_over(t);
            }
        }
        self.pending.clear();
        self.timers.clear();
        // The setup phase goes, and any AUTH exchange with its secrets; what the
        // connection came to stays for the accessors.
        let link = self.phase.link();
        self.phase = Phase::Closing { err, link };
    }

    /// Reports a transaction the server certainly did not deliver as the session ends:
    /// its recorded failure, or else [`TxnFailure::SessionClosed`] (transient).
    pub(super) fn not_delivered(&mut self, t: &Txn) {
        let failure = t.failure.clone().unwrap_or(TxnFailure::SessionClosed);
        self.events.push_back(Event::TransactionFailed {
            txn: t.id,
            rcpt: None,
            failure,
        });
    }

    /// The session fails with `err`: [`close_with`](Self::close_with) an error.
    pub(super) fn fail(&mut self, err: Error) {
        self.close_with(Some(err));
    }

    // ----- replies -----

    /// A complete reply: it answers the oldest command owed one (RFC 2920 §3.1, RFC 5321
    /// §4.2); 421 is the server closing whatever it answers (RFC 5321 §3.8).
    pub(super) fn on_reply(&mut self, reply: Reply) {
        if reply.code().get() == 421 {
            return self.on_421(reply);
        }
        if let Phase::Greeting { encrypted } = self.phase {
            return self.on_greeting(encrypted, reply);
        }
        let Some(expect) = self.answered() else {
            return self.fail(Error::Protocol(ProtocolError::UnexpectedReply(reply)));
        };
        match expect {
            Expect::Ehlo => self.on_ehlo(reply),
            Expect::Helo => self.on_helo(reply),
            Expect::StartTls => self.on_starttls(reply),
            Expect::Auth => self.on_auth(reply),
            Expect::Mail(id) => self.on_mail(id, reply),
            Expect::Rcpt(id, i) => self.on_rcpt(id, i, reply),
            Expect::Data(id) => self.on_data(id, reply),
            Expect::DataEnd(id)
            | Expect::Bdat {
                txn: id,
                last: true,
            } => self.on_final(expect, id, reply),
            Expect::Bdat { txn, last: false } => self.on_bdat_chunk(txn, reply),
            Expect::Rset { user } => {
                if user {
                    self.events.push_back(Event::Reply {
                        stage: Stage::Rset,
                        reply,
                    });
                } else if !reply.is_positive() {
                    self.fail(Error::Rejected {
                        stage: Stage::Rset,
                        reply,
                    });
                }
            }
            Expect::Noop => self.events.push_back(Event::Reply {
                stage: Stage::Noop,
                reply,
            }),
            Expect::Vrfy => self.events.push_back(Event::Reply {
                stage: Stage::Vrfy,
                reply,
            }),
            // RFC 5321 §4.1.1.10: 221 expected, but the session is over whatever comes.
            Expect::Quit => self.close_with(None),
        }
    }

    /// RFC 5321 §3.8: the server is shutting down. If it answers an end of data, that
    /// message was refused, not lost: under LMTP, for every accepted recipient whose
    /// final reply is still owed (RFC 2033 §4.2). This holds while QUIT is pipelined
    /// behind the content too; the session then ends as asked, without an error.
    ///
    /// The 421 answers the oldest command owed a reply, and the server closes: it acted
    /// on nothing written after that command. So every other open transaction, even one
    /// whose end of data or BDAT LAST was pipelined behind (RFC 2920, RFC 3030), was not
    /// delivered: it fails (transient, safe to send again), it is not unknown.
    fn on_421(&mut self, reply: Reply) {
        if let Some(
            Expect::DataEnd(id)
            | Expect::Bdat {
                txn: id,
                last: true,
            },
        ) = self.pending.head()
        {
            if let Some(idx) = self.txn_index(id) {
                let mut t = self.active.remove(idx).expect("index from position");
                let failure = TxnFailure::Rejected {
                    stage: Stage::DataEnd,
                    reply: reply.clone(),
                };
                let per_rcpt = self.config.lmtp && t.failure.is_none() && !t.accepted.is_empty();
                if per_rcpt {
                    for &rcpt in t.accepted.iter().skip(t.finals) {
                        self.events.push_back(Event::TransactionFailed {
                            txn: id,
                            rcpt: Some(rcpt),
                            failure: failure.clone(),
                        });
                    }
                } else {
                    t.fail(failure);
                    let failure = t.failure.take().unwrap_or(TxnFailure::SessionClosed);
                    self.events.push_back(Event::TransactionFailed {
                        txn: id,
                        rcpt: None,
                        failure,
                    });
                }
                self.txn_over(t);
            }
        }
        while let Some(t) = self.active.pop_front() {
            self.not_delivered(&t);
            self.txn_over(t);
        }
        if matches!(self.phase, Phase::Quitting(_)) {
            return self.close_with(None);
        }
        self.fail(Error::ServiceUnavailable(reply));
    }

    /// RFC 5321 §4.3.1: 220 opens the session, 554 refuses it.
    fn on_greeting(&mut self, encrypted: bool, reply: Reply) {
        if reply.code().get() == 220 {
            self.greeting_name = crate::ehlo::announced_domain(reply.first_line());
            self.events.push_back(Event::Greeting(reply));
            self.timers.set(Timer::Greeting, None);
            self.phase = Phase::Setup(Setup::start(encrypted));
        } else if reply.is_transient() || reply.is_permanent() {
            self.fail(Error::ServiceUnavailable(reply));
        } else {
            self.unexpected(Stage::Greeting, reply);
        }
    }

    /// A reply code the command cannot have (RFC 5321 §4.3.2 lists each command's): the
    /// server is out of step, and the session fails.
    fn unexpected(&mut self, stage: Stage, reply: Reply) {
        self.fail(Error::Protocol(ProtocolError::UnexpectedCode {
            stage,
            reply,
        }));
    }

    /// RFC 5321 §4.1.1.1 and §4.1.4: HELO only when EHLO is not understood (500/502),
    /// never in LMTP (RFC 2033 §4.1) and never when TLS is required (HELO cannot STARTTLS).
    fn on_ehlo(&mut self, reply: Reply) {
        if reply.is_positive() {
            return self.with_capabilities(Capabilities::from(reply));
        }
        let code = reply.code().get();
        if (code == 500 || code == 502) && !self.config.lmtp {
            if !self.is_encrypted() && self.config.tls == TlsMode::StartTls(TlsPolicy::Required) {
                return self.fail(Error::TlsRequired(TlsRequiredError::EhloRefused(reply)));
            }
            self.setup_next(SetupCmd::Helo);
            return;
        }
        if reply.is_intermediate() {
            return self.unexpected(Stage::Ehlo, reply);
        }
        self.fail(Error::Rejected {
            stage: Stage::Ehlo,
            reply,
        });
    }

    /// The positive reply to EHLO or LHLO, read by the reader straight into
    /// capabilities: `read_next` only reads one when EHLO's reply is the next owed.
    pub(super) fn on_capabilities(&mut self, caps: Capabilities) {
        let _ehlo = self.answered();
        debug_assert_eq!(_ehlo, Some(Expect::Ehlo));
        self.with_capabilities(caps);
    }

    /// RFC 5321 §4.1.1.1: what EHLO's reply offers replaces all that was known (after
    /// STARTTLS too, RFC 3207 §4.2).
    fn with_capabilities(&mut self, caps: Capabilities) {
        self.caps = caps;
        self.events.push_back(Event::Capabilities);
        self.after_hello();
    }

    /// RFC 5321 §4.1.1.1: HELO's 250 opens a session without extensions.
    fn on_helo(&mut self, reply: Reply) {
        if reply.is_positive() {
            // A HELO session has no extensions.
            self.caps = Capabilities::default();
            self.events.push_back(Event::Capabilities);
            return self.after_hello();
        }
        if reply.is_intermediate() {
            return self.unexpected(Stage::Helo, reply);
        }
        self.fail(Error::Rejected {
            stage: Stage::Helo,
            reply,
        });
    }

    /// After a hello: STARTTLS if the policy wants it and the session is still in
    /// plaintext with STARTTLS not yet sent (RFC 3207 §4: only a server that offers it;
    /// §4.2: never twice), then AUTH, then ready. `Required` without the offer fails
    /// rather than go on in plaintext (ours: the configured policy).
    fn after_hello(&mut self) {
        let Phase::Setup(setup) = &mut self.phase else {
            return;
        };
        if setup.tls == SetupTls::Plain {
            if let TlsMode::StartTls(policy) = self.config.tls {
                match policy {
                    TlsPolicy::Required | TlsPolicy::Opportunistic if self.caps.starttls() => {
                        // Recorded as it is chosen: whatever its reply, not again.
                        setup.tls = SetupTls::StartTlsSent;
                        setup.next = Some(SetupCmd::StartTls);
                        return;
                    }
                    TlsPolicy::Required => {
                        return self.fail(Error::TlsRequired(TlsRequiredError::NotOffered));
                    }
                    _ => {}
                }
            }
        }
        self.begin_auth();
    }

    /// RFC 3207 §4: 220 starts the handshake; 454 (or any refusal) leaves the session in
    /// plaintext, which only a policy short of `Required` accepts.
    fn on_starttls(&mut self, reply: Reply) {
        if reply.code().get() == 220 {
            // handle_input checks that nothing follows this reply.
            self.phase = Phase::Handshake {
                asked: false,
                then: AfterHandshake::Ehlo,
            };
            return;
        }
        if reply.is_positive() || reply.is_intermediate() {
            return self.unexpected(Stage::StartTls, reply);
        }
        match self.config.tls {
            TlsMode::StartTls(TlsPolicy::Required) => {
                self.fail(Error::TlsRequired(TlsRequiredError::Refused(reply)))
            }
            // RFC 3207 §4: the client may go on without TLS; credentials stay withheld.
            _ => self.begin_auth(),
        }
    }

    /// The setup command to write on the next poll (only while setting up).
    fn setup_next(&mut self, cmd: SetupCmd) {
        if let Phase::Setup(setup) = &mut self.phase {
            setup.next = Some(cmd);
        }
    }

    /// AUTH is on the wire (RFC 4954 §4). The server's challenges may be as long as our
    /// lines (12288 octets), so the reader takes lines that long until setup ends; an
    /// initial response too long for the AUTH line (`deferred`) answers the server's
    /// empty challenge instead.
    pub(super) fn auth_written(&mut self, deferred: Option<crate::secret::Secret>) {
        if let Phase::Setup(Setup { auth: Some(x), .. }) = &mut self.phase {
            x.deferred = deferred;
        }
        self.reader.set_max_line(super::issue::AUTH_LINE_MAX);
    }

    /// RFC 4954 §4 and §9: credentials only over TLS unless explicitly allowed.
    fn begin_auth(&mut self) {
        let Some(credentials) = self.config.credentials.as_ref() else {
            return self.ready(None);
        };
        if !self.is_encrypted() && !self.config.allow_plaintext_auth {
            return self.fail(Error::CredentialsWithheld);
        }
        match super::auth::choose(&self.config.auth_preference, credentials, &self.caps) {
            Ok((mechanism, sasl)) => {
                if let Phase::Setup(Setup { next, auth, .. }) = &mut self.phase {
                    *auth = Some(AuthExchange {
                        mechanism,
                        sasl,
                        deferred: None,
                        rounds: 0,
                        cancelled: false,
                    });
                    *next = Some(SetupCmd::Auth);
                }
            }
            Err(e) => self.fail(Error::Auth(e)),
        }
    }

    /// Setup is over (RFC 5321 §3.3: transactions may start), authenticated with `auth`
    /// or not; replies get the configured line limit back after AUTH's longer one (RFC
    /// 4954 §4).
    fn ready(&mut self, auth: Option<crate::command::Mechanism>) {
        let link = Link {
            encrypted: self.is_encrypted(),
            auth,
        };
        self.phase = Phase::Ready {
            link,
            rset_owed: false,
        };
        self.reader.set_max_line(self.config.reply_limits.max_line);
        self.events.push_back(Event::Ready);
    }

    /// RFC 4954 §4 and §6: 235 ends the exchange in success, 334 is a challenge, any
    /// other reply a failure. The exchange lives in `Phase::Setup` and goes with it: when
    /// the session is ready or closed, no response or secret of it is kept.
    fn on_auth(&mut self, reply: Reply) {
        let max_rounds = u16::from(self.config.max_auth_rounds);
        let Phase::Setup(Setup { auth: Some(x), .. }) = &mut self.phase else {
            // AUTH only goes out with an exchange under way.
            return self.unexpected(Stage::Auth, reply);
        };
        if x.cancelled {
            // RFC 4954 §4: the reply to `*` is 501, whatever the server says the
            // exchange failed.
            let err = if x.rounds > max_rounds {
                AuthError::TooManyRounds
            } else {
                AuthError::Cancelled(reply)
            };
            return self.fail(Error::Auth(err));
        }
        if reply.is_positive() {
            // A server may accept without asking for a deferred initial response: it
            // goes with the exchange.
            let mechanism = x.mechanism;
            self.events.push_back(Event::Authenticated(mechanism));
            return self.ready(Some(mechanism));
        }
        if !reply.is_intermediate() {
            return self.fail(Error::Auth(AuthError::Rejected(reply)));
        }
        // 334: a challenge (RFC 4954 §4), base64 in the reply text.
        // No overflow: past the cap comes `*`, and the next reply ends the exchange.
        x.rounds += 1;
        let text = reply.lines().next().unwrap_or(&[]);
        let text = trim_ascii(text);
        let response = if x.rounds > max_rounds {
            None
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|challenge| {
                    // RFC 4954 §4: the empty challenge asks for the initial response
                    // left off the AUTH line; anything else then is cancelled.
                    if let Some(initial) = x.deferred.take() {
                        return challenge.is_empty().then_some(initial);
                    }
                    x.sasl.respond(&challenge).ok()
                })
        };
        let next = match response {
            Some(response) => SetupCmd::AuthResponse(response),
            None => {
                // `*` (RFC 4954 §4): whatever the next reply says, it ends the exchange.
                x.cancelled = true;
                SetupCmd::AuthCancel
            }
        };
        self.setup_next(next);
    }

    // ----- transactions: what was written -----

    /// A queued transaction takes its turn (issue.rs starts one only when the one
    /// before has all its content out): its steps begin with MAIL.
    pub(super) fn txn_begins(&mut self, t: alloc::boxed::Box<Txn>) {
        // `txn_index` relies on it: ids increase along `active`.
        debug_assert!(self.active.back().is_none_or(|b| b.id < t.id));
        self.active.push_back(t);
    }

    /// Whether an RSET is owed before the next MAIL (`owe_rset_after`).
    pub(super) fn rset_owed(&self) -> bool {
        matches!(
            self.phase,
            Phase::Ready {
                rset_owed: true,
                ..
            }
        )
    }

    /// An RSET went out ahead of a MAIL (RFC 5321 §4.1.1.5): the server holds no
    /// transaction once it is answered, so nothing is owed any more.
    pub(super) fn rset_sent(&mut self) {
        if let Phase::Ready { rset_owed, .. } = &mut self.phase {
            *rset_owed = false;
        }
    }

    /// MAIL is out (RFC 5321 §3.3): the RCPTs come next, then the content, as BDAT
    /// chunks if `bdat` (RFC 3030 §2) or else after DATA.
    pub(super) fn mail_written(&mut self, idx: usize, bdat: bool) {
        let t = &mut self.active[idx];
        t.bdat = bdat;
        t.step = Step::Rcpt(0);
    }

    /// One more RCPT is out (RFC 5321 §4.1.1.3).
    pub(super) fn rcpt_written(&mut self, idx: usize) {
        let t = &mut self.active[idx];
        if let Step::Rcpt(i) = t.step {
            t.step = Step::Rcpt(i + 1);
        }
    }

    /// Every RCPT is out: DATA or the first BDAT is next, once allowed (RFC 5321 §3.3).
    pub(super) fn rcpts_written(&mut self, idx: usize) {
        self.active[idx].step = Step::BeforeBody;
    }

    /// DATA is out: the content waits for its 354 (RFC 5321 §4.1.1.4, `on_data`).
    pub(super) fn data_written(&mut self, idx: usize) {
        self.active[idx].step = Step::AwaitData;
    }

    /// The content goes as BDAT chunks, with no DATA before it (RFC 3030 §2), framed
    /// as they are for BINARYMIME (RFC 3030 §3) and with bare line ends made CRLF
    /// otherwise (`BdatEncoder`).
    pub(super) fn bdat_begins(&mut self, idx: usize) {
        let t = &mut self.active[idx];
        let binary = t.env.body == crate::command::BodyType::BinaryMime;
        t.framing = Some(Framing::Bdat(crate::body::BdatEncoder::new(binary)));
        t.step = Step::Body;
    }

    /// A chunk of DATA content is out and more is to come: the data block timer starts
    /// again (RFC 5321 §4.5.3.2.5: the data block timer runs per block written).
    pub(super) fn content_written(&mut self) {
        let deadline = self.now + self.config.timeouts.data_block;
        self.timers.set(Timer::Body, Some(deadline));
    }

    /// The end of data (or BDAT LAST) is out: nothing more of the transaction is sent,
    /// and from now on a lost reply leaves its outcome unknown (RFC 5321 §4.5.3.2.6,
    /// `close_with`). The final reply is waited for under the reply timer instead.
    pub(super) fn content_ended(&mut self, idx: usize) {
        let t = &mut self.active[idx];
        t.step = Step::Done;
        t.ended = true;
        t.framing = None;
        self.timers.set(Timer::Body, None);
    }

    // ----- transactions: replies -----

    /// RFC 5321 §4.1.1.2: MAIL refused fails the transaction; the replies to RCPTs
    /// pipelined behind it belong to no transaction (§3.3) and are not reported.
    fn on_mail(&mut self, id: TxnId, reply: Reply) {
        let Some(t) = self.txn_mut(id) else { return };
        if reply.is_intermediate() {
            return self.unexpected(Stage::Mail, reply);
        }
        if !reply.is_positive() {
            t.mail_refused = true;
            t.fail(TxnFailure::Rejected {
                stage: Stage::Mail,
                reply,
            });
        }
        self.settle(id);
    }

    /// A positive reply to MAIL or to our own RSET, or 354 to DATA, whose text nobody
    /// sees, read by its
    /// code alone (found by `ReplyReader::peek`, never copied): what
    /// [`on_reply`](Self::on_reply) does with it, without the reply. Returns whether it
    /// was such a reply (else nothing changed).
    pub(super) fn on_unremarkable(&mut self, code: ReplyCode) -> bool {
        let expect = match self.pending.head() {
            Some(e @ Expect::Mail(_)) if code.is_positive() => e,
            Some(e @ Expect::Data(_)) if code.get() == 354 => e,
            // Our own RSET (before a pipelined MAIL, after a failed transaction): its
            // 2xx says nothing anyone sees (`on_reply`).
            Some(e @ Expect::Rset { user: false }) if code.is_positive() => e,
            _ => return false,
        };
        if matches!(self.phase, Phase::Greeting { .. }) {
            return false;
        }
        self.answered();
        match expect {
            Expect::Mail(id) if self.txn_mut(id).is_some() => self.settle(id),
            Expect::Data(id) => self.data_go_ahead(id),
            _ => {}
        }
        true
    }

    /// RFC 5321 §4.1.1.3: each RCPT reply accepts or rejects its recipient. The
    /// transaction fails once every RCPT reply is in and none was accepted, or at the
    /// first rejection under `abort_on_rejected_recipient`.
    ///
    /// RFC 5321 §4.5.3.1.10: a "too many recipients" reply (see [`too_many_recipients`])
    /// means the server takes no more in this transaction, so the RCPTs not yet sent
    /// are reported not attempted at once (`not_attempted_from`), to be sent in another
    /// transaction; RCPTs already on the wire may yet be accepted.
    fn on_rcpt(&mut self, id: TxnId, rcpt: usize, reply: Reply) {
        let abort = self.config.abort_on_rejected_recipient;
        let lmtp = self.config.lmtp;
        let Some(idx) = self.txn_index(id) else {
            return;
        };
        let t = &mut self.active[idx];
        t.rcpt_replies += 1;
        if reply.is_intermediate() {
            return self.unexpected(Stage::Rcpt, reply);
        }
        // RFC 5321 §3.3: after a refused MAIL the RCPT replies belong to no transaction.
        if !t.mail_refused {
            let mut too_many = false;
            let event = if reply.is_positive() {
                t.accepted_count += 1;
                if lmtp {
                    t.accepted.push(rcpt);
                }
                Event::RecipientAccepted {
                    txn: id,
                    rcpt,
                    reply,
                }
            } else {
                too_many = too_many_recipients(&reply);
                if abort {
                    t.fail(TxnFailure::RecipientRejected);
                }
                Event::RecipientRejected {
                    txn: id,
                    rcpt,
                    reply,
                }
            };
            if t.all_rcpt_replies_in() && !t.any_accepted() {
                t.fail(TxnFailure::NoRecipients);
            }
            self.events.push_back(event);
            // Only the newest transaction can have RCPTs left to send (the next one
            // starts once this one's content is out), and only while it has no failure
            // (a failed one sends nothing more: `settle`).
            if let (true, Step::Rcpt(from), None) = (too_many, t.step, &t.failure) {
                self.not_attempted_from(idx, from);
            }
        }
        self.settle(id);
    }

    /// RCPTs from `from` on were not sent and will not be, after "too many recipients"
    /// (RFC 5321 §4.5.3.1.10): each is reported not attempted, for the caller to send in
    /// another transaction, and the transaction goes on to its content. With RCPTs still
    /// on the wire the last reply decides whether any recipient was accepted.
    fn not_attempted_from(&mut self, idx: usize, from: usize) {
        let t = &mut self.active[idx];
        let id = t.id;
        for rcpt in from..t.env.recipients.len() {
            t.rcpt_replies += 1;
            self.events
                .push_back(Event::RecipientNotAttempted { txn: id, rcpt });
        }
        if t.all_rcpt_replies_in() && !t.any_accepted() {
            t.fail(TxnFailure::NoRecipients);
        }
        t.step = Step::BeforeBody;
    }

    /// RFC 5321 §4.1.1.4 and RFC 2920 §3.1: 354 with no recipient accepted still needs the
    /// end-of-data marker, alone, so nothing is delivered.
    fn on_data(&mut self, id: TxnId, reply: Reply) {
        if reply.code().get() == 354 {
            return self.data_go_ahead(id);
        }
        let Some(t) = self.txn_mut(id) else { return };
        if reply.is_positive() || reply.is_intermediate() {
            return self.unexpected(Stage::Data, reply);
        }
        t.fail(TxnFailure::Rejected {
            stage: Stage::Data,
            reply,
        });
        t.step = Step::Done;
        self.settle(id);
    }

    /// 354 to DATA: the content goes, or the end-of-data marker alone when no recipient
    /// was accepted.
    fn data_go_ahead(&mut self, id: TxnId) {
        let now = self.now;
        let block = self.config.timeouts.data_block;
        let Some(t) = self.txn_mut(id) else { return };
        if t.failure.is_none() && t.any_accepted() {
            t.step = Step::Body;
            t.framing = Some(Framing::Data(DataEncoder::new()));
            self.timers.set(Timer::Body, Some(now + block));
        } else {
            t.fail(TxnFailure::NoRecipients);
            t.step = Step::EndOnly;
        }
    }

    /// RFC 3030 §2: a failed BDAT fails the transaction; no more chunks go out, BDAT LAST
    /// included (`settle`). Under LMTP a BDAT LAST already pipelined behind the refused
    /// chunk is answered once, not once per accepted recipient (RFC 2033 §4.3): the
    /// failure recorded here makes `Txn::finals_expected` one.
    fn on_bdat_chunk(&mut self, id: TxnId, reply: Reply) {
        let Some(t) = self.txn_mut(id) else { return };
        if reply.is_intermediate() {
            return self.unexpected(Stage::DataBlock, reply);
        }
        if !reply.is_positive() {
            t.fail(TxnFailure::Rejected {
                stage: Stage::DataBlock,
                reply,
            });
        }
        self.settle(id);
    }

    /// The reply to the end of data or `BDAT LAST`; under LMTP one per accepted
    /// recipient, in RCPT order (RFC 2033 §4.2).
    fn on_final(&mut self, expect: Expect, id: TxnId, reply: Reply) {
        let lmtp = self.config.lmtp;
        let Some(idx) = self.txn_index(id) else {
            return;
        };
        if reply.is_intermediate() {
            return self.unexpected(Stage::DataEnd, reply);
        }
        let t = &mut self.active[idx];
        t.finals += 1;
        let more = t.finals < t.finals_expected(lmtp);
        if more {
            self.owed_again(expect);
        }
        let t = &mut self.active[idx];
        let failed = !reply.is_positive();
        if t.failure.is_none() {
            let rcpt = if lmtp {
                t.accepted.get(t.finals - 1).copied()
            } else {
                None
            };
            self.events.push_back(if failed {
                Event::TransactionFailed {
                    txn: id,
                    rcpt,
                    failure: TxnFailure::Rejected {
                        stage: Stage::DataEnd,
                        reply,
                    },
                }
            } else {
                Event::MessageAccepted {
                    txn: id,
                    rcpt,
                    reply,
                }
            });
            if !more {
                // Every recipient accepted at RCPT: whatever the final reply said (a
                // 421 does not come here), nothing of the message is ever sent again
                // (`pool::may_resend`, `pool::transient_recipients`), so its envelope
                // is dropped here rather than handed back, at no cost.
                if let Some(t) = self.active.remove(idx) {
                    if t.accepted_count < t.env.recipients.len() {
                        self.txn_over(t);
                    }
                }
            }
            if failed {
                self.owe_rset_after(id);
            }
        } else if !more {
            t.step = Step::Done;
            self.settle(id);
        }
    }

    /// Ends a failed transaction once nothing more of it is owed or to be sent.
    pub(super) fn settle(&mut self, id: TxnId) {
        let Some(idx) = self.txn_index(id) else {
            return;
        };
        let t = &mut self.active[idx];
        if t.failure.is_none() {
            return;
        }
        if matches!(
            t.step,
            Step::Mail | Step::Rcpt(_) | Step::BeforeBody | Step::Body
        ) {
            t.step = Step::Done;
        }
        if t.outstanding == 0 && t.step == Step::Done {
            self.finish(idx);
        }
    }

    /// RFC 5321 §4.1.4 (ours: always): a failed transaction owes an RSET before the next
    /// MAIL, unless a later MAIL is already on the wire. That MAIL either had an RSET in
    /// front of it (pipelined behind an open transaction) or follows a final reply, which
    /// ended the failed transaction at the server; owing one more would only send a stale
    /// RSET before some later, unrelated transaction.
    fn owe_rset_after(&mut self, id: TxnId) {
        let later_mail_sent = self
            .active
            .iter()
            .any(|o| o.id > id && o.step != Step::Mail);
        if later_mail_sent {
            return;
        }
        // After QUIT no MAIL follows (`Quitting`): nothing is owed.
        if let Phase::Ready { rset_owed, .. } = &mut self.phase {
            *rset_owed = true;
        }
    }

    /// The envelope cannot go to this server (`Txn::mail_params`): the transaction fails
    /// before any of it is written, so the server has nothing to reset and no RSET is
    /// owed for it (RFC 5321 §4.1.1.5 resets a transaction that was begun).
    pub(super) fn refuse_unsent(&mut self, idx: usize, error: crate::error::TxnError) {
        let Some(t) = self.active.remove(idx) else {
            return;
        };
        self.events.push_back(Event::TransactionFailed {
            txn: t.id,
            rcpt: None,
            failure: TxnFailure::Refused(error),
        });
        self.txn_over(t);
    }

    /// Removes a transaction and reports its failure.
    pub(super) fn finish(&mut self, idx: usize) {
        let Some(mut t) = self.active.remove(idx) else {
            return;
        };
        if let Some(failure) = t.failure.take() {
            self.owe_rset_after(t.id);
            self.events.push_back(Event::TransactionFailed {
                txn: t.id,
                rcpt: None,
                failure,
            });
        }
        self.txn_over(t);
    }
}

fn trim_ascii(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Errors after which the connection is still in step and QUIT is worth sending. A 554
/// (or other refusing) greeting counts: that server waits for QUIT before closing
/// (RFC 5321 §3.1); after a 421 it is closing anyway (§3.8).
fn ends_politely(err: &Error) -> bool {
    match err {
        Error::ServiceUnavailable(reply) => reply.code().get() != 421,
        _ => matches!(
            err,
            Error::TlsRequired(_)
                | Error::CredentialsWithheld
                | Error::Auth(_)
                | Error::Rejected { .. }
        ),
    }
}

#[cfg(test)]
mod tests {
    //! The transitions whose effect the public surface cannot show on its own: what a
    //! phase carries, and rules that hold by construction.
    use alloc::vec::Vec;

    use super::super::{Client, Link, Phase, Setup, SetupCmd, SetupTls};
    use crate::command::{EhloName, Mechanism};
    use crate::config::{Config, TlsMode, TlsPolicy};
    use crate::ehlo::Capabilities;
    use crate::output::{Output, TxnId};
    use crate::reply::{Reply, ReplyCode};
    use crate::time::Instant;

    fn client(tls: TlsMode) -> Client {
        let mut config = Config::new(EhloName::new("client.example").unwrap());
        config.tls = tls;
        Client::new(config, Instant::ZERO)
    }

    /// Polls until the client waits, closes or asks for TLS; returns what it wrote.
    fn step(c: &mut Client) -> (Vec<u8>, Output) {
        let mut out = Vec::new();
        loop {
            match c.poll_output(&mut out) {
                Output::Event(_) => {}
                other => return (out, other),
            }
        }
    }

    /// Feeds each server line in turn, and checks that the client answers it with
    /// exactly the bytes given.
    fn dialogue(c: &mut Client, now: Instant, turns: &[(&[u8], &[u8])]) {
        for &(server, client) in turns {
            c.handle_input(now, server);
            assert_eq!(step(c).0, client, "after {server:?}");
        }
    }

    /// RFC 3207 §4.2: STARTTLS goes out once. Setup records it as STARTTLS is chosen,
    /// so a hello answered again in the same setup (which the reply handlers never
    /// cause: a refused STARTTLS goes on to AUTH) still does not choose it twice.
    #[test]
    fn starttls_is_chosen_once_per_setup() {
        let now = Instant::ZERO;
        let mut c = client(TlsMode::StartTls(TlsPolicy::Opportunistic));
        dialogue(
            &mut c,
            now,
            &[
                (b"220 mx\r\n", b"EHLO client.example\r\n"),
                (b"250-mx\r\n250 STARTTLS\r\n", b"STARTTLS\r\n"),
            ],
        );
        let Phase::Setup(setup) = &c.phase else {
            panic!("{:?}", c.phase);
        };
        assert_eq!(setup.tls, SetupTls::StartTlsSent);

        c.after_hello();
        assert!(
            matches!(c.phase, Phase::Ready { .. }),
            "STARTTLS chosen again: {:?}",
            c.phase
        );
    }

    /// Setup from plaintext chooses STARTTLS; setup over TLS does not.
    #[test]
    fn setup_chooses_starttls_only_in_plaintext() {
        let policy = TlsMode::StartTls(TlsPolicy::Opportunistic);
        for (encrypted, want_starttls) in [(false, true), (true, false)] {
            let mut c = client(policy);
            let reply = Reply::new(ReplyCode::OK, &[b"mx", b"STARTTLS"]).unwrap();
            c.caps = Capabilities::from(reply);
            c.phase = Phase::Setup(Setup::start(encrypted));
            c.after_hello();
            let chose = match &c.phase {
                Phase::Setup(s) => matches!(s.next, Some(SetupCmd::StartTls)),
                _ => false,
            };
            assert_eq!(chose, want_starttls, "encrypted: {encrypted}");
            assert_eq!(c.is_encrypted(), encrypted);
        }
    }

    /// RFC 5321 §4.1.4 (ours: always): a failed transaction owes an RSET until one goes
    /// out; after QUIT nothing is owed, since no MAIL follows.
    #[test]
    fn an_rset_is_owed_until_sent_and_never_after_quit() {
        let mut c = client(TlsMode::StartTls(TlsPolicy::Disabled));
        c.phase = Phase::Ready {
            link: Link::default(),
            rset_owed: false,
        };
        assert!(!c.rset_owed());
        c.owe_rset_after(TxnId(0));
        assert!(c.rset_owed());
        c.rset_sent();
        assert!(!c.rset_owed());

        c.owe_rset_after(TxnId(0));
        c.quit_sent();
        assert!(matches!(c.phase, Phase::Quitting(_)));
        assert!(!c.rset_owed());
    }

    /// What the connection came to stays readable after the session ends, whichever
    /// phase it ended in.
    #[test]
    fn the_link_outlives_the_session() {
        let plain = Mechanism::new("PLAIN").unwrap();
        let link = Link {
            encrypted: true,
            auth: Some(plain),
        };
        let mut c = client(TlsMode::StartTls(TlsPolicy::Disabled));
        c.phase = Phase::Quitting(link);
        c.close_with(None);
        assert!(c.is_closed());
        assert!(matches!(step(&mut c).1, Output::Closed(None)));
        assert!(matches!(c.phase, Phase::Closed(l) if l == link));
        assert!(c.is_encrypted());
        assert_eq!(c.auth_mechanism(), Some(&plain));

        // Implicit TLS, closed while waiting for the greeting: still encrypted.
        let now = Instant::ZERO;
        let mut c = client(TlsMode::Implicit);
        let Output::StartTls(upgrade) = step(&mut c).1 else {
            panic!("no handshake first");
        };
        assert!(!c.is_encrypted(), "before the handshake");
        c.handle_tls_established(now, upgrade);
        assert!(c.is_encrypted());
        c.handle_eof(now);
        assert!(c.is_closed() && c.is_encrypted());
        assert_eq!(c.auth_mechanism(), None);
    }

    /// RFC 5321 §4.5.3.2.5: the data block timer covers each block, not the whole
    /// content: every DATA chunk written starts it again, so a slow sender that keeps
    /// writing is not timed out, and the end of data stops it.
    #[test]
    fn each_data_chunk_restarts_the_data_block_timer() {
        use crate::command::{ForwardPath, ReversePath};
        use crate::envelope::Envelope;
        use core::time::Duration;

        let t0 = Instant::ZERO;
        let mut c = client(TlsMode::StartTls(TlsPolicy::Disabled));
        let block = c.config.timeouts.data_block;
        let env = Envelope::new(
            ReversePath::new("a@example.com").unwrap(),
            [ForwardPath::new("b@example.org").unwrap()],
        );
        let id = c.send(t0, env).unwrap();
        dialogue(
            &mut c,
            t0,
            &[
                (b"220 mx\r\n", b"EHLO client.example\r\n"),
                (b"250 mx\r\n", b"MAIL FROM:<a@example.com>\r\n"),
                (b"250 ok\r\n", b"RCPT TO:<b@example.org>\r\n"),
                (b"250 ok\r\n", b"DATA\r\n"),
            ],
        );
        c.handle_input(t0, b"354 go\r\n");
        assert!(matches!(step(&mut c).1, Output::SendBody { .. }));
        assert_eq!(c.deadline(), Some(t0 + block), "from the 354");

        let mut out = Vec::new();
        let mut now = t0;
        for _ in 0..3 {
            now = now + (block - Duration::from_secs(1));
            c.handle_timeout(now);
            assert!(!c.is_closed(), "timed out while the content kept coming");
            c.send_body(now, id, b"line\r\n", false, &mut out).unwrap();
            assert_eq!(c.deadline(), Some(now + block), "restarted by the chunk");
        }
        c.send_body(now, id, b"", true, &mut out).unwrap();
        let reply = c.config.timeouts.data_end;
        assert_eq!(
            c.deadline(),
            Some(now + reply),
            "the end of data's reply timer"
        );
    }

    /// While AUTH is under way, Debug shows the exchange (mechanism, rounds, whether
    /// `*` went out) for logs, and never the credentials it carries.
    #[test]
    fn debug_shows_the_auth_exchange_but_not_its_secrets() {
        let now = Instant::ZERO;
        let mut c = client(TlsMode::StartTls(TlsPolicy::Disabled));
        c.config.allow_plaintext_auth = true;
        c.config.credentials = Some(
            crate::secret::Credentials::password("user", alloc::string::String::from("s3cret-pw"))
                .unwrap(),
        );
        dialogue(
            &mut c,
            now,
            &[
                (b"220 mx\r\n", b"EHLO client.example\r\n"),
                (b"250-mx\r\n250 AUTH LOGIN\r\n", b"AUTH LOGIN\r\n"),
                (b"334 VXNlcm5hbWU6\r\n", b"dXNlcg==\r\n"),
            ],
        );

        let debug = alloc::format!("{c:?}");
        for part in ["AuthExchange", "LOGIN", "rounds: 1", "cancelled: false"] {
            assert!(debug.contains(part), "{debug} lacks {part}");
        }
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
