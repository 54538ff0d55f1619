//! Model test of the client state machine against a scripted, reactive server.
//!
//! Proptest draws the server's behaviour: its greeting (220, or 421, 450, 554), SMTP or
//! LMTP, what the EHLO (LHLO) reply offers (PIPELINING, CHUNKING, STARTTLS, SIZE), the
//! reply to STARTTLS (220, 454, or a 250 out of step), the TLS policy, whether credentials are configured and whether a rejected recipient
//! aborts the transaction, and for every transaction the class of the reply to MAIL,
//! each RCPT (among them 452/552 "too many recipients" and "mailbox full"), DATA and the
//! end of data (under LMTP, per recipient); where, if anywhere, the
//! server cuts the session short (421 instead of a reply, silence until the client's
//! timer fires, or closing the connection); then how the server's bytes are cut into
//! reads and how far the clock moves between flights.
//!
//! The server is strict, as RFC 5321 lets a server be: it parses what the client writes
//! (commands, dot-stuffed DATA content, BDAT chunks) and answers each command from its
//! script, so a client that writes a command too many, too few or out of order falls out
//! of step. It also checks, and records as a violation that fails the test:
//! - MAIL and RCPT carry what the client was asked to send (the sender, each recipient
//!   in order, `SIZE=` exactly when declared and advertised);
//! - the content received is the message, normalised to CRLF (RFC 5321 §2.3.8);
//! - RSET before the next MAIL after a failed transaction (RFC 5321 §4.1.4; ours:
//!   always), and no MAIL while a transaction is open: a MAIL without the RSET owed gets
//!   503. The one exception is a MAIL pipelined in the same flight as the end of data
//!   that then failed: the client could not have known.
//!
//! Checked on every run: no violation; every command got its reply, nothing is left
//! half written, and (in the model runs) the client read every reply the server sent;
//! nothing is written while the TLS upgrade is pending; no AUTH goes out on a cleartext
//! connection; no panic; the output buffer stays bounded; and the reports (built from
//! the events, per message and, under LMTP, per recipient) say what the server did
//! ([`judge`]), down to the answers callers act on: `all_delivered` and each failure's
//! `is_transient`. Without a cut, a small reference model computes from the script alone
//! the events the client must report, and they must match exactly.
//!
//! A second property runs the same scenarios under any configuration (every numeric
//! field drawn, edge values included): no configuration makes a session hang or loop.
//! Either it ends, or at every `Wait` it has a deadline (bytes out for the server to
//! answer, or content being written) unless nothing at all is left to do. The server's
//! violations and the one-way half of [`judge`] hold there too.

mod body_support;
mod common;

use std::time::Duration;

use proptest::prelude::*;
use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::reply::{Reply, ReplyLimits};
use smtp_proto::{
    Client, Config, Credentials, Envelope, Error, Instant, MessageOutcome, Output, RecipientStatus,
    Report, Stage, Timeouts, TlsMode, TlsPolicy, TxnFailure,
};

/// The server's reply to one RCPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rcpt {
    Ok,
    Transient,
    Permanent,
    /// 452 4.2.2 / 552 5.2.2: about this recipient alone.
    Full452,
    Full552,
    /// 452 4.5.3, 552 5.5.3, or a bare 452: too many recipients (RFC 5321 §4.5.3.1.10).
    TooMany452,
    TooMany552,
    TooManyBare,
}

impl Rcpt {
    fn line(self) -> &'static str {
        match self {
            Rcpt::Ok => "250 ok",
            Rcpt::Transient => "450 4.2.1 no",
            Rcpt::Permanent => "550 5.1.1 no",
            Rcpt::Full452 => "452 4.2.2 mailbox full",
            Rcpt::Full552 => "552 5.2.2 mailbox full",
            Rcpt::TooMany452 => "452 4.5.3 too many recipients",
            Rcpt::TooMany552 => "552 5.5.3 too many recipients",
            Rcpt::TooManyBare => "452 too many recipients",
        }
    }

    /// The reply as the `E:` lines show it (written out here, not derived by the code
    /// under test): the code, the enhanced status code, the text.
    fn shown(self) -> &'static str {
        match self {
            Rcpt::Ok => "250 \"ok\"",
            Rcpt::Transient => "450 4.2.1 \"no\"",
            Rcpt::Permanent => "550 5.1.1 \"no\"",
            Rcpt::Full452 => "452 4.2.2 \"mailbox full\"",
            Rcpt::Full552 => "552 5.2.2 \"mailbox full\"",
            Rcpt::TooMany452 => "452 4.5.3 \"too many recipients\"",
            Rcpt::TooMany552 => "552 5.5.3 \"too many recipients\"",
            Rcpt::TooManyBare => "452 \"too many recipients\"",
        }
    }

    fn too_many(self) -> bool {
        matches!(
            self,
            Rcpt::TooMany452 | Rcpt::TooMany552 | Rcpt::TooManyBare
        )
    }
}

/// The text of the server's other replies: `ok` below 400, `no` from 400.
fn plain_line(code: u16) -> String {
    format!("{code} {}", if code < 400 { "ok" } else { "no" })
}

fn plain_shown(code: u16) -> String {
    format!("{code} \"{}\"", if code < 400 { "ok" } else { "no" })
}

/// One transaction's script: the reply codes the server gives.
#[derive(Clone, Debug)]
struct TxnScript {
    mail: u16,
    rcpts: Vec<Rcpt>,
    /// The reply to DATA when some recipient was accepted: 354, or a refusal.
    data: u16,
    /// When no recipient was accepted, answer DATA with 354 anyway (the client then
    /// sends the end marker alone) instead of 554.
    data_354_when_none: bool,
    end: u16,
    body: Vec<u8>,
    declare_size: bool,
    /// Under LMTP, the accepted recipients (by position) whose final reply is 250
    /// whatever `end` says: finals differ, a failure may come before an acceptance.
    lmtp_ok: u8,
}

impl TxnScript {
    /// The end of data's reply; under LMTP, the `k`-th final reply (RFC 2033 §4.2).
    fn end_code(&self, k: usize) -> u16 {
        if self.lmtp_ok >> (k % 8) & 1 == 1 {
            250
        } else {
            self.end
        }
    }
}

/// How the server cuts the session short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CutKind {
    /// 421 instead of the reply (RFC 5321 §3.8), then nothing more.
    Reply421,
    /// No reply, ever: the client's timer must end the session.
    Silent,
    /// The server closes the connection instead of replying.
    Eof,
}

/// The server's `at`-th reply (counting from 1, the greeting not counted) is cut.
#[derive(Clone, Copy, Debug)]
struct Cut {
    at: usize,
    kind: CutKind,
}

