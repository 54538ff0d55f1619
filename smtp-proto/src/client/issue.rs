//! Putting commands on the wire: what may go next, and its encoding. Nothing here
//! changes where the session or a transaction stands; each write is followed by the
//! `state.rs` transition named for it (`mail_written`, `rcpt_written`, `quit_sent` ...),
//! and a refusal found here is a `state.rs` transition too (`refuse_unsent`,
//! `data_aborted`, `chunk_refused`).
//!
//! What may go next:
//! - session setup, one command at a time (RFC 2920 §3.1: EHLO and STARTTLS end a
//!   group; ours: AUTH too, since its replies decide what follows);
//! - with PIPELINING, as many commands as the window allows, never past a group's last
//!   command (RFC 2920 §3.1: DATA, NOOP, VRFY, QUIT ...); without it, one command per
//!   reply (RFC 5321 §4.1.4 has the client wait for each reply);
//! - a transaction's commands in RFC 5321 §3.3's order (MAIL, each RCPT, then DATA),
//!   or with CHUNKING the content as BDAT chunks instead of DATA (RFC 3030 §2);
//! - content chunk by chunk as the caller gives it (RFC 5321 §4.1.1.4 with §4.5.2's
//!   dot-stuffing, done by `crate::body`).

use alloc::vec::Vec;

use super::pending::Expect;
use super::transaction::{Framing, Step};
use super::{Client, Phase, Setup, SetupCmd, Work};
use crate::body::DataEncoder;
use crate::command::Command;
use crate::error::TxnError;
use crate::output::{Event, Output, TxnId};

/// RFC 4954 §4: AUTH lines may be up to 12288 octets, in both directions.
pub(super) const AUTH_LINE_MAX: usize = 12288;

/// What issuing the current transaction came to.
enum Progress {
    /// Something was written or decided: look again.
    Continue,
    /// Nothing can go out until a reply comes.
    Blocked,
    /// The caller must supply content.
    Body(Output),
}

impl Client {
    /// Writes every command that may go out now. Returns `SendBody` when content is next.
    ///
    /// The newest transaction goes first: the next one starts only once its content is
    /// out (`Step::Done`), so that at most one transaction has RCPTs or content left to
    /// send. Requests queued behind it wait their turn (RFC 5321 §4.1.4: commands are
    /// answered in order, so the queue's order is the wire's).
    pub(super) fn issue(&mut self, out: &mut Vec<u8>) -> Option<Output> {
        loop {
            if self.is_closed() {
                return None;
            }
            if self.active.back().is_some_and(|t| t.step != Step::Done) {
                match self.issue_txn(out) {
                    Progress::Continue => continue,
                    Progress::Blocked => return None,
                    Progress::Body(o) => return Some(o),
                }
            }
            // RFC 5321 §4.1.1.10: nothing goes out after QUIT.
            if !self.can_send() || matches!(self.phase, Phase::Quitting(_)) {
                return None;
            }
            match self.work.pop_front()? {
                Work::Txn(t) => self.txn_begins(t),
                Work::Noop => self.write(out, &Command::Noop, Expect::Noop),
                Work::Rset => self.write(out, &Command::Rset, Expect::Rset { user: true }),
                Work::Vrfy(arg) => self.issue_vrfy(&arg, out),
                Work::Quit => {
                    self.write(out, &Command::Quit, Expect::Quit);
                    self.quit_sent();
                }
            }
        }
    }

