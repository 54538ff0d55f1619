//! Whole operations over a [`Client`]: what the adapters' `Connection` methods do, minus
//! the I/O.
//!
//! A [`Session`] owns the client, the output buffer and the operation under way: connect
//! (until [`Event::Ready`]), a batch of transactions (until each has its [`Report`]), one
//! command (until its reply, or its local refusal), quit (until the session closes). It keeps the error that
//! ended the session (every later operation returns it) and notices an operation that
//! never finished (its future dropped half-way): later operations return
//! [`SessionError::cancelled`], since a command may be half-written or a reply unread.
//!
//! # The loop
//!
//! An adapter moves bytes, keeps time and runs the TLS handshake; it holds no protocol
//! logic. Each operation is: start it (`send`, `noop` ...), then loop on
//! [`Session::poll_io`] and do what it says, reporting back with one `handle_*` call:
//!
//! | [`Io`] | the adapter does | then calls |
//! |---|---|---|
//! | `Write { deadline }` | writes all of [`Session::output`] (and flushes) | [`handle_written`](Session::handle_written) |
//! | `Read { deadline }` | reads once | [`handle_input`](Session::handle_input) or [`handle_eof`](Session::handle_eof) |
//! | `StartTls(upgrade)` | runs the TLS handshake (STARTTLS, or implicit TLS first thing) before `upgrade.deadline()` | [`handle_tls_established`](Session::handle_tls_established) |
//! | `ReadBody { index, max_chunk }` | reads up to `max_chunk` octets of message `index` | [`handle_body`](Session::handle_body) |
//! | `Close { deadline }` | writes out [`Session::output`] if it can, closes the stream | nothing |
//! | `Done` | takes the result with the operation's `finish_*` | |
//!
//! A deadline that passes first is [`handle_timeout`](Session::handle_timeout); a failure
//! of the stream, the handshake or the content's reader is
//! [`handle_failure`](Session::handle_failure) with the adapter's error, which the
//! operation then returns (the core sees an end of stream, so every open transaction
//! still gets its outcome). Every byte read goes straight in: nothing plaintext may be
//! buffered across STARTTLS.
//!
//! ```
//! use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
//! use smtp_proto::session::{Io, Session, SessionError};
//! use smtp_proto::{Config, Envelope, Error, Instant, TlsMode, TlsPolicy, UsageError};
//!
//! #[derive(Debug)]
//! struct MyError(String); // an adapter's error: I/O failures, the core's errors ...
//! impl SessionError for MyError {
//!     fn from_core(e: Error) -> Self { MyError(e.to_string()) }
//!     fn from_usage(e: UsageError) -> Self { MyError(e.to_string()) }
//!     fn cancelled() -> Self { MyError("cancelled".into()) }
//!     fn duplicate(&self) -> Self { MyError(self.0.clone()) }
//! }
//!
//! /// Performs the instructions until the operation is done (here over canned flights).
//! fn run(s: &mut Session<MyError>, server: &mut Vec<&[u8]>, body: &[u8]) {
//!     let now = Instant::ZERO; // a real adapter reads its clock
//!     loop {
//!         match s.poll_io() {
//!             Io::Write { .. } => s.handle_written(), // wrote s.output()
//!             Io::Read { .. } if server.is_empty() => s.handle_eof(now),
//!             Io::Read { .. } => s.handle_input(now, server.remove(0)),
//!             Io::ReadBody { .. } => s.handle_body(now, body, true),
//!             Io::StartTls(_) => unreachable!("TLS is disabled here"),
//!             Io::Close { .. } => {} // wrote s.output(), closed the stream
//!             Io::Done => return,
//!         }
//!     }
//! }
//!
//! let mut config = Config::new(EhloName::new("client.example").unwrap());
//! config.tls = TlsMode::StartTls(TlsPolicy::Disabled); // a test server on loopback
//! let mut s = Session::new(config, Instant::ZERO);
//! let mut server: Vec<&[u8]> = vec![b"220 mx\r\n", b"250 mx\r\n"];
//! run(&mut s, &mut server, b"");
//! s.finish_connect().unwrap();
//!
//! let to = [ForwardPath::new("bob@example.net").unwrap()];
//! let envelope = Envelope::new(ReversePath::new("alice@example.org").unwrap(), to);
//! s.send(Instant::ZERO, vec![envelope]).unwrap();
//! server.extend([&b"250 ok\r\n"[..], b"250 ok\r\n", b"354 go\r\n", b"250 queued\r\n"]);
//! run(&mut s, &mut server, b"Subject: hi\r\n\r\nHello.\r\n");
//! assert!(s.finish_send().unwrap()[0].all_delivered());
//! ```