#[derive(Clone, Debug)]
struct Scenario {
    lmtp: bool,
    pipelining: bool,
    chunking: bool,
    starttls: bool,
    /// EHLO offers `SIZE 1000000` (RFC 1870).
    size: bool,
    policy: TlsPolicy,
    credentials: bool,
    abort_on_reject: bool,
    /// The greeting's code: 220, or a refusal (RFC 5321 §3.1, §4.3.1: 554, and any 4yz,
    /// 421 among them, as a transient one).
    greeting: u16,
    /// The reply to STARTTLS: 220, 454 (refused, RFC 3207 §4), or a 250 that is no
    /// answer to it.
    starttls_reply: u16,
    body_chunk: usize,
    txns: Vec<TxnScript>,
    cut: Option<Cut>,
    /// Where the server's flights are cut into reads (fractions, reused cyclically).
    cuts: Vec<u16>,
    /// Seconds the clock moves before each flight (always under the shortest timer).
    waits: Vec<u8>,
}

fn txn_script() -> impl Strategy<Value = TxnScript> {
    let reply = |ok: u16| prop_oneof![6 => Just(ok), 1 => Just(451u16), 1 => Just(554u16)];
    (
        reply(250),
        prop::collection::vec(
            prop_oneof![
                8 => Just(Rcpt::Ok),
                2 => Just(Rcpt::Transient),
                2 => Just(Rcpt::Permanent),
                1 => Just(Rcpt::Full452),
                1 => Just(Rcpt::Full552),
                1 => Just(Rcpt::TooMany452),
                1 => Just(Rcpt::TooMany552),
                1 => Just(Rcpt::TooManyBare),
            ],
            1..5,
        ),
        reply(354),
        any::<bool>(),
        reply(250),
        prop::collection::vec(
            prop_oneof![Just(b'a'), Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'z')],
            0..40,
        ),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(
            |(mail, rcpts, data, data_354_when_none, end, body, declare_size, lmtp_ok)| TxnScript {
                mail,
                rcpts,
                data,
                data_354_when_none,
                end,
                body,
                declare_size,
                lmtp_ok,
            },
        )
}

fn cut() -> impl Strategy<Value = Option<Cut>> {
    let kind = prop_oneof![
        Just(CutKind::Reply421),
        Just(CutKind::Silent),
        Just(CutKind::Eof)
    ];
    prop::option::weighted(
        0.3,
        (1usize..30, kind).prop_map(|(at, kind)| Cut { at, kind }),
    )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        prop_oneof![
            Just(TlsPolicy::Required),
            Just(TlsPolicy::Opportunistic),
            Just(TlsPolicy::Disabled)
        ],
        (
            any::<bool>(),
            any::<bool>(),
            prop_oneof![12 => Just(220u16), 1 => Just(421u16), 1 => Just(450u16), 1 => Just(554u16)],
            prop_oneof![8 => Just(220u16), 1 => Just(454u16), 1 => Just(250u16)],
        ),
        3usize..24,
        prop::collection::vec(txn_script(), 1..4),
        cut(),
        prop::collection::vec(any::<u16>(), 1..8),
        prop::collection::vec(0u8..100, 1..8),
    )
        .prop_map(
            |(
                (lmtp, pipelining, chunking, starttls, size),
                policy,
                (credentials, abort_on_reject, greeting, starttls_reply),
                body_chunk,
                txns,
                cut,
                cuts,
                waits,
            )| {
                Scenario {
                    lmtp,
                    pipelining,
                    chunking,
                    starttls,
                    size,
                    policy,
                    credentials,
                    abort_on_reject,
                    greeting,
                    starttls_reply,
                    body_chunk,
                    txns,
                    cut,
                    cuts,
                    waits,
                }
            },
        )
}

// ----- the reference model -----

/// The events the client must report when the server does not cut the session, in the
/// harness's text form.
fn expected_events(s: &Scenario) -> Vec<String> {
    if s.greeting != 220 {
        // The session never opens: nothing was sent (RFC 5321 §3.1).
        let mut ev: Vec<String> = (0..s.txns.len())
            .map(|i| format!("txn-failed txn={i} session-closed"))
            .collect();
        ev.push(format!(
            "closed error=service-unavailable {}",
            plain_shown(s.greeting)
        ));
        return ev;
    }
    let mut ev = vec!["greeting 220 \"mx.example.org\"".to_string()];
    let caps = |tls_done: bool| {
        let mut c = String::from("capabilities domain=mx.example.org");
        if s.pipelining {
            c.push_str(" PIPELINING");
        }
        if s.starttls && !tls_done {
            c.push_str(" STARTTLS");
        }
        if s.size {
            c.push_str(" SIZE=1000000");
        }
        if s.chunking {
            c.push_str(" CHUNKING");
        }
        c.push_str(" AUTH=PLAIN");
        c
    };
    ev.push(caps(false));
    let upgrade = s.starttls && s.policy != TlsPolicy::Disabled;
    let session_error: Option<String> = if upgrade && s.starttls_reply == 220 {
        ev.push("starttls".into());
        ev.push("tls-established".into());
        ev.push(caps(true));
        None
    } else if upgrade && s.starttls_reply != 454 {
        // Only 220 starts TLS (RFC 3207 §4); any other success is out of step.
        Some(format!(
            "unexpected-code STARTTLS {}",
            plain_shown(s.starttls_reply)
        ))
    } else if upgrade && s.policy == TlsPolicy::Required {
        Some(format!("tls-required refused {}", plain_shown(454)))
    } else if s.policy == TlsPolicy::Required {
        Some("tls-required not-offered".into())
    } else if s.credentials {
        // RFC 3207 §4: without TLS the session may go on, the credentials withheld.
        Some("credentials-withheld".into())
    } else {
        None
    };
    if let Some(err) = session_error {
        for i in 0..s.txns.len() {
            ev.push(format!("txn-failed txn={i} session-closed"));
        }
        ev.push(format!("closed error={err}"));
        return ev;
    }
    if s.credentials {
        ev.push("authenticated PLAIN".into());
    }
    ev.push("ready".into());
    for (i, t) in s.txns.iter().enumerate() {
        if t.mail != 250 {
            ev.push(format!(
                "txn-failed txn={i} rejected MAIL {}",
                plain_shown(t.mail)
            ));
            continue;
        }
        // RFC 5321 §4.5.3.1.10: after "too many recipients" the RCPTs not yet sent are
        // not attempted; with PIPELINING (and this window) every RCPT is already out and
        // gets its own reply. With abort-on-reject, the first rejection ends the
        // transaction: without PIPELINING no later RCPT goes out.
        let mut accepted = Vec::new();
        let mut too_many = false;
        let mut rejected = false;
        for (j, &r) in t.rcpts.iter().enumerate() {
            if s.abort_on_reject && rejected && !s.pipelining {
                break;
            }
            if too_many && !s.pipelining {
                ev.push(format!("rcpt-not-attempted txn={i} rcpt={j}"));
                continue;
            }
            too_many |= r.too_many();
            if r == Rcpt::Ok {
                accepted.push(j);
                ev.push(format!("rcpt-accepted txn={i} rcpt={j} {}", r.shown()));
            } else {
                rejected = true;
                ev.push(format!("rcpt-rejected txn={i} rcpt={j} {}", r.shown()));
            }
        }
        if s.abort_on_reject && rejected {
            ev.push(format!("txn-failed txn={i} recipient-rejected"));
            continue;
        }
        if accepted.is_empty() {
            ev.push(format!("txn-failed txn={i} no-recipients"));
            continue;
        }
        if !s.chunking && t.data != 354 {
            ev.push(format!(
                "txn-failed txn={i} rejected DATA {}",
                plain_shown(t.data)
            ));
            continue;
        }
        // RFC 2033 §4.2, §4.3: under LMTP one final reply per accepted recipient.
        let finals: Vec<(String, u16)> = if s.lmtp {
            accepted
                .iter()
                .enumerate()
                .map(|(k, j)| (format!(" rcpt={j}"), t.end_code(k)))
                .collect()
        } else {
            vec![(String::new(), t.end)]
        };
        for (rcpt, code) in finals {
            if code == 250 {
                ev.push(format!(
                    "message-accepted txn={i}{rcpt} {}",
                    plain_shown(250)
                ));
            } else {
                ev.push(format!(
                    "txn-failed txn={i}{rcpt} rejected end of data {}",
                    plain_shown(code)
                ));
            }
        }
    }
    ev.push("closed".into());
    ev
}