    /// The next step of the newest transaction: RSET if owed, MAIL, each RCPT, DATA or
    /// the first BDAT, then content (RFC 5321 §3.3; RFC 2920 §3.1 for what may be
    /// pipelined, RFC 3030 §2 for BDAT).
    fn issue_txn(&mut self, out: &mut Vec<u8>) -> Progress {
        let idx = self.active.len() - 1;
        let pipelining = self.pipelining();
        let t = &self.active[idx];
        let id = t.id;
        match t.step {
            Step::Mail => {
                if !self.can_send() {
                    return Progress::Blocked;
                }
                // RFC 5321 §4.1.1.2 with the extensions' own rules: an envelope this
                // server cannot take is refused here, before a byte of it is written.
                let checked = t.mail_params(&self.caps, self.is_encrypted(), self.config.chunking);
                let (params, bdat) = match checked {
                    Ok(p) => p,
                    Err(e) => {
                        self.refuse_unsent(idx, e);
                        return Progress::Continue;
                    }
                };
                // RFC 5321 §4.1.4 (ours: always): RSET after a failed transaction, and
                // before a MAIL pipelined behind one whose outcome is still open.
                // Replies come in order, so if any earlier transaction still owes one, the
                // one just before this (whose MAIL went out later) owes a pre-final reply:
                // looking at it alone keeps this O(1) with hundreds of messages in flight.
                let open_before = idx.checked_sub(1).is_some_and(|p| {
                    self.active[p].failure.is_some() || self.active[p].prefinal_owed()
                });
                if self.rset_owed() || open_before {
                    self.write(out, &Command::Rset, Expect::Rset { user: false });
                    self.rset_sent();
                    if !pipelining {
                        // RFC 2920 §3: without PIPELINING the MAIL waits for RSET's reply;
                        // this step runs again then (and rechecks the envelope).
                        return Progress::Continue;
                    }
                }
                let from = &self.active[idx].env.from;
                let cmd = Command::Mail {
                    from,
                    params: &params,
                };
                let start = out.len();
                cmd.encode(out);
                self.mail_written(idx, bdat);
                self.expect(Expect::Mail(id), out.len() - start);
                Progress::Continue
            }
            Step::Rcpt(i) => {
                if t.failure.is_some() {
                    self.settle(id);
                    return Progress::Continue;
                }
                let Some(r) = t.env.recipients.get(i) else {
                    self.rcpts_written(idx);
                    return Progress::Continue;
                };
                if !self.can_send() {
                    return Progress::Blocked;
                }
                let cmd = Command::Rcpt {
                    to: &r.path,
                    params: &r.params,
                };
                let start = out.len();
                cmd.encode(out);
                self.rcpt_written(idx);
                self.expect(Expect::Rcpt(id, i), out.len() - start);
                Progress::Continue
            }
            Step::BeforeBody => {
                // Waiting for every RCPT reply costs a round trip; do it only when the
                // outcome decides whether to send at all, or, under LMTP, how BDAT LAST
                // is answered: once per accepted recipient, and not at all with none
                // (RFC 2033 §4.3). Sent with the next message's MAIL and RCPTs, it
                // still costs one flight per message.
                let wait = self.config.abort_on_rejected_recipient
                    || !pipelining
                    || (self.config.lmtp && t.bdat);
                if wait && !t.all_rcpt_replies_in() {
                    return Progress::Blocked;
                }
                if t.failure.is_some() {
                    self.settle(id);
                    return Progress::Continue;
                }
                if !self.can_send() {
                    return Progress::Blocked;
                }
                if t.bdat {
                    // RFC 3030 §2: no DATA; the content goes as BDAT chunks.
                    self.bdat_begins(idx);
                } else {
                    self.write(out, &Command::Data, Expect::Data(id));
                    self.data_written(idx);
                }
                Progress::Continue
            }
            // RFC 5321 §4.1.1.4: the content waits for 354.
            Step::AwaitData => Progress::Blocked,
            Step::EndOnly => {
                // RFC 5321 §4.1.1.4: after 354 only the end of data ends DATA; with no
                // recipient accepted it goes alone, and nothing is delivered.
                let start = out.len();
                DataEncoder::new().finish(out);
                self.content_ended(idx);
                self.expect(Expect::DataEnd(id), out.len() - start);
                Progress::Continue
            }
            Step::Body => {
                // RFC 3030 §2: each BDAT is a command like any other, under the window.
                if t.bdat && !self.can_send() {
                    return Progress::Blocked;
                }
                // RFC 3030 with RFC 2920: a small message goes as one BDAT LAST in the
                // flight of its MAIL and RCPTs.
                let inline = t.bdat
                    && pipelining
                    && t.env
                        .size
                        .is_some_and(|s| s <= self.config.bdat_inline_limit);
                let max_chunk = if inline {
                    self.config.bdat_inline_limit as usize
                } else {
                    self.config.body_chunk
                };
                Progress::Body(Output::SendBody { txn: id, max_chunk })
            }
            Step::Done => Progress::Continue,
        }
    }

