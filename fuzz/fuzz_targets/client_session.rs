//! Whole client sessions: a configuration, then a run of server bytes, clock steps, TLS
//! handshakes and application calls, all read from the input with `arbitrary`.
//!
//! Input layout (so that seeds can be written by hand, see `seed-corpus.py`): two
//! configuration bytes, then operations, each a tag byte and its arguments:
//!
//! | tag % 12 | operation | arguments |
//! |---|---|---|
//! | 0, 1 | one canned server reply | index |
//! | 2 | two canned replies in one read | index, index |
//! | 3 | raw server bytes | length, bytes |
//! | 4 | a canned reply cut in two reads | index, cut |
//! | 5 | a body chunk (`send_body`) | length, last, bytes |
//! | 6 | `send` an envelope | shape, shape |
//! | 7 | the clock moves on, then `handle_timeout` | seconds |
//! | 8 | the TLS handshake finishes | |
//! | 9 | the server closes the connection | |
//! | 10 | `quit` | |
//! | 11 | `noop`, `rset` or `vrfy` | which |
//!
//! After every operation the harness drains `poll_output` as a driver does. Checks:
//! - no panic, and `poll_output` settles (Wait, SendBody, StartTls or Closed);
//! - after `Closed`, nothing is ever written again, every later poll is `Closed(None)`
//!   and every application call fails;
//! - no `AUTH` line goes out on a cleartext session unless `allow_plaintext_auth`;
//! - nothing is written between `StartTls` and the handshake, and when the 220 to
//!   STARTTLS has bytes behind it in the same read, nothing more is written at all and
//!   the session closes with an error;
//! - replies are consumed in order: every reply an event hands up is the next one (or a
//!   later one) the server sent, and while the session stays open it never consumed more
//!   replies than it sent commands;
//! - each transaction (each recipient, under LMTP) gets at most one outcome, and every
//!   transaction gets one before `Closed`;
//! - a passed deadline closes the session, an early timer call does not;
//! - the password and token never appear in `Debug` output of the client, events or errors.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use smtp_proto::command::{BodyType, EnvId, ForwardPath, Notify, ReversePath, VrfyArg};
use smtp_proto::reply::{Reply, ReplyLimits, ReplyReader};
use smtp_proto::{
    AuthError, Client, Config, Credentials, Envelope, Error, Event, Instant, Output, ProtocolError,
    Recipient, RecipientStatus, Report, TlsMode, TlsPolicy, TlsRequiredError, TlsUpgrade,
    TxnFailure, TxnId,
};

const PASSWORD: &str = "pw-9f3k2-secret";
const TOKEN: &str = "tok-7q1z8-secret";

/// Replies a server commonly sends, so that most runs get past the greeting and EHLO.
const CANNED: [&[u8]; 27] = [
    b"220 mx.example ESMTP\r\n",
    b"250-mx.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-REQUIRETLS\r\n250 SIZE 1000\r\n",
    b"250-mx.example\r\n250 PIPELINING\r\n",
    b"250 mx.example\r\n",
    b"250 2.0.0 Ok\r\n",
    b"354 go ahead\r\n",
    b"220 2.0.0 Ready to start TLS\r\n",
    b"334 \r\n",
    b"334 VXNlcm5hbWU6\r\n",
    b"334 UGFzc3dvcmQ6\r\n",
    b"235 2.7.0 Authentication successful\r\n",
    b"221 2.0.0 Bye\r\n",
    b"421 4.3.2 Shutting down\r\n",
    b"452 4.5.3 Too many recipients\r\n",
    b"550 5.1.1 No such user\r\n",
    b"500 5.5.1 Unrecognized command\r\n",
    b"454 4.7.0 TLS not available\r\n",
    b"554 5.7.1 Rejected\r\n",
    b"250-mx.example\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
    b"535 5.7.8 Bad credentials\r\n",
    b"451 4.3.0 Try later\r\n",
    b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n",
    b"250-mx.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH LOGIN PLAIN\r\n",
    b"252 2.5.2 Cannot verify\r\n",
    // 452/552 mean "too many recipients" only with X.5.3 or as a bare 452.
    b"452 4.2.2 Mailbox full\r\n",
    b"552 5.5.3 Too many recipients\r\n",
    b"452 Too many recipients\r\n",
];

const FROM: [&str; 4] = [
    "alice@example.org",
    "",
    "bounce+x=y@example.com",
    "ünï@exämple.org",
];
const TO: [&str; 4] = [
    "bob@example.net",
    "carol@example.net",
    "postmaster",
    "dävid@exämple.net",
];