// ----- the scripted server -----

enum Read {
    Command,
    Data,
    Bdat { left: usize, last: bool },
}

/// What the server did in one transaction (one MAIL): every reply as the line it sent.
#[derive(Clone, Debug, Default)]
struct TxnRecord {
    mail: Option<String>,
    /// Per recipient index, the reply to its RCPT (only while MAIL stood accepted).
    rcpts: Vec<Option<String>>,
    data: Option<String>,
    /// A BDAT chunk before the last, refused.
    chunk_refused: Option<String>,
    /// The whole content, once its end (the DATA marker, BDAT LAST) was received.
    content: Option<Vec<u8>>,
    bdat: Vec<u8>,
    /// The end of the content reached the server, whatever it made of it.
    sent_whole: bool,
    /// The replies to the end of the content (one, or under LMTP one per recipient).
    ends: Vec<String>,
}

/// Where the server stands between transactions (RFC 5321 §4.1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxnState {
    /// No transaction: MAIL is welcome.
    Clean,
    /// MAIL accepted, the content not yet answered.
    Open,
    /// The last transaction failed before its end: RSET first (ours: always).
    RsetOwed,
    /// The end of the content was refused in flight `flight`, the refusal ending at
    /// `end` in the server's bytes: RSET first, unless the client wrote the MAIL before
    /// it had read the refusal (pipelined behind the content, RFC 2920 §3.1).
    EndFailed { flight: usize, end: usize },
}

struct Server<'a> {
    s: &'a Scenario,
    inbox: Vec<u8>,
    read: Read,
    /// Index of the transaction whose MAIL came last.
    txn: Option<usize>,
    rcpt: usize,
    accepted: usize,
    tls_done: bool,
    commands: usize,
    replies: usize,
    quit: bool,
    records: Vec<TxnRecord>,
    state: TxnState,
    /// Which `take` this is.
    flight: usize,
    violations: Vec<String>,
    /// The cut happened: the server answers nothing more.
    gone: bool,
    /// The cut was [`CutKind::Eof`].
    eof: bool,
    /// The stage (as errors name it) of what the server is answering; of the cut.
    stage: &'static str,
    cut_stage: &'static str,

    data: Vec<u8>,
    /// See [`Server::take`].
    at: isize,
    read_at: Vec<usize>,
    cmd_read: usize,
}

impl<'a> Server<'a> {
    fn new(s: &'a Scenario) -> Self {
        Server {
            s,
            inbox: Vec::new(),
            read: Read::Command,
            txn: None,
            rcpt: 0,
            accepted: 0,
            tls_done: false,
            commands: 0,
            replies: 0,
            quit: false,
            records: Vec::new(),
            state: TxnState::Clean,
            flight: 0,
            violations: Vec::new(),
            gone: false,
            eof: false,
            stage: "",
            cut_stage: "",
            data: Vec::new(),
            at: 0,
            read_at: Vec::new(),
            cmd_read: 0,
        }
    }