mod op;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
pub(crate) mod tests;

use alloc::vec::Vec;

use crate::client::Client;
use crate::command::VrfyArg;
use crate::config::Config;
use crate::envelope::Envelope;
use crate::error::{Error, UsageError};
use crate::output::{Event, Output, TlsUpgrade, TxnId};
use crate::reply::Reply;
use crate::report::Report;
use crate::time::Instant;
use crate::transcript::{Line, Transcript};
use op::{Batch, Op, Stream};

/// Content is written out once this much is framed, rather than at the next wait: memory
/// stays bounded and each block has its deadline (RFC 5321 §4.5.3.2.5).
pub(crate) const FLUSH_AT: usize = 64 * 1024;

/// The adapter's error type, as the session builds and keeps it.
pub trait SessionError: Sized {
    /// The session died of this (an adapter may give timeouts their own variant).
    fn from_core(error: Error) -> Self;
    /// The call does not fit the session's state.
    fn from_usage(error: UsageError) -> Self;
    /// An earlier operation did not complete (its future was dropped half-way, or it
    /// panicked and the caller caught the panic).
    fn cancelled() -> Self;
    /// A copy, for every later call on a dead session.
    fn duplicate(&self) -> Self;
}

/// What the adapter does next; see the [module documentation](self).
#[must_use = "an Io is an instruction: the adapter must perform it and report back"]
#[derive(Debug)]
pub enum Io {
    /// Write all of [`Session::output`] before `deadline`.
    Write {
        /// When the write is overdue; `None`: no deadline.
        deadline: Option<Instant>,
    },
    /// Wait for server bytes (one read) until `deadline`.
    Read {
        /// When the reply is overdue; `None`: no deadline.
        deadline: Option<Instant>,
    },
    /// Run the TLS handshake (the output buffer is written), before its deadline.
    StartTls(TlsUpgrade),
    /// Read up to `max_chunk` octets of the content of message `index` (its position in
    /// the batch given to [`Session::send`], or in the stream: [`Session::stream_send`]),
    /// filling the chunk unless the content ends.
    ReadBody {
        /// The message.
        index: usize,
        /// The largest chunk the core takes now.
        max_chunk: usize,
    },
    /// The session is over: write out [`Session::output`] (QUIT may be in it) if that
    /// can be done before `deadline`, then close the stream. Failures are moot.
    Close {
        /// How long the goodbye may take.
        deadline: Instant,
    },
    /// The operation is over: take its result.
    Done,
}

/// Where an adapter's transcript goes: plain functions, so that a session stays `Send`
/// and `Sync`.
///
/// The session asks `lines` at every write, read and chunk of content, so a log may be
/// switched on or off mid-session; what it missed comes from the client (see
/// [`Transcript`]), so that an AUTH payload stays redacted whenever logging starts.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Log {
    /// Logs one line.
    pub line: fn(Line<'_>),
    /// Whether the conversation is logged now: without it the session skips the
    /// transcript (a pass over every byte written and read), and asks neither `content`
    /// nor `content_lines`.
    pub lines: fn() -> bool,
    /// Whether message content is logged at all: its summary costs a pass over every
    /// chunk (to count lines), which a session skips when nobody reads it.
    pub content: fn() -> bool,
    /// Whether lines of message content are wanted (they cost a pass over the content).
    pub content_lines: fn() -> bool,
}