fn canned(i: u8) -> &'static [u8] {
    CANNED[usize::from(i) % CANNED.len()]
}

fn config(a: u8, b: u8) -> Config {
    let mut c = Config::new(smtp_proto::command::EhloName::new("client.example").unwrap());
    c.tls = match a & 3 {
        0 => TlsMode::Implicit,
        1 => TlsMode::StartTls(TlsPolicy::Required),
        2 => TlsMode::StartTls(TlsPolicy::Opportunistic),
        _ => TlsMode::StartTls(TlsPolicy::Disabled),
    };
    c.credentials = match (a >> 2) & 3 {
        0 => None,
        2 => Some(Credentials::oauth2("user@example.org", TOKEN).unwrap()),
        _ => Some(Credentials::password("user@example.org", PASSWORD).unwrap()),
    };
    c.allow_plaintext_auth = a & 0x10 != 0;
    c.pipelining = a & 0x20 != 0;
    c.chunking = a & 0x40 != 0;
    c.lmtp = a & 0x80 != 0;
    c.abort_on_rejected_recipient = b & 1 != 0;
    if b & 2 != 0 {
        c.timeouts = smtp_proto::Timeouts::all(Duration::from_secs(10));
    }
    if b & 4 != 0 {
        c.window = 64;
    }
    if b & 8 != 0 {
        c.body_chunk = 16;
        c.bdat_inline_limit = 32;
    }
    c.max_auth_rounds = (b >> 4) & 3;
    if b & 0x40 != 0 {
        c.reply_limits = ReplyLimits {
            max_line: 64,
            max_lines: 4,
            max_bytes: 256,
        };
    }
    c
}

fn envelope(shape: u8, extra: u8) -> Envelope {
    let from = ReversePath::new(FROM[usize::from(shape) & 3]).unwrap();
    let n = usize::from((shape >> 2) & 3);
    let recipients: Vec<Recipient> = (0..n)
        .map(|i| {
            let r = Recipient::new(ForwardPath::new(TO[(usize::from(extra) + i) & 3]).unwrap());
            if extra & 0x80 != 0 {
                r.notify(Notify::on(true, true, false).unwrap())
            } else {
                r
            }
        })
        .collect();
    let mut e = Envelope::new(from, recipients);
    e.body = match (shape >> 4) & 3 {
        0 | 1 => BodyType::SevenBit,
        2 => BodyType::EightBitMime,
        _ => BodyType::BinaryMime,
    };
    e.size = match (extra >> 2) & 3 {
        0 => None,
        1 => Some(10),
        2 => Some(500),
        _ => Some(5000),
    };
    e.smtputf8 = shape & 0x40 != 0;
    e.requiretls = shape & 0x80 != 0;
    if extra & 0x10 != 0 {
        e.envid = Some(EnvId::new("env+id=1").unwrap());
    }
    e
}

/// The replies an error carries.
fn error_reply(e: &Error) -> Option<&Reply> {
    match e {
        Error::ServiceUnavailable(r) | Error::Rejected { reply: r, .. } => Some(r),
        Error::TlsRequired(TlsRequiredError::Refused(r) | TlsRequiredError::EhloRefused(r)) => {
            Some(r)
        }
        Error::Auth(AuthError::Rejected(r) | AuthError::Cancelled(r)) => Some(r),
        Error::Protocol(
            ProtocolError::UnexpectedReply(r) | ProtocolError::UnexpectedCode { reply: r, .. },
        ) => Some(r),
        _ => None,
    }
}

struct Harness {
    client: Client,
    lmtp: bool,
    allow_plaintext: bool,
    now: Duration,
    out: Vec<u8>,
    /// `Closed` was returned once.
    closed: bool,
    /// The harness's own view: implicit TLS, or a handshake reported while open.
    encrypted: bool,
    /// `StartTls` was returned; the handshake is not reported yet.
    tls_pending: Option<TlsUpgrade>,
    /// STARTTLS is on the wire and its reply has not been read.
    starttls_unanswered: bool,
    /// A second reader over the same server bytes, with room for anything.
    shadow: ReplyReader,
    shadow_ok: bool,
    /// Every reply the server sent while the session was open, in order.
    replies: Vec<Reply>,
    /// Index in `replies` of the last reply an event handed up.
    matched: Option<usize>,
    /// Replies the commands written so far can call for.
    owed: usize,
    rcpt_lines: usize,
    body_wanted: Option<(TxnId, usize)>,
    txns: Vec<(TxnId, Report)>,
    outcomes: HashSet<(TxnId, Option<usize>)>,
    outcome_txns: HashMap<TxnId, usize>,
    rcpt_seen: HashSet<(TxnId, usize)>,
}