    fn script(&self) -> &'a TxnScript {
        &self.s.txns[self.txn.expect("a transaction command before MAIL")]
    }

    fn record(&mut self) -> &mut TxnRecord {
        let i = self.txn.expect("a transaction command before MAIL");
        &mut self.records[i]
    }

    fn mail_ok(&self) -> bool {
        self.txn
            .is_some_and(|i| self.records[i].mail.as_deref() == Some("250 ok"))
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    /// Sends one reply line, or the cut in its place; returns the line sent, if any.
    fn send(&mut self, out: &mut Vec<u8>, line: &str) -> Option<String> {
        if self.gone {
            return None;
        }
        self.replies += 1;
        let line = match self.s.cut {
            Some(cut) if cut.at == self.replies => {
                self.gone = true;
                self.cut_stage = self.stage;
                match cut.kind {
                    CutKind::Reply421 => "421 4.3.2 closing",
                    CutKind::Silent => return None,
                    CutKind::Eof => {
                        self.eof = true;
                        return None;
                    }
                }
            }
            _ => line,
        };
        out.extend_from_slice(format!("{line}\r\n").as_bytes());
        Some(line.to_string())
    }

    /// The reply to the end of the content (DATA marker or BDAT LAST). Under LMTP one
    /// per accepted recipient, and none to a BDAT LAST with no recipient accepted
    /// (RFC 2033 §4.2, §4.3): a client that counts wrong falls out of step.
    fn end_reply(&mut self, out: &mut Vec<u8>, bdat: bool) {
        let t = self.txn.map(|i| &self.s.txns[i]);
        let (code, n): (&dyn Fn(usize) -> u16, usize) = if !self.mail_ok() {
            (&|_| 503, 1)
        } else if self.accepted == 0 {
            (&|_| 554, usize::from(!(self.s.lmtp && bdat)))
        } else if self.s.lmtp {
            (&|k| t.unwrap().end_code(k), self.accepted)
        } else {
            (&|_| t.unwrap().end, 1)
        };
        // `commands` counts the replies owed: one per command, but n here.
        self.commands = self.commands + n - 1;
        let mut ok = true;
        for k in 0..n {
            let sent = self.send(out, &plain_line(code(k)));
            ok &= sent.as_deref() == Some("250 ok");
            if let (Some(line), true) = (sent, self.txn.is_some()) {
                self.record().ends.push(line);
            }
        }
        self.state = if ok && n > 0 {
            TxnState::Clean
        } else {
            TxnState::EndFailed {
                flight: self.flight,
                end: out.len(),
            }
        };
    }

    /// After a silent cut or an EOF, what the client sends still reaches the server,
    /// which may act on it without answering: a message whose MAIL was not refused is
    /// received, as far as the client can tell. After a 421 nothing more is taken.
    fn ghost_takes(&self) -> bool {
        self.gone
            && self.s.cut.is_some_and(|c| c.kind != CutKind::Reply421)
            && self
                .txn
                .is_some_and(|i| matches!(self.records[i].mail.as_deref(), None | Some("250 ok")))
    }

    /// The content of the transaction came to its end: it must be the message.
    fn content_received(&mut self, content: Vec<u8>, framing: &str) {
        if self.txn.is_some() {
            self.record().sent_whole = true;
        }
        if self.gone {
            if self.ghost_takes() {
                self.record().content = Some(content);
            }
            return;
        }
        // Without a recipient accepted, pipelined BDAT chunks carry the message to a
        // server that refuses it; after a 354 only the end marker may follow.
        if !self.mail_ok() || (self.accepted == 0 && framing == "BDAT") {
            return;
        }
        let i = self.txn.unwrap();
        let body = &self.s.txns[i].body;
        // RFC 5321 §2.3.8: lines end with CRLF; DATA content ends with a line end.
        let mut want = body_support::normalise(body);
        if framing == "DATA" && !want.is_empty() && !want.ends_with(b"\r\n") {
            want.extend_from_slice(b"\r\n");
        }
        if self.accepted == 0 {
            want.clear();
        }
        if content != want {
            self.violation(format!(
                "txn {i}: {framing} content {:?}, the message is {:?}",
                String::from_utf8_lossy(&content),
                String::from_utf8_lossy(&want)
            ));
        }
        if self.accepted > 0 {
            self.record().content = Some(content);
        }
    }

    /// Consumes what the client wrote; returns the replies, and whether STARTTLS got 220.
    /// `read[i]`: how many bytes of the server's previous flight the client had read
    /// when it wrote `bytes[i]`.
    fn take(&mut self, bytes: &[u8], read: &[usize]) -> (Vec<u8>, bool) {
        assert_eq!(bytes.len(), read.len());
        self.flight += 1;
        // Where the inbox's first byte is in `bytes` (negative: left from before).
        self.at = -(self.inbox.len() as isize);
        self.read_at = read.to_vec();
        self.inbox.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut in_flight = 0;
        // After the cut the server still reads what the client sends (and answers
        // nothing): what reached it decides whether a message is lost or maybe delivered.
        loop {
            match self.read {
                Read::Command => {
                    let Some(end) = self.inbox.windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line = String::from_utf8(self.inbox[..end].to_vec()).unwrap();
                    // How much of the server's last flight the client had read when it
                    // wrote this command.
                    self.cmd_read = usize::try_from(self.at)
                        .map_or(0, |at| self.read_at.get(at).copied().unwrap_or(0));
                    self.inbox.drain(..end + 2);
                    self.at += end as isize + 2;
                    self.commands += 1;
                    in_flight += 1;
                    let verb = line.split(' ').next().unwrap().to_ascii_uppercase();
                    // RFC 2920 §3: without PIPELINING one command per flight; with it,
                    // nothing after a command that ends a group.
                    assert!(
                        self.s.pipelining || in_flight == 1,
                        "{line:?} pipelined to a server without PIPELINING"
                    );
                    if ["EHLO", "LHLO", "DATA", "NOOP", "QUIT", "STARTTLS", "AUTH"]
                        .contains(&verb.as_str())
                    {
                        let rest = &self.inbox;
                        assert!(
                            rest.is_empty(),
                            "{:?} written after {line:?}",
                            String::from_utf8_lossy(rest)
                        );
                    }
                    let hello = if self.s.lmtp { "LHLO" } else { "EHLO" };
                    self.stage = match verb.as_str() {
                        "LHLO" | "EHLO" => "EHLO",
                        "BDAT" => "data block",
                        "STARTTLS" => "STARTTLS",
                        "AUTH" => "AUTH",
                        "MAIL" => "MAIL",
                        "RCPT" => "RCPT",
                        "DATA" => "DATA",
                        "RSET" => "RSET",
                        "NOOP" => "NOOP",
                        _ => "QUIT",
                    };
                    match verb.as_str() {
                        v if v == hello => {
                            let mut ehlo = String::from("250-mx.example.org");
                            if self.s.pipelining {
                                ehlo.push_str("\r\n250-PIPELINING");
                            }
                            if self.s.starttls && !self.tls_done {
                                ehlo.push_str("\r\n250-STARTTLS");
                            }
                            if self.s.size {
                                ehlo.push_str("\r\n250-SIZE 1000000");
                            }
                            if self.s.chunking {
                                ehlo.push_str("\r\n250-CHUNKING");
                            }
                            ehlo.push_str("\r\n250 AUTH PLAIN");
                            self.send(&mut out, &ehlo);
                        }
                        "STARTTLS" => {
                            assert!(self.inbox.is_empty(), "bytes pipelined after STARTTLS");
                            let reply = plain_line(self.s.starttls_reply);
                            if self.send(&mut out, &reply).as_deref() == Some("220 ok") {
                                self.tls_done = true;
                                return (out, true);
                            }
                        }
                        "AUTH" => {
                            assert!(self.tls_done, "AUTH on a cleartext connection");
                            self.send(&mut out, "235 ok");
                        }
                        "MAIL" => self.mail(&line, &mut out),
                        "RCPT" => {
                            if self.mail_ok() && self.rcpt >= self.script().rcpts.len() {
                                self.violation(format!("{line:?}: one RCPT too many"));
                                self.send(&mut out, "503 5.5.1 no");
                            } else if self.mail_ok() {
                                let want = format!("RCPT TO:<r{}@example.org>", self.rcpt);
                                if line != want {
                                    self.violation(format!("{line:?}, expected {want:?}"));
                                }
                                let r = self.script().rcpts[self.rcpt];
                                let sent = self.send(&mut out, r.line());
                                self.accepted += usize::from(sent.as_deref() == Some("250 ok"));
                                let j = self.rcpt;
                                self.record().rcpts[j] = sent;
                            } else {
                                self.send(&mut out, "503 5.5.1 no");
                            }
                            self.rcpt += 1;
                        }
                        "DATA" => {
                            let t = self.script();
                            let code = if !self.mail_ok() {
                                503
                            } else if self.accepted == 0 {
                                if t.data_354_when_none {
                                    354
                                } else {
                                    554
                                }
                            } else {
                                t.data
                            };
                            let sent = self.send(&mut out, &plain_line(code));
                            if sent.as_deref() == Some("354 ok") {
                                self.read = Read::Data;
                                self.data.clear();
                            } else {
                                self.state = TxnState::RsetOwed;
                            }
                            if self.mail_ok() {
                                self.record().data = sent;
                            }
                        }
                        "BDAT" => {
                            let mut parts = line.split(' ').skip(1);
                            let left = parts.next().unwrap().parse().unwrap();
                            let last = parts.next() == Some("LAST");
                            self.read = Read::Bdat { left, last };
                        }
                        "RSET" => {
                            self.state = TxnState::Clean;
                            self.send(&mut out, "250 ok");
                        }
                        "NOOP" => {
                            self.send(&mut out, "250 ok");
                        }
                        "QUIT" => {
                            self.quit = true;
                            self.send(&mut out, "221 ok");
                        }
                        other => panic!("unexpected command {other:?}"),
                    }
                }
                Read::Data => {
                    // RFC 5321 §4.5.2: the content ends at CRLF.CRLF (or starts with .CRLF).
                    let end = if self.inbox.starts_with(b".\r\n") {
                        Some(3)
                    } else {
                        self.inbox
                            .windows(5)
                            .position(|w| w == b"\r\n.\r\n")
                            .map(|p| p + 5)
                    };
                    let Some(end) = end else { break };
                    let wire: Vec<u8> = self.inbox.drain(..end).collect();
                    self.at += end as isize;
                    let (content, used) =
                        body_support::unstuff(&wire).expect("the marker was found");
                    assert_eq!(used, wire.len());
                    self.stage = "end of data";
                    self.content_received(content, "DATA");
                    self.read = Read::Command;
                    // The end-of-data marker is answered like a command.
                    self.commands += 1;
                    self.end_reply(&mut out, false);
                }
                Read::Bdat { left, last } => {
                    if self.inbox.len() < left {
                        break;
                    }
                    let chunk: Vec<u8> = self.inbox.drain(..left).collect();
                    self.at += left as isize;
                    self.read = Read::Command;
                    let take = self.mail_ok() || self.ghost_takes();
                    if take {
                        self.record().bdat.extend_from_slice(&chunk);
                    }
                    if last {
                        self.stage = "end of data";
                        if self.txn.is_some() {
                            self.record().sent_whole = true;
                        }
                        if take {
                            let content = std::mem::take(&mut self.record().bdat);
                            self.content_received(content, "BDAT");
                        }
                        self.end_reply(&mut out, true);
                    } else {
                        let code = if self.mail_ok() { 250 } else { 503 };
                        let sent = self.send(&mut out, &plain_line(code));
                        if sent.as_deref() != Some("250 ok") {
                            self.state = TxnState::RsetOwed;
                            if self.mail_ok() {
                                self.record().chunk_refused = sent;
                            }
                        }
                    }
                }
            }
        }
        (out, false)
    }

    /// MAIL: the sender and `SIZE=` as asked; no transaction open and no RSET owed.
    fn mail(&mut self, line: &str, out: &mut Vec<u8>) {
        let next = self.txn.map_or(0, |t| t + 1);
        assert!(
            next < self.s.txns.len(),
            "more MAIL commands than transactions"
        );
        let t = &self.s.txns[next];
        let mut want = String::from("MAIL FROM:<a@example.com>");
        // RFC 1870 §6: SIZE= only to a server that advertised SIZE.
        if t.declare_size && self.s.size {
            want.push_str(&format!(" SIZE={}", t.body.len()));
        }
        if line != want {
            self.violation(format!("txn {next}: {line:?}, expected {want:?}"));
        }
        let welcome = match self.state {
            TxnState::Clean => true,
            // Written before the refusal existed, or before the client had read it.
            TxnState::EndFailed { flight, end } => {
                flight == self.flight || (flight + 1 == self.flight && self.cmd_read < end)
            }
            TxnState::Open | TxnState::RsetOwed => false,
        };
        if !welcome && !self.gone {
            self.violation(format!(
                "txn {next}: MAIL without the RSET owed ({:?}; RFC 5321 §4.1.4)",
                self.state
            ));
            self.send(out, "503 5.5.1 RSET first");
            return;
        }
        self.txn = Some(next);
        self.rcpt = 0;
        self.accepted = 0;
        self.records.push(TxnRecord {
            rcpts: vec![None; t.rcpts.len()],
            ..TxnRecord::default()
        });
        let sent = self.send(out, &plain_line(t.mail));
        self.state = if sent.as_deref() == Some("250 ok") {
            TxnState::Open
        } else {
            TxnState::RsetOwed
        };
        self.record().mail = sent;
    }
}