    /// Writes the pending setup command: one at a time, each a group of its own (RFC
    /// 2920 §3.1: EHLO and STARTTLS end a group; ours: AUTH too, since its replies
    /// decide what follows).
    pub(super) fn write_setup(&mut self, cmd: SetupCmd, out: &mut Vec<u8>) {
        let name = self.config.ehlo_name.clone();
        match cmd {
            // RFC 2033 §4.1: LMTP says LHLO where SMTP says EHLO.
            SetupCmd::Hello if self.config.lmtp => {
                self.write(out, &Command::Lhlo(&name), Expect::Ehlo)
            }
            SetupCmd::Hello => self.write(out, &Command::Ehlo(&name), Expect::Ehlo),
            SetupCmd::Helo => self.write(out, &Command::Helo(&name), Expect::Helo),
            SetupCmd::StartTls => self.write(out, &Command::StartTls, Expect::StartTls),
            SetupCmd::Auth => {
                let Phase::Setup(Setup { auth: Some(x), .. }) = &mut self.phase else {
                    return;
                };
                let mechanism = x.mechanism;
                let initial = x.sasl.initial_response();
                // RFC 4954 §4: no initial response if it would make the line too long;
                // it then answers the server's empty challenge (`auth_written` keeps it).
                let fits = initial.as_ref().is_none_or(|r| {
                    let encoded = r.expose().len().div_ceil(3) * 4;
                    7 + mechanism.as_str().len() + 1 + encoded <= AUTH_LINE_MAX
                });
                let (sent, deferred) = if fits {
                    (initial, None)
                } else {
                    (None, initial)
                };
                let cmd = Command::Auth {
                    mechanism: &mechanism,
                    initial_response: sent.as_ref().map(|r| r.expose()),
                };
                self.write(out, &cmd, Expect::Auth);
                self.auth_written(deferred);
            }
            SetupCmd::AuthResponse(response) => {
                self.write(out, &Command::AuthResponse(response.expose()), Expect::Auth)
            }
            SetupCmd::AuthCancel => self.write(out, &Command::AuthCancel, Expect::Auth),
        }
    }

    /// Frames one chunk of the content of the newest transaction into `out`: under DATA
    /// dot-stuffed, ending with `.` alone on a line (RFC 5321 §4.1.1.4, §4.5.2); under
    /// BDAT as a chunk, the last one `BDAT n LAST` (RFC 3030 §2).
    pub(super) fn write_body(&mut self, id: TxnId, chunk: &[u8], last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let Some(idx) = self.active.len().checked_sub(1) else {
            return;
        };
        let Some(framing) = self.active[idx].framing.as_mut() else {
            return;
        };
        match framing {
            Framing::Data(enc) => {
                if let Err(e) = enc.encode(chunk, out) {
                    return self.data_aborted(e);
                }
                if last {
                    enc.finish(out);
                    self.content_ended(idx);
                    self.expect(Expect::DataEnd(id), out.len() - start);
                } else {
                    self.content_written();
                }
            }
            Framing::Bdat(enc) => match enc.encode(chunk, last, out) {
                Err(e) => self.chunk_refused(id, e),
                Ok(_) => {
                    if last {
                        self.content_ended(idx);
                    }
                    // A chunk that wrote nothing (a held CR) owes no reply.
                    if out.len() > start {
                        self.expect(Expect::Bdat { txn: id, last }, out.len() - start);
                    }
                }
            },
        }
    }

    /// RFC 6531 §3.7.4.2: non-ASCII text in VRFY only to a server offering SMTPUTF8;
    /// otherwise the command is refused here and the session goes on.
    fn issue_vrfy(&mut self, arg: &crate::command::VrfyArg, out: &mut Vec<u8>) {
        if arg.needs_smtputf8() && !self.caps.smtputf8() {
            return self.events.push_back(Event::CommandRefused {
                stage: crate::error::Stage::Vrfy,
                error: TxnError::NeedsSmtpUtf8,
            });
        }
        self.write(out, &Command::Vrfy(arg), Expect::Vrfy);
    }

    /// Writes `cmd` and records the reply it is owed.
    pub(super) fn write(&mut self, out: &mut Vec<u8>, cmd: &Command<'_>, expect: Expect) {
        let start = out.len();
        cmd.encode(out);
        self.expect(expect, out.len() - start);
    }
}