impl Harness {
    fn now(&self) -> Instant {
        Instant::from_duration(self.now)
    }

    /// Checks the command lines `poll_output` just wrote.
    fn commands(&mut self, written: &[u8]) {
        if written.is_empty() {
            return;
        }
        assert!(
            self.tls_pending.is_none(),
            "wrote {written:?} during the TLS handshake"
        );
        assert!(
            written.ends_with(b"\r\n"),
            "a partial command line: {written:?}"
        );
        for line in written.split_inclusive(|&b| b == b'\n') {
            self.owed += 1;
            if line.starts_with(b"AUTH ") {
                assert!(
                    self.encrypted || self.allow_plaintext,
                    "AUTH on a cleartext session: {line:?}"
                );
            }
            if line.starts_with(b"RCPT ") {
                self.rcpt_lines += 1;
            }
            if line == b"STARTTLS\r\n" {
                self.starttls_unanswered = true;
            }
        }
    }

    /// Checks that `reply` is the next reply (or a later one) the server sent; `stored`
    /// replies were kept from earlier and may come back later.
    fn in_order(&mut self, reply: &Reply, stored: bool, what: &str) {
        let from = self.matched.map_or(0, |m| m + 1);
        if let Some(j) = (from..self.replies.len()).find(|&j| &self.replies[j] == reply) {
            self.matched = Some(j);
            return;
        }
        if !self.shadow_ok {
            return;
        }
        let earlier = self.replies.iter().any(|r| r == reply);
        assert!(
            stored && earlier,
            "{what}: reply {reply} is not the next one the server sent (matched {:?} of {})",
            self.matched,
            self.replies.len()
        );
    }

    fn outcome(&mut self, txn: TxnId, rcpt: Option<usize>) {
        assert!(
            self.outcomes.insert((txn, rcpt)),
            "two outcomes for {txn:?} rcpt {rcpt:?}"
        );
        let n = self.outcome_txns.entry(txn).or_default();
        *n += 1;
        assert!(self.lmtp || *n == 1, "two outcomes for {txn:?}");
    }