// ----- judging the reports -----

/// A one-line reply as the server wrote it.
fn line_of(r: &Reply) -> String {
    format!("{} {}", r.code(), String::from_utf8_lossy(r.first_line()))
}

fn positive(line: &str) -> bool {
    line.starts_with('2')
}

/// Whether a failure of the whole transaction is what the server did.
fn failure_ok(f: &TxnFailure, rec: &TxnRecord, abort: bool) -> Result<(), String> {
    let rcpt_said = |pos: bool| rec.rcpts.iter().flatten().any(|l| positive(l) == pos);
    // Whether to send again later: a 4yz refusal (RFC 5321 §4.2.1), or a session that
    // ended before the message got through; never a 5yz or a refused envelope.
    let transient = match f {
        TxnFailure::Rejected { reply, .. } => line_of(reply).starts_with('4'),
        TxnFailure::SessionClosed => true,
        _ => false,
    };
    if f.is_transient() != transient {
        return Err(format!("{f:?}: is_transient() is {}", f.is_transient()));
    }
    match f {
        TxnFailure::Rejected { stage, reply } => {
            let line = line_of(reply);
            let said = match stage {
                Stage::Mail => rec.mail.as_ref(),
                Stage::Data => rec.data.as_ref(),
                Stage::DataBlock => rec.chunk_refused.as_ref(),
                Stage::DataEnd => rec.ends.first(),
                _ => None,
            };
            if positive(&line) || said != Some(&line) {
                return Err(format!("{stage} said {said:?}"));
            }
        }
        TxnFailure::NoRecipients if rcpt_said(true) => {
            return Err("no recipients, yet one was accepted".into())
        }
        TxnFailure::RecipientRejected if !abort || !rcpt_said(false) => {
            return Err("recipient-rejected without abort-on-reject and a rejection".into())
        }
        // "Never delivered": the server must not have the whole message.
        TxnFailure::SessionClosed | TxnFailure::RecipientRejected if rec.content.is_some() => {
            return Err("the server received the whole message".into())
        }
        TxnFailure::NoRecipients | TxnFailure::RecipientRejected | TxnFailure::SessionClosed => {}
        other => return Err(format!("unexpected failure {other:?}")),
    }
    Ok(())
}