impl Log {
    /// Lines go to `line`; `lines` says whether the conversation is logged now,
    /// `content` and `content_lines` whether message content, and its lines, are too.
    pub const fn new(
        line: fn(Line<'_>),
        lines: fn() -> bool,
        content: fn() -> bool,
        content_lines: fn() -> bool,
    ) -> Self {
        Log {
            line,
            lines,
            content,
            content_lines,
        }
    }
}

/// A client session run one operation at a time; see the [module documentation](self).
pub struct Session<E> {
    client: Client,
    out: Vec<u8>,
    /// The last time handed in.
    now: Instant,
    op: Option<Op>,
    /// The operation has what it waited for: what the core queued meanwhile (an RSET
    /// after a failed transaction) is written out, without waiting for its reply.
    done: bool,
    /// An operation started and has not been finished.
    busy: bool,
    /// `Close` was handed out.
    closed: bool,
    /// The error that ended the session.
    ended: Option<E>,
    /// A failure of the adapter's, reported instead of the core's `ConnectionClosed`.
    cause: Option<E>,
    /// A handshake to hand out once the output buffer is written.
    upgrade: Option<TlsUpgrade>,
    /// The transaction whose content was asked for.
    body_txn: Option<TxnId>,
    transcript: Transcript,
    log: Option<Log>,
}

impl<E> core::fmt::Debug for Session<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.client)
            .field("op", &self.op)
            .field("busy", &self.busy)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<E: SessionError> Session<E> {
    /// A session on a connection opened at `now`, its first operation under way:
    /// connect, until the session is set up. Under implicit TLS the first instruction is
    /// the handshake ([`Io::StartTls`]), within the `tls_handshake` timeout: the client's
    /// own first output.
    ///
    /// With a configuration [`Config::validate`] refuses, the first instruction is
    /// [`Io::Close`] and connecting fails with [`UsageError::InvalidConfig`].
    pub fn new(config: Config, now: Instant) -> Self {
        let invalid = config.validate().err();
        Session {
            upgrade: None,
            client: Client::new(config, now),
            out: Vec::new(),
            now,
            op: Some(Op::Connect),
            done: false,
            busy: true,
            closed: false,
            ended: None,
            // Reported instead of the client's `Error::InvalidConfig`, as the adapters
            // report it when they check before connecting.
            cause: invalid.map(|e| E::from_usage(UsageError::InvalidConfig(e))),
            body_txn: None,
            transcript: Transcript::default(),
            log: None,
        }
    }

    /// Logs the conversation from now on (see [`crate::transcript`]).
    pub fn set_log(&mut self, log: Log) {
        self.log = Some(log);
    }

    /// The log, if it takes the conversation now.
    fn logging(&self) -> Option<Log> {
        self.log.filter(|log| (log.lines)())
    }

    /// The client, for its accessors (capabilities, encryption ...).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bytes to write on [`Io::Write`] and [`Io::Close`].
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    // ----- operations -----

    /// Starts sending a batch of messages (their content comes with [`Io::ReadBody`]).
    /// An envelope without recipients refuses the whole batch before anything is queued.
    pub fn send(&mut self, now: Instant, envelopes: Vec<Envelope>) -> Result<(), E> {
        self.begin()?;
        if envelopes.iter().any(|e| e.recipients.is_empty()) {
            return Err(E::from_usage(UsageError::NoRecipients));
        }
        let lmtp = self.client.config().lmtp;
        let mut reports = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let n = envelope.recipients.len();
            let txn = self.client.send(now, envelope).map_err(E::from_usage)?;
            reports.push(Report::new(txn, n, lmtp));
        }
        self.start(now, Op::Batch(Batch::new(reports)));
        Ok(())
    }

    /// Opens a stream of messages: unlike [`send`](Self::send), messages join with
    /// [`stream_send`](Self::stream_send) while earlier ones are in flight, and each
    /// report comes back with [`poll_report`](Self::poll_report) as it completes, so a
    /// connection's pipeline stays full with whatever its callers have queued. The core's
    /// window ([`Config::window`]) bounds what is unanswered on the wire; `max_open`
    /// (at least 1) bounds the messages taken and not yet reported.
    ///
    /// The operation runs until [`stream_end`](Self::stream_end) and every report is
    /// complete (or the session dies: every open message then gets its report, see
    /// [`finish_send`](Self::finish_send) for what each means). While nothing is owed
    /// the loop says [`Io::Read`] without a deadline: an adapter waits for the server
    /// (a close is noticed) and for the next message at once.
    pub fn stream(&mut self, now: Instant, max_open: usize) -> Result<(), E> {
        self.begin()?;
        // The envelopes come back with the reports (`poll_report_and_envelope`), and
        // between bursts the queues keep their room, until the stream ends.
        self.client.streaming = true;
        self.start(now, Op::Stream(Stream::new(max_open)));
        Ok(())
    }

    /// How many more messages the open stream takes now (0 without one, or once ended
    /// or closed).
    pub fn stream_room(&self) -> usize {
        match &self.op {
            Some(Op::Stream(s)) if !s.ended && !self.closed && self.ended.is_none() => s.room(),
            _ => 0,
        }
    }

    /// How many messages of the open stream are still waiting for their outcome.
    pub fn stream_pending(&self) -> usize {
        match &self.op {
            Some(Op::Stream(s)) => s.pending(),
            _ => 0,
        }
    }

    /// Queues a message on the open stream; returns its position in the stream (from 0):
    /// the `index` of its [`Io::ReadBody`] and of its report. Refused (and nothing
    /// queued) without room ([`UsageError::StreamFull`]), without an open stream
    /// ([`UsageError::NoStream`]), without recipients, or with the error that ended
    /// the session.
    pub fn stream_send(&mut self, now: Instant, envelope: Envelope) -> Result<usize, E> {
        self.stream_try_send(now, envelope).map_err(|(e, _)| e)
    }

    /// [`stream_send`](Self::stream_send), giving the envelope back with the refusal:
    /// a pool sends the message again without a copy of it.
    pub fn stream_try_send(
        &mut self,
        now: Instant,
        envelope: Envelope,
    ) -> Result<usize, (E, Envelope)> {
        if let Some(e) = &self.ended {
            return Err((e.duplicate(), envelope));
        }
        let lmtp = self.client.config().lmtp;
        let Some(Op::Stream(stream)) = self.op.as_mut().filter(|_| !self.closed) else {
            return Err((E::from_usage(UsageError::NoStream), envelope));
        };
        if stream.ended {
            return Err((E::from_usage(UsageError::NoStream), envelope));
        }
        if stream.room() == 0 {
            return Err((E::from_usage(UsageError::StreamFull), envelope));
        }
        let n = envelope.recipients.len();
        let txn = match self.client.try_send(now, envelope) {
            Ok(txn) => txn,
            Err((e, envelope)) => return Err((E::from_usage(e), envelope)),
        };
        self.now = now;
        Ok(stream.push(Report::new(txn, n, lmtp)))
    }

    /// The oldest message's report once it is complete, with its position in the
    /// stream. Reports come in the order the messages were queued (the order in which
    /// the server answers them).
    pub fn poll_report(&mut self) -> Option<(usize, Report)> {
        self.poll_report_and_envelope()
            .map(|(index, report, _)| (index, report))
    }

    /// [`poll_report`](Self::poll_report), with the message's envelope as
    /// [`stream_send`](Self::stream_send) took it, if the message may be sent again:
    /// the session gives back the envelope of every message whose transaction failed
    /// or ended with some recipient not accepted, rather than drop it, so that a pool
    /// can send the message again ([`pool::may_resend`](crate::pool::may_resend)), or
    /// to the recipients still to try (see [`crate::pool`]), without keeping a copy.
    /// `None` for a message every recipient accepted at RCPT: nothing of it is sent
    /// again, whatever its outcome.
    pub fn poll_report_and_envelope(&mut self) -> Option<(usize, Report, Option<Envelope>)> {
        match &mut self.op {
            Some(Op::Stream(s)) => s.pop(),
            _ => None,
        }
    }

    /// Withdraws the message at `index` of the open stream if none of its commands was
    /// written yet: nothing of it reaches the server, no [`Io::ReadBody`] and no report
    /// come for it, and it gives its room back. "Written" means put in
    /// [`output`](Self::output): from then on the adapter may have sent any part of it,
    /// whether or not it called [`handle_written`](Self::handle_written) yet. So a
    /// message can be withdrawn while it waits behind the window (RFC 2920 §3.1) or
    /// behind an earlier message's content; see [`Client::withdraw`]. Returns whether it
    /// was withdrawn; `false` (nothing changes) once any of it is out, once its report
    /// is complete (the session ended: it was never sent, and its report says so), or
    /// for a position the stream does not hold. No other message, and not the session,
    /// is affected either way.
    pub fn stream_withdraw(&mut self, index: usize) -> bool {
        let Some(Op::Stream(stream)) = &mut self.op else {
            return false;
        };
        let Some(txn) = stream.txn(index) else {
            return false;
        };
        if !self.client.withdraw(txn) {
            return false;
        }
        stream.withdraw(index);
        self.done |= stream.is_done();
        true
    }

    /// No more messages: the stream's operation is done once every report is complete.
    pub fn stream_end(&mut self) {
        if let Some(Op::Stream(s)) = &mut self.op {
            s.ended = true;
            self.done |= s.is_done();
        }
    }

    /// Ends the stream's operation: `Ok` while the session lives, else the error that
    /// ended it. Take every report with [`poll_report`](Self::poll_report) first: one
    /// left is dropped.
    pub fn finish_stream(&mut self) -> Result<(), E> {
        self.client.streaming = false;
        self.client.returned = Default::default();
        self.client.give_back_room();
        match self.finish() {
            Some(Op::Stream(_)) if self.ended.is_none() && !self.closed => Ok(()),
            _ => Err(self.error()),
        }
    }

    /// Starts a NOOP.
    pub fn noop(&mut self, now: Instant) -> Result<(), E> {
        self.command(now, Client::noop, Op::Command(None))
    }

    /// Starts an RSET.
    pub fn rset(&mut self, now: Instant) -> Result<(), E> {
        self.command(now, Client::rset, Op::Command(None))
    }

    /// Starts a VRFY. An argument that needs SMTPUTF8, to a server that does not offer
    /// it, is not sent: [`finish_command`](Self::finish_command) returns
    /// [`UsageError::Refused`] and the session goes on.
    pub fn vrfy(&mut self, now: Instant, arg: VrfyArg) -> Result<(), E> {
        self.command(now, |c, now| c.vrfy(now, arg), Op::Command(None))
    }

    /// Starts QUIT: the operation ends with the session.
    pub fn quit(&mut self, now: Instant) -> Result<(), E> {
        self.command(now, Client::quit, Op::Quit)
    }

    fn command(
        &mut self,
        now: Instant,
        queue: impl FnOnce(&mut Client, Instant) -> Result<(), UsageError>,
        op: Op,
    ) -> Result<(), E> {
        self.begin()?;
        queue(&mut self.client, now).map_err(E::from_usage)?;
        self.start(now, op);
        Ok(())
    }

    /// Fails if an earlier operation never finished, or with the error that ended the
    /// session.
    fn begin(&self) -> Result<(), E> {
        if self.busy {
            return Err(E::cancelled());
        }
        match &self.ended {
            Some(e) => Err(e.duplicate()),
            None => Ok(()),
        }
    }

    fn start(&mut self, now: Instant, op: Op) {
        self.now = now;
        self.busy = true;
        self.done = op.is_done();
        self.op = Some(op);
    }

    /// Ends the operation; `None` if there was none.
    fn finish(&mut self) -> Option<Op> {
        self.busy = false;
        self.done = false;
        self.out.clear();
        self.op.take()
    }

    /// The error a call reports when the session ended under it.
    fn error(&self) -> E {
        match &self.ended {
            Some(e) => e.duplicate(),
            None => E::from_usage(UsageError::Closed),
        }
    }

    /// The result of connecting: whether the session is set up.
    pub fn finish_connect(&mut self) -> Result<(), E> {
        let ok = self.done && !self.closed;
        match self.finish() {
            Some(Op::Connect) if ok => Ok(()),
            _ => Err(self.error()),
        }
    }

    /// The reports of the batch, in order. If the session died, its error, unless a
    /// message reached an outcome the server gave ([`Report::reached_server`]): the
    /// caller must learn it (maybe [`MessageOutcome::Unknown`](crate::MessageOutcome))
    /// so as not to send it twice; the error comes with the next call.
    pub fn finish_send(&mut self) -> Result<Vec<Report>, E> {
        let closed = self.closed;
        match self.finish() {
            Some(Op::Batch(b)) if b.is_complete() && (!closed || b.reached_server()) => {
                Ok(b.reports)
            }
            _ => Err(self.error()),
        }
    }

    /// The reply to the command, or [`UsageError::Refused`] if it was not sent.
    pub fn finish_command(&mut self) -> Result<Reply, E> {
        match self.finish() {
            Some(Op::Command(Some(Ok(reply)))) => Ok(reply),
            Some(Op::Command(Some(Err(refused)))) => {
                Err(E::from_usage(UsageError::Refused(refused)))
            }
            _ => Err(self.error()),
        }
    }

    /// The end of the session: `Ok` if it ended in order.
    pub fn finish_quit(&mut self) -> Result<(), E> {
        let closed = self.closed;
        self.finish();
        match &self.ended {
            Some(e) => Err(e.duplicate()),
            None if closed => Ok(()),
            None => Err(E::from_usage(UsageError::Closed)),
        }
    }

    // ----- the loop -----

    /// What to do next for the operation under way.
    pub fn poll_io(&mut self) -> Io {
        loop {
            if self.closed || self.op.is_none() {
                return Io::Done;
            }
            if let Some(upgrade) = self.upgrade.take() {
                if self.out.is_empty() {
                    return Io::StartTls(upgrade);
                }
                let deadline = Some(upgrade.deadline());
                self.upgrade = Some(upgrade);
                return Io::Write { deadline };
            }
            if self.out.len() >= FLUSH_AT {
                // The core frames chunk after chunk without a wait: write as we go.
                return Io::Write {
                    deadline: self.client.deadline(),
                };
            }
            let start = self.out.len();
            let output = self.client.poll_output(&mut self.out);
            self.take_returned();
            if self.out.len() > start {
                if let Some(log) = self.logging() {
                    let in_auth = self.client.in_auth();
                    self.transcript
                        .sent(&self.out[start..], in_auth, &mut |l| (log.line)(l));
                }
            }
            match output {
                Output::Event(event) => self.on_event(event),
                Output::SendBody { txn, max_chunk } => match &self.op {
                    Some(Op::Batch(b)) if b.index(txn).is_some() => {
                        self.body_txn = Some(txn);
                        let index = b.index(txn).unwrap_or_default();
                        return Io::ReadBody { index, max_chunk };
                    }
                    Some(Op::Stream(s)) if s.index(txn).is_some() => {
                        self.body_txn = Some(txn);
                        let index = s.index(txn).unwrap_or_default();
                        return Io::ReadBody { index, max_chunk };
                    }
                    _ => self.handle_failure(self.now, E::from_usage(UsageError::NotExpectingBody)),
                },
                Output::StartTls(upgrade) => self.upgrade = Some(upgrade),
                Output::Wait { deadline } if !self.out.is_empty() => return Io::Write { deadline },
                Output::Wait { .. } if self.done => return Io::Done,
                Output::Wait { deadline } => return Io::Read { deadline },
                Output::Closed(error) => {
                    self.closed = true;
                    match self.logging() {
                        Some(log) => self.transcript.closed(&mut |l| (log.line)(l)),
                        None => self.transcript.closed(&mut |_| {}),
                    }
                    if let Some(e) = error {
                        self.ended = Some(self.cause.take().unwrap_or_else(|| E::from_core(e)));
                    }
                    let deadline = self.now + self.client.config().timeouts.command;
                    return Io::Close { deadline };
                }
            }
        }
    }

    /// The envelopes of transactions that are over go to their reports in the open
    /// stream (none are given back without one).
    fn take_returned(&mut self) {
        while let Some((txn, envelope)) = self.client.returned.pop_front() {
            if let Some(Op::Stream(s)) = &mut self.op {
                s.give_back(txn, envelope);
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        self.transcript.event(&event);
        if let Some(op) = &mut self.op {
            self.done |= op.on_event(event);
        }
    }

    // ----- what happened -----

    /// The whole output buffer was written.
    pub fn handle_written(&mut self) {
        self.out.clear();
    }

    /// Bytes read from the server.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        match self.logging() {
            Some(log) => self.transcript.received(bytes, &mut |l| (log.line)(l)),
            None => self.transcript.received_unlogged(bytes),
        }
        self.client.handle_input(now, bytes);
    }

    /// The server closed the stream.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.client.handle_eof(now);
    }

    /// The deadline of a read, a write or the handshake passed. After a write timed out
    /// the stream is out of step for good: the adapter drops it.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.out.clear();
        self.client.handle_timeout(now);
    }

    /// The stream, the handshake or the content's reader failed: the session ends, and
    /// the operation returns `cause` (the first one) rather than the core's error.
    pub fn handle_failure(&mut self, now: Instant, cause: E) {
        self.now = now;
        if !self.closed {
            self.cause.get_or_insert(cause);
        }
        self.out.clear();
        self.client.handle_eof(now);
    }

    /// The handshake of [`Io::StartTls`] completed.
    pub fn handle_tls_established(&mut self, now: Instant, upgrade: TlsUpgrade) {
        self.now = now;
        self.client.handle_tls_established(now, upgrade);
    }

    /// Content asked for by [`Io::ReadBody`]; `last` if it ends there.
    pub fn handle_body(&mut self, now: Instant, chunk: &[u8], last: bool) {
        self.now = now;
        let start = self.out.len();
        let log = self.logging();
        // Asked of the client, not of the DATA line: the log may have missed it.
        let bdat = log.is_some() && self.client.body_in_bdat();
        let result = match self.body_txn.take() {
            Some(txn) => self.client.send_body(now, txn, chunk, last, &mut self.out),
            None => Err(UsageError::NotExpectingBody),
        };
        match (result, log) {
            (Err(e), _) => self.handle_failure(now, E::from_usage(e)),
            (Ok(()), Some(log)) => {
                let content = &self.out[start..];
                let line: &mut dyn FnMut(Line<'_>) = &mut |l| (log.line)(l);
                if (log.content)() {
                    let lines = (log.content_lines)();
                    self.transcript.content(content, bdat, lines, line);
                } else {
                    // The BDAT command is a command: logged without a look at the content.
                    let _ = self.transcript.bdat_command(content, bdat, line);
                }
            }
            (Ok(()), None) => {}
        }
    }
}