    fn event(&mut self, e: Event) {
        let shown = format!("{e:?}");
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(TOKEN),
            "secret in {shown}"
        );
        for (_, report) in &mut self.txns {
            report.apply(&e);
        }
        match &e {
            Event::Greeting(r) => self.in_order(r, false, "greeting"),
            Event::RecipientAccepted { txn, rcpt, reply } => {
                assert!(
                    self.rcpt_seen.insert((*txn, *rcpt)),
                    "RCPT {rcpt} reported twice"
                );
                self.in_order(reply, false, "RecipientAccepted");
            }
            Event::RecipientRejected { txn, rcpt, reply } => {
                assert!(
                    self.rcpt_seen.insert((*txn, *rcpt)),
                    "RCPT {rcpt} reported twice"
                );
                // Each rejection is the reply to its own RCPT, never an earlier one
                // repeated: after "too many recipients" the untried ones are
                // RecipientNotAttempted (RFC 5321 §4.5.3.1.10).
                self.in_order(reply, false, "RecipientRejected");
            }
            Event::RecipientNotAttempted { txn, rcpt } => {
                assert!(
                    self.rcpt_seen.insert((*txn, *rcpt)),
                    "RCPT {rcpt} reported twice"
                );
            }
            Event::MessageAccepted { txn, rcpt, reply } => {
                self.outcome(*txn, *rcpt);
                self.in_order(reply, false, "MessageAccepted");
            }
            Event::TransactionFailed { txn, rcpt, failure } => {
                self.outcome(*txn, *rcpt);
                if let TxnFailure::Rejected { reply, .. } = failure {
                    // A transaction's first failure is reported once it is over.
                    self.in_order(reply, true, "TransactionFailed");
                }
            }
            Event::OutcomeUnknown { txn, rcpt } => self.outcome(*txn, *rcpt),
            Event::Reply { reply, .. } => self.in_order(reply, false, "Reply"),
            _ => {}
        }
    }

    /// Runs `poll_output` until the driver would wait.
    fn drain(&mut self) {
        for _ in 0..100_000 {
            let before = self.out.len();
            let output = self.client.poll_output(&mut self.out);
            let written = self.out[before..].to_vec();
            if self.closed {
                assert!(written.is_empty(), "wrote {written:?} after Closed");
                assert!(
                    matches!(output, Output::Closed(None)),
                    "{output:?} after Closed"
                );
                return;
            }
            match output {
                Output::Event(e) => {
                    self.commands(&written);
                    self.event(e);
                }
                Output::SendBody { txn, max_chunk } => {
                    self.commands(&written);
                    assert!(max_chunk > 0);
                    self.body_wanted = Some((txn, max_chunk));
                    return;
                }
                Output::StartTls(upgrade) => {
                    self.commands(&written);
                    assert!(!self.encrypted, "StartTls on an encrypted session");
                    assert!(self.tls_pending.is_none(), "StartTls twice");
                    self.tls_pending = Some(upgrade);
                    return;
                }
                Output::Wait { deadline } => {
                    self.commands(&written);
                    assert_eq!(deadline, self.client.deadline());
                    return;
                }
                Output::Closed(err) => {
                    // QUIT may go out with Closed, and only QUIT.
                    assert!(
                        written.is_empty() || written == b"QUIT\r\n",
                        "wrote {written:?} with Closed"
                    );
                    if let Some(e) = &err {
                        let shown = format!("{e:?} {e}");
                        assert!(!shown.contains(PASSWORD) && !shown.contains(TOKEN));
                        if let Some(r) = error_reply(e) {
                            let r = r.clone();
                            self.in_order(&r, true, "Closed");
                        }
                    }
                    self.closed = true;
                    assert!(self.client.is_closed());
                    for (id, _) in &self.txns {
                        assert!(
                            self.outcome_txns.contains_key(id),
                            "{id:?} got no outcome before Closed"
                        );
                    }
                    // Every report is complete: under LMTP every accepted recipient
                    // has exactly one outcome (its own, or the transaction's).
                    for (id, report) in &self.txns {
                        assert!(report.is_complete(), "{id:?} incomplete: {report:?}");
                        if self.lmtp {
                            for (status, delivery) in
                                report.recipients.iter().zip(&report.deliveries)
                            {
                                assert!(
                                    !matches!(status, RecipientStatus::Accepted(_))
                                        || delivery.is_some(),
                                    "{id:?}: an accepted recipient without an outcome: {report:?}"
                                );
                            }
                        }
                    }
                    return;
                }
            }
        }
        panic!("poll_output never settles");
    }

    fn input(&mut self, bytes: &[u8]) {
        let open = !self.client.is_closed();
        let mut injected = false;
        if open && self.shadow_ok {
            let mut rest = bytes;
            while !rest.is_empty() {
                match self.shadow.read(&mut rest) {
                    Ok(Some(reply)) => {
                        if self.starttls_unanswered
                            && reply.code().get() == 220
                            && (!rest.is_empty() || self.shadow.has_partial())
                        {
                            injected = true;
                        }
                        self.starttls_unanswered = false;
                        self.replies.push(reply);
                    }
                    Ok(None) => {}
                    Err(_) => {
                        self.shadow_ok = false;
                        break;
                    }
                }
            }
        }
        let before = self.out.len();
        let now = self.now();
        self.client.handle_input(now, bytes);
        self.drain();
        if injected {
            assert_eq!(
                self.out.len(),
                before,
                "wrote after a STARTTLS 220 with bytes behind it"
            );
            assert!(self.client.is_closed() && self.tls_pending.is_none());
        }
        if !self.client.is_closed() && self.shadow_ok {
            let limit = 1 + self.owed + if self.lmtp { self.rcpt_lines } else { 0 };
            assert!(
                self.replies.len() <= limit,
                "consumed {} replies for {limit} owed",
                self.replies.len()
            );
        }
    }

    fn body(&mut self, chunk: &[u8], last: bool) {
        let before = self.out.len();
        let now = self.now();
        let (txn, max) = match self.body_wanted.take() {
            Some(w) => w,
            // Misuse: a body nobody asked for, for the last transaction or a made-up one.
            None => match self.txns.last() {
                Some((id, _)) => (*id, usize::MAX),
                None => return,
            },
        };
        let chunk = &chunk[..chunk.len().min(max)];
        let mut out = std::mem::take(&mut self.out);
        let result = self.client.send_body(now, txn, chunk, last, &mut out);
        self.out = out;
        match result {
            Ok(()) => {
                assert!(!self.closed, "send_body accepted after Closed");
                if self.out.len() > before {
                    assert!(self.tls_pending.is_none());
                    self.owed += 1;
                }
            }
            Err(_) => assert_eq!(self.out.len(), before, "a refused send_body wrote"),
        }
        self.drain();
    }

    fn after_call(&mut self, ok: bool, what: &str) {
        if self.closed {
            assert!(!ok, "{what} accepted after Closed");
        }
        self.drain();
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let a: u8 = u.arbitrary().unwrap_or(0);
    let b: u8 = u.arbitrary().unwrap_or(0);
    let config = config(a, b);
    let mut h = Harness {
        lmtp: config.lmtp,
        allow_plaintext: config.allow_plaintext_auth,
        encrypted: config.tls == TlsMode::Implicit,
        client: Client::new(config, Instant::ZERO),
        now: Duration::ZERO,
        out: Vec::new(),
        closed: false,
        tls_pending: None,
        starttls_unanswered: false,
        shadow: ReplyReader::new(ReplyLimits {
            max_line: 1 << 20,
            max_lines: 1 << 20,
            max_bytes: 1 << 24,
        }),
        shadow_ok: true,
        replies: Vec::new(),
        matched: None,
        owed: 0,
        rcpt_lines: 0,
        body_wanted: None,
        txns: Vec::new(),
        outcomes: HashSet::new(),
        outcome_txns: HashMap::new(),
        rcpt_seen: HashSet::new(),
    };
    h.drain();
    let mut ops = 0;
    while !u.is_empty() && ops < 512 {
        ops += 1;
        let tag: u8 = u.arbitrary().unwrap_or(0);
        let x: u8 = u.arbitrary().unwrap_or(0);
        match tag % 12 {
            0 | 1 => h.input(canned(x)),
            2 => {
                let y: u8 = u.arbitrary().unwrap_or(0);
                h.input(&[canned(x), canned(y)].concat());
            }
            3 => {
                let bytes = u.bytes(usize::from(x).min(u.len())).unwrap_or(&[]);
                h.input(bytes);
            }
            4 => {
                let reply = canned(x);
                let cut: u8 = u.arbitrary().unwrap_or(0);
                let (first, second) = reply.split_at(usize::from(cut) % (reply.len() + 1));
                h.input(first);
                h.input(second);
            }
            5 => {
                let last: u8 = u.arbitrary().unwrap_or(0);
                let bytes = u.bytes(usize::from(x).min(u.len())).unwrap_or(&[]);
                h.body(bytes, last & 1 == 1);
            }
            6 => {
                let extra: u8 = u.arbitrary().unwrap_or(0);
                let env = envelope(x, extra);
                let n = env.recipients.len();
                let now = h.now();
                let result = h.client.send(now, env);
                if let Ok(id) = result {
                    assert!(n > 0, "an envelope without recipients was queued");
                    h.txns.push((id, Report::new(id, n, h.lmtp)));
                }
                h.after_call(result.is_ok(), "send");
            }
            7 => {
                h.now += Duration::from_secs(u64::from(x));
                let now = h.now();
                let was_closed = h.client.is_closed();
                let deadline = h.client.deadline();
                h.client.handle_timeout(now);
                match deadline {
                    Some(d) if now >= d => assert!(h.client.is_closed(), "deadline passed"),
                    _ => assert_eq!(h.client.is_closed(), was_closed, "early timeout closed"),
                }
                h.drain();
            }
            8 => {
                if let Some(upgrade) = h.tls_pending.take() {
                    let open = !h.client.is_closed();
                    let now = h.now();
                    h.client.handle_tls_established(now, upgrade);
                    if open {
                        h.encrypted = true;
                        assert!(h.client.is_encrypted());
                    }
                    h.drain();
                }
            }
            9 => {
                let now = h.now();
                h.client.handle_eof(now);
                h.drain();
                assert!(h.closed, "EOF did not end the session");
            }
            10 => {
                let now = h.now();
                let ok = h.client.quit(now).is_ok();
                h.after_call(ok, "quit");
            }
            _ => {
                let now = h.now();
                let ok = match x % 3 {
                    0 => h.client.noop(now).is_ok(),
                    1 => h.client.rset(now).is_ok(),
                    _ => h
                        .client
                        .vrfy(now, VrfyArg::new("postmaster").unwrap())
                        .is_ok(),
                };
                h.after_call(ok, "noop/rset/vrfy");
            }
        }
        let shown = format!("{:?}", h.client);
        assert!(!shown.contains(PASSWORD) && !shown.contains(TOKEN));
    }
});