/// One transaction's report against the server's record of it. `strict`: the client
/// read every reply the server sent, so each reply to an RCPT must be reported too.
fn judge_txn(
    report: &Report,
    rec: &TxnRecord,
    lmtp: bool,
    abort: bool,
    strict: bool,
) -> Vec<String> {
    let mut bad = Vec::new();
    if !report.is_complete() {
        bad.push("incomplete".to_string());
    }
    // The caller's one question, "did it go to everyone?": yes exactly when the server
    // accepted every recipient and the message for each (the model runs read it all).
    let everyone = rec.rcpts.iter().all(|r| r.as_deref().is_some_and(positive))
        && !rec.ends.is_empty()
        && rec.ends.iter().all(|l| positive(l))
        && (!lmtp || rec.ends.len() == rec.rcpts.len());
    if strict && report.all_delivered() != everyone {
        bad.push(format!(
            "all_delivered() is {}, the server delivered to everyone: {everyone}",
            report.all_delivered()
        ));
    }
    for (j, status) in report.recipients.iter().enumerate() {
        let said = rec.rcpts.get(j).cloned().flatten();
        match status {
            RecipientStatus::Accepted(r) | RecipientStatus::Rejected(r) => {
                let line = line_of(r);
                let accepted = matches!(status, RecipientStatus::Accepted(_));
                if said.as_deref() != Some(line.as_str()) || positive(&line) != accepted {
                    bad.push(format!(
                        "recipient {j}: {status:?}, the server said {said:?}"
                    ));
                }
            }
            RecipientStatus::NotAttempted => {
                if strict && said.as_ref().is_some_and(|l| !l.starts_with("421")) {
                    bad.push(format!(
                        "recipient {j}: not attempted, the server said {said:?}"
                    ));
                }
            }
        }
    }
    let accepted: Vec<usize> = (0..report.recipients.len())
        .filter(|&j| matches!(report.recipients[j], RecipientStatus::Accepted(_)))
        .collect();
    let one = |outcome: &MessageOutcome, end: Option<&String>, k: usize| -> Result<(), String> {
        match outcome {
            MessageOutcome::Accepted(r) => {
                let line = line_of(r);
                if !positive(&line) || end != Some(&line) || rec.content.is_none() {
                    return Err(format!("accepted with {line:?}, the server said {end:?}"));
                }
            }
            MessageOutcome::Failed(TxnFailure::Rejected {
                stage: Stage::DataEnd,
                reply,
            }) if lmtp => {
                let line = line_of(reply);
                // RFC 5321 §3.8: a 421 among the final replies refuses the message for
                // every recipient whose reply was still owed (state.rs, `on_421`).
                let shut = rec.ends.last().filter(|l| l.starts_with("421"));
                let refused = end == Some(&line) || (k >= rec.ends.len() && shut == Some(&line));
                if positive(&line) || !refused {
                    return Err(format!("refused with {line:?}, the server said {end:?}"));
                }
            }
            MessageOutcome::Failed(f) => failure_ok(f, rec, abort)?,
            // RFC 5321 §4.5.3.2.6: the whole message went out, its reply never came (or,
            // timers firing, came too late).
            // Timers firing, the client may not have read even a refusal of MAIL.
            MessageOutcome::Unknown => {
                let maybe = if strict {
                    rec.content.is_some() && rec.ends.len() <= k
                } else {
                    rec.sent_whole
                };
                if !maybe {
                    return Err(format!("unknown, the server said {end:?}"));
                }
            }
        }
        Ok(())
    };
    if lmtp && !accepted.is_empty() {
        // RFC 2033 §4.2: the k-th final reply is the k-th accepted recipient's.
        let mut first_failure = None;
        let mut last = None;
        for (k, &j) in accepted.iter().enumerate() {
            match &report.deliveries[j] {
                None => bad.push(format!("recipient {j}: accepted, without an outcome")),
                Some(d) => {
                    if let Err(e) = one(d, rec.ends.get(k), k) {
                        bad.push(format!("recipient {j}: {e}"));
                    }
                    if !d.is_accepted() && first_failure.is_none() {
                        first_failure = Some(d.clone());
                    }
                    last = Some(d.clone());
                }
            }
        }
        // The message's outcome: the first failure, else the last acceptance.
        let want = first_failure.or(last);
        if report.outcome != want {
            bad.push(format!("outcome {:?}, expected {want:?}", report.outcome));
        }
    } else if let Some(outcome) = &report.outcome {
        if let Err(e) = one(outcome, rec.ends.first(), 0) {
            bad.push(e);
        }
    }
    bad
}

