//! Putting commands on the wire: what may go next, and its encoding. As many commands
//! as PIPELINING allows (RFC 2920 §3.1: within the window, never past a group's last
//! command), one at a time without it, session setup one command at a time, and content
//! chunk by chunk (RFC 5321 §4.1.1.4, RFC 3030 §2). What a refusal found here does to
//! the session is a transition of `state.rs`.

use alloc::vec::Vec;

use super::pending::Expect;
use super::timers::Timer;
use super::transaction::{Framing, Step};
use super::{Client, Phase, SetupCmd, Work};
use crate::body::{BdatEncoder, DataEncoder};
use crate::command::{BodyType, Command};

/// RFC 4954 §4: AUTH lines may be up to 12288 octets, in both directions.
pub(super) const AUTH_LINE_MAX: usize = 12288;
use crate::error::TxnError;
use crate::output::{Event, Output};

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
            if !self.can_send() || matches!(self.phase, Phase::Quitting) {
                return None;
            }
            match self.work.pop_front()? {
                Work::Txn(t) => {
                    // `txn_index` relies on it: ids increase along `active`.
                    debug_assert!(self.active.back().is_none_or(|b| b.id < t.id));
                    self.active.push_back(t);
                }
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
                let checked = t.mail_params(&self.caps, self.encrypted, self.config.chunking);
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
                if self.rset_owed || open_before {
                    self.write(out, &Command::Rset, Expect::Rset { user: false });
                    self.rset_owed = false;
                    if !pipelining {
                        // RFC 2920 §3: without PIPELINING the MAIL waits for RSET's reply;
                        // this step runs again then (and rechecks the envelope).
                        return Progress::Continue;
                    }
                }
                let t = &mut self.active[idx];
                t.bdat = bdat;
                t.step = Step::Rcpt(0);
                let from = t.env.from.clone();
                self.write(
                    out,
                    &Command::Mail {
                        from: &from,
                        params: &params,
                    },
                    Expect::Mail(id),
                );
                Progress::Continue
            }
            Step::Rcpt(i) => {
                if t.failure.is_some() {
                    self.settle(id);
                    return Progress::Continue;
                }
                let n = t.env.recipients.len();
                if i >= n {
                    self.active[idx].step = Step::BeforeBody;
                    return Progress::Continue;
                }
                if t.too_many {
                    // RFC 5321 §4.5.3.1.10: no RCPT goes out after "too many recipients".
                    self.not_attempted_from(idx, i);
                    return Progress::Continue;
                }
                if !self.can_send() {
                    return Progress::Blocked;
                }
                self.active[idx].step = Step::Rcpt(i + 1);
                let r = self.active[idx].env.recipients[i].clone();
                self.write(
                    out,
                    &Command::Rcpt {
                        to: &r.path,
                        params: &r.params,
                    },
                    Expect::Rcpt(id, i),
                );
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
                    let binary = t.env.body == BodyType::BinaryMime;
                    let t = &mut self.active[idx];
                    t.framing = Some(Framing::Bdat(BdatEncoder::new(binary)));
                    t.step = Step::Body;
                } else {
                    self.active[idx].step = Step::AwaitData;
                    self.write(out, &Command::Data, Expect::Data(id));
                }
                Progress::Continue
            }
            Step::AwaitData => Progress::Blocked,
            Step::EndOnly => {
                let start = out.len();
                DataEncoder::new().finish(out);
                let t = &mut self.active[idx];
                t.step = Step::Done;
                t.ended = true;
                self.expect(Expect::DataEnd(id), out.len() - start);
                Progress::Continue
            }
            Step::Body => {
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
            SetupCmd::Hello if self.config.lmtp => {
                self.write(out, &Command::Lhlo(&name), Expect::Ehlo)
            }
            SetupCmd::Hello => self.write(out, &Command::Ehlo(&name), Expect::Ehlo),
            SetupCmd::Helo => self.write(out, &Command::Helo(&name), Expect::Helo),
            SetupCmd::StartTls => {
                self.starttls_sent = true;
                self.write(out, &Command::StartTls, Expect::StartTls);
            }
            SetupCmd::Auth => {
                let Phase::Setup { auth: Some(x), .. } = &mut self.phase else {
                    return;
                };
                let mechanism = x.mechanism;
                let initial = x.sasl.initial_response();
                // RFC 4954 §4: no initial response if it would make the line too long;
                // it then answers the server's empty challenge, from `deferred`.
                let fits = initial.as_ref().is_none_or(|r| {
                    let encoded = r.expose().len().div_ceil(3) * 4;
                    7 + mechanism.as_str().len() + 1 + encoded <= AUTH_LINE_MAX
                });
                let (sent, deferred) = if fits {
                    (initial, None)
                } else {
                    (None, initial)
                };
                x.deferred = deferred;
                // RFC 4954 §4: the server's challenges may be as long as our lines.
                self.reader.set_max_line(AUTH_LINE_MAX);
                let cmd = Command::Auth {
                    mechanism: &mechanism,
                    initial_response: sent.as_ref().map(|r| r.expose()),
                };
                self.write(out, &cmd, Expect::Auth);
            }
            SetupCmd::AuthResponse(response) => {
                self.write(out, &Command::AuthResponse(response.expose()), Expect::Auth)
            }
            SetupCmd::AuthCancel => {
                if let Phase::Setup { auth: Some(x), .. } = &mut self.phase {
                    x.cancelled = true;
                }
                self.write(out, &Command::AuthCancel, Expect::Auth);
            }
        }
    }

    /// Frames one chunk of the content of the last active transaction into `out`.
    pub(super) fn write_body(
        &mut self,
        id: crate::output::TxnId,
        chunk: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) {
        let now = self.now;
        let block = self.config.timeouts.data_block;
        let start = out.len();
        let Some(t) = self.active.back_mut() else {
            return;
        };
        let Some(framing) = t.framing.as_mut() else {
            return;
        };
        match framing {
            Framing::Data(enc) => {
                if let Err(e) = enc.encode(chunk, out) {
                    return self.data_aborted(e);
                }
                if last {
                    enc.finish(out);
                    t.step = Step::Done;
                    t.ended = true;
                    t.framing = None;
                    self.timers.set(Timer::Body, None);
                    self.expect(Expect::DataEnd(id), out.len() - start);
                } else {
                    self.timers.set(Timer::Body, Some(now + block));
                }
            }
            Framing::Bdat(enc) => match enc.encode(chunk, last, out) {
                Err(e) => self.chunk_refused(id, e),
                Ok(_) => {
                    if last {
                        t.step = Step::Done;
                        t.ended = true;
                        t.framing = None;
                    }
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
}