/// Every report against what the server did (see [`judge_txn`]).
fn judge(server: &Server, reports: &[Report], lmtp: bool, abort: bool, strict: bool) {
    let none = TxnRecord::default();
    let mut bad = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        let rec = server.records.get(i).unwrap_or(&none);
        for e in judge_txn(report, rec, lmtp, abort, strict) {
            bad.push(format!(
                "txn {i}: {e}\n  report: {report:?}\n  server: {rec:?}"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "reports differ from what the server did:\n{}",
        bad.join("\n")
    );
}

// ----- running it -----

struct Run {
    client: Client,
    now: Instant,
    out: Vec<u8>,
    events: Vec<String>,
    reports: Vec<Report>,
    offsets: Vec<usize>,
    tls_pending: Option<smtp_proto::TlsUpgrade>,
    closed: bool,
    max_out: usize,
}

impl Run {
    /// Polls until Wait or Closed; checks that cleartext output never carries AUTH, and
    /// that the client never stalls: polling ends, and a `Wait` without a deadline comes
    /// only when nothing is left to do (nothing queued, nothing owed).
    fn drain(&mut self, s: &Scenario) {
        for polls in 0.. {
            assert!(polls < 100_000, "polled {polls} times without a Wait");
            let before = self.out.len();
            let o = self.client.poll_output(&mut self.out);
            if !self.client.is_encrypted() {
                let new = &self.out[before..];
                assert!(
                    !new.windows(5).any(|w| w == b"AUTH "),
                    "AUTH written on a cleartext connection"
                );
            }
            self.max_out = self.max_out.max(self.out.len());
            if let Some(text) = common::describe(&self.client, &o) {
                if !(self.closed && text == "closed") {
                    self.events.push(text);
                }
            }
            match o {
                Output::SendBody { txn, max_chunk } => {
                    let i = txn.get() as usize;
                    let body = &s.txns[i].body;
                    let off = self.offsets[i];
                    let end = (off + max_chunk).min(body.len());
                    self.client
                        .send_body(
                            self.now,
                            txn,
                            &body[off..end],
                            end == body.len(),
                            &mut self.out,
                        )
                        .expect("send_body");
                    self.offsets[i] = end;
                }
                Output::StartTls(up) => {
                    self.tls_pending = Some(up);
                    return;
                }
                Output::Wait { deadline } => {
                    assert!(
                        deadline.is_some() || self.client.is_idle(),
                        "a Wait without a deadline while work remains: {:?}",
                        self.client
                    );
                    return;
                }
                Output::Closed(_) => {
                    self.closed = true;
                    return;
                }
                Output::Event(e) => {
                    for r in &mut self.reports {
                        r.apply(&e);
                    }
                }
            }
        }
    }
}

/// What the run checks beyond progress.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The reference model's run: the clock stays below every timer, so no timer may
    /// fire but after the server's cut, and the server answering nothing is a stall.
    Model,
    /// Any configuration: timers may fire, and when the server has nothing to answer the
    /// clock jumps to the client's deadline, which must end the session.
    Progress,
}

fn model_config(s: &Scenario) -> Config {
    let mut config = Config::new(smtp_proto::command::EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(s.policy);
    config.lmtp = s.lmtp;
    config.body_chunk = s.body_chunk;
    config.abort_on_rejected_recipient = s.abort_on_reject;
    if s.credentials {
        config.credentials = Some(Credentials::password("user", "secret").unwrap());
    }
    // A different timeout per stage, each longer than any wait between flights: a
    // silent server shows which one the client armed (RFC 5321 §4.5.3.2).
    config.timeouts = MODEL_TIMEOUTS;
    config
}

const MODEL_TIMEOUTS: Timeouts = {
    let mut timeouts = Timeouts::all(Duration::from_secs(300));
    timeouts.greeting = Duration::from_secs(301);
    timeouts.mail = Duration::from_secs(302);
    timeouts.rcpt = Duration::from_secs(303);
    timeouts.data_init = Duration::from_secs(304);
    timeouts.data_block = Duration::from_secs(305);
    timeouts.data_end = Duration::from_secs(306);
    timeouts.tls_handshake = Duration::from_secs(307);
    timeouts.command = Duration::from_secs(308);
    timeouts
};

/// The timeout the client must arm for a reply at `stage` (as errors name it).
fn timeout_for(stage: &str) -> Option<Duration> {
    let t = MODEL_TIMEOUTS;
    Some(match stage {
        "MAIL" => t.mail,
        "RCPT" => t.rcpt,
        "DATA" => t.data_init,
        "data block" => t.data_block,
        "end of data" => t.data_end,
        "EHLO" | "STARTTLS" | "AUTH" | "RSET" | "NOOP" | "QUIT" => t.command,
        _ => return None,
    })
}

/// How a session went.
struct Ran {
    events: Vec<String>,
    /// The server cut the session (see [`Cut`]).
    cut: bool,
    /// The stage of the command the cut fell on.
    cut_stage: &'static str,
    /// ... and QUIT reached it: the client had asked to end the session, and a 421 or
    /// EOF then ends it without an error (RFC 5321 §3.8).
    quit_sent: bool,
}

fn run(s: &Scenario) -> Ran {
    drive(s, model_config(s), Mode::Model)
}

/// Runs the scenario's session with `config` to its end and checks it (see the module
/// documentation).
fn drive(s: &Scenario, config: Config, mode: Mode) -> Ran {
    let lmtp = config.lmtp;
    let abort = config.abort_on_rejected_recipient;
    let mut r = Run {
        client: Client::new(config, Instant::ZERO),
        now: Instant::ZERO,
        out: Vec::new(),
        events: Vec::new(),
        reports: Vec::new(),
        offsets: vec![0; s.txns.len()],
        tls_pending: None,
        closed: false,
        max_out: 0,
    };
    for t in &s.txns {
        let mut env = Envelope::new(
            ReversePath::new("a@example.com").unwrap(),
            (0..t.rcpts.len()).map(|j| ForwardPath::new(&format!("r{j}@example.org")).unwrap()),
        );
        if t.declare_size {
            env.size = Some(t.body.len() as u64);
        }
        // Refused only by a client that ended at once (an invalid configuration).
        match r.client.send(r.now, env) {
            Ok(id) => r.reports.push(Report::new(id, t.rcpts.len(), lmtp)),
            Err(_) => assert!(r.client.is_closed()),
        }
    }
    let quit = r.client.quit(r.now).is_ok();
    assert!(quit || r.client.is_closed());
    r.drain(s);

    let mut server = Server::new(s);
    let mut flight = if s.greeting == 220 {
        b"220 mx.example.org\r\n".to_vec()
    } else {
        format!("{}\r\n", plain_line(s.greeting)).into_bytes()
    };
    // For each byte the client wrote, how much of the server's flight it had read.
    let mut read_at: Vec<usize> = Vec::new();
    let mark = |read_at: &mut Vec<usize>, out: &[u8], read: usize| {
        read_at.resize(out.len(), read);
    };
    let mut step = 0usize;
    while !r.closed {
        step += 1;
        assert!(step < 500, "no progress");
        // The clock moves (less than any timer), and a timer check before the deadline
        // must change nothing.
        r.now = r.now + Duration::from_secs(u64::from(s.waits[step % s.waits.len()]));
        r.client.handle_timeout(r.now);
        r.drain(s);
        if mode == Mode::Progress && r.closed {
            break;
        }
        assert!(!r.closed, "a timer fired early");
        mark(&mut read_at, &r.out, 0);
        // Feed the flight in reads cut at random points.
        let mut rest = &flight[..];
        let mut k = step;
        while !rest.is_empty() && !r.closed {
            let n = 1 + usize::from(s.cuts[k % s.cuts.len()]) % rest.len();
            k += 1;
            let (a, b) = rest.split_at(n);
            r.client.handle_input(r.now, a);
            r.drain(s);
            rest = b;
            mark(&mut read_at, &r.out, flight.len() - rest.len());
        }
        if mode == Mode::Model {
            // Replies count: the client ends only at the end of a flight, having read
            // every reply the server sent.
            assert!(
                rest.is_empty(),
                "closed with replies unread: {:?}",
                String::from_utf8_lossy(rest)
            );
        }
        if r.closed {
            break;
        }
        if let Some(up) = r.tls_pending.take() {
            // The upgrade is pending: polling again, or a timer check before the
            // handshake deadline, writes nothing.
            let before = r.out.len();
            for _ in 0..3 {
                r.client.handle_timeout(r.now);
                r.drain(s);
            }
            assert_eq!(
                r.out.len(),
                before,
                "bytes written while the TLS upgrade was pending"
            );
            if mode == Mode::Progress && r.closed {
                break;
            }
            assert!(!r.closed);
            r.client.handle_tls_established(r.now, up);
            r.drain(s);
        }
        let written = std::mem::take(&mut r.out);
        mark(&mut read_at, &written, flight.len());
        let (replies, _starttls) = server.take(&written, &std::mem::take(&mut read_at));
        if replies.is_empty() && (server.gone || mode == Mode::Progress) {
            if server.eof {
                r.client.handle_eof(r.now);
            } else {
                // Nothing for the server to answer: only the deadline can move things on.
                let deadline = r.client.deadline().expect("a deadline (checked by drain)");
                if let (Mode::Model, Some(want)) = (mode, timeout_for(server.cut_stage)) {
                    // The unanswered command went out just now, in this flight.
                    assert_eq!(
                        deadline - r.now,
                        want,
                        "the timer armed for a reply to {}",
                        server.cut_stage
                    );
                }
                r.now = deadline;
                r.client.handle_timeout(r.now);
            }
            r.drain(s);
            assert!(r.closed, "the server went away and the session went on");
            break;
        }
        assert!(
            !replies.is_empty(),
            "the client stalled: it waits for a reply to {:?}",
            String::from_utf8_lossy(&written)
        );
        flight = replies;
    }
    assert!(r.closed, "session did not end");
    // What went out with Closed (QUIT, at most) reaches the server too.
    let last = std::mem::take(&mut r.out);
    mark(&mut read_at, &last, flight.len());
    server.take(&last, &read_at);
    // The output buffer holds at most one flight: commands, one body chunk framed (at
    // most twice its size plus a header) and the window.
    assert!(
        r.max_out <= 64 * 1024 + 4096,
        "output buffer grew to {}",
        r.max_out
    );
    assert!(
        server.violations.is_empty(),
        "the server saw violations: {:#?}",
        server.violations
    );
    if !server.gone {
        // Every command was answered (on every run, not only those that end with QUIT).
        assert_eq!(server.commands, server.replies, "a command went unanswered");
        // Without timers firing, the session ends with QUIT and nothing half written.
        if mode == Mode::Model {
            assert!(
                server.inbox.is_empty() && matches!(server.read, Read::Command),
                "a command left half written: {:?}",
                String::from_utf8_lossy(&server.inbox)
            );
            // After a 421 the server is closing, and a client out of step stops
            // talking: no QUIT then (RFC 5321 §3.8).
            let upgrade = s.starttls && s.policy != TlsPolicy::Disabled;
            let out_of_step = s.greeting == 220 && upgrade && s.starttls_reply == 250;
            assert_eq!(
                server.quit,
                s.greeting != 421 && !out_of_step,
                "QUIT, except after a 421 greeting or a 250 to STARTTLS"
            );
        }
    }
    judge(&server, &r.reports, lmtp, abort, mode == Mode::Model);
    Ran {
        events: r.events,
        cut: server.gone,
        quit_sent: server.quit,
        cut_stage: server.cut_stage,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn client_matches_the_model(s in scenario()) {
        let ran = run(&s);
        if !ran.cut {
            prop_assert_eq!(ran.events, expected_events(&s));
        } else if !ran.quit_sent {
            // The session ends with what the server did; the reports were judged.
            let last = ran.events.last().cloned().unwrap_or_default();
            // The error names the stage of the command the server did not answer.
            let want = match s.cut.unwrap().kind {
                CutKind::Reply421 => "closed error=service-unavailable 421 4.3.2 \"closing\"".into(),
                CutKind::Silent => format!("closed error=timeout {}", ran.cut_stage),
                CutKind::Eof => format!("closed error=connection-closed {}", ran.cut_stage),
            };
            prop_assert_eq!(last, want);
        }
    }
}

// ----- progress under any configuration -----

/// Edge values (0, 1, the maximum) and ordinary ones.
fn size(ordinary: std::ops::Range<usize>) -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0), 2 => Just(1), 2 => Just(usize::MAX), 6 => ordinary]
}

/// Timeouts `validate` accepts; the short ones fire while the session runs.
fn valid_timeout() -> impl Strategy<Value = Duration> {
    prop_oneof![
        1 => Just(Duration::from_nanos(1)),
        1 => Just(Duration::from_secs(1)),
        20 => Just(Duration::from_secs(600)),
        20 => Just(Timeouts::MAX),
    ]
}

fn any_timeout() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Timeouts::MAX + Duration::from_nanos(1)),
        Just(Duration::MAX),
        valid_timeout(),
    ]
}

fn timeouts() -> impl Strategy<Value = Timeouts> {
    let table = |t: [Duration; 8]| {
        let mut timeouts = Timeouts::default();
        timeouts.greeting = t[0];
        timeouts.mail = t[1];
        timeouts.rcpt = t[2];
        timeouts.data_init = t[3];
        timeouts.data_block = t[4];
        timeouts.data_end = t[5];
        timeouts.tls_handshake = t[6];
        timeouts.command = t[7];
        timeouts
    };
    prop_oneof![
        6 => prop::array::uniform8(valid_timeout()).prop_map(table),
        1 => prop::array::uniform8(any_timeout()).prop_map(table),
    ]
}

/// A scenario's configuration with every numeric field drawn, edge values included.
fn any_config() -> impl Strategy<Value = (Scenario, Config)> {
    // Limits below what the server's replies need end the session with a reply error:
    // drawn rarely, so that most sessions run to their end.
    let limit = |ordinary: std::ops::Range<usize>| prop_oneof![1 => Just(0), 1 => Just(1), 1 => Just(usize::MAX), 40 => ordinary];
    let limits = (limit(512..3000), limit(20..300), limit(4096..100_000)).prop_map(
        |(max_line, max_lines, max_bytes)| ReplyLimits::new(max_line, max_lines, max_bytes),
    );
    let inline = prop_oneof![1 => Just(0u64), 2 => Just(1), 2 => Just(u64::MAX), 6 => 0u64..64];
    let rounds = prop_oneof![Just(0u8), Just(1), Just(u8::MAX), any::<u8>()];
    (
        scenario(),
        (size(1..200), size(1..64), inline, rounds),
        (timeouts(), limits, any::<bool>()),
    )
        .prop_map(
            |(s, (window, body_chunk, inline, rounds), (t, limits, abort))| {
                let mut c = model_config(&s);
                c.window = window;
                c.body_chunk = body_chunk;
                c.bdat_inline_limit = inline;
                c.max_auth_rounds = rounds;
                c.timeouts = t;
                c.reply_limits = limits;
                c.abort_on_rejected_recipient = abort;
                (s, c)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// No configuration makes a session hang or loop: driven against the scripted
    /// server, every session ends, and until then the client always either has bytes
    /// out for the server to answer or a deadline (checked at every `Wait` and every
    /// flight by `drive`).
    #[test]
    fn every_config_makes_progress_or_ends((s, config) in any_config()) {
        // A configuration `validate` refuses ends the session at once, unwritten.
        if let Err(e) = config.validate() {
            let mut client = Client::new(config.clone(), Instant::ZERO);
            let mut out = Vec::new();
            let first = client.poll_output(&mut out);
            prop_assert!(
                matches!(&first, Output::Closed(Some(Error::InvalidConfig(got))) if *got == e),
                "{:?}",
                first
            );
            prop_assert!(out.is_empty());
        }
        drive(&s, config, Mode::Progress);
    }
}
