//! Model test of the client state machine against a scripted, reactive server.
//!
//! Proptest draws the server's behaviour: SMTP or LMTP, what the EHLO (LHLO) reply offers
//! (PIPELINING, CHUNKING, STARTTLS), the TLS policy and whether credentials are
//! configured, and for every transaction the class of the reply to MAIL, each RCPT
//! (among them 452/552 "too many recipients" and "mailbox full"), DATA and the end of
//! data;
//! then how the server's bytes are cut into reads and how far the clock moves between
//! flights. The server parses what the client writes (commands, dot-stuffed DATA
//! content, BDAT chunks) and answers each command from its script, so a client that
//! writes a command too many, too few or out of order falls out of step.
//!
//! A small reference model computes the events the client must report from the script
//! alone. Checked: the events match; nothing is written while the TLS upgrade is pending;
//! no AUTH goes out on a cleartext connection; every reply is consumed in order (the
//! session ends with QUIT/221 and `Closed(None)`, the server having answered exactly the
//! commands it got); no panic; the output buffer stays bounded.
//!
//! A second property runs the same scenarios under any configuration (every numeric
//! field drawn, edge values included): no configuration makes a session hang or loop.
//! Either it ends, or at every `Wait` it has a deadline (bytes out for the server to
//! answer, or content being written) unless nothing at all is left to do.

mod common;

use std::time::Duration;

use proptest::prelude::*;
use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::reply::ReplyLimits;
use smtp_proto::{
    Client, Config, Credentials, Envelope, Error, Instant, Output, Timeouts, TlsMode, TlsPolicy,
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

    fn code(self) -> &'static str {
        &self.line()[..3]
    }

    fn too_many(self) -> bool {
        matches!(
            self,
            Rcpt::TooMany452 | Rcpt::TooMany552 | Rcpt::TooManyBare
        )
    }
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
}

#[derive(Clone, Debug)]
struct Scenario {
    lmtp: bool,
    pipelining: bool,
    chunking: bool,
    starttls: bool,
    policy: TlsPolicy,
    credentials: bool,
    body_chunk: usize,
    txns: Vec<TxnScript>,
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
    )
        .prop_map(
            |(mail, rcpts, data, data_354_when_none, end, body, declare_size)| TxnScript {
                mail,
                rcpts,
                data,
                data_354_when_none,
                end,
                body,
                declare_size,
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(TlsPolicy::Required),
            Just(TlsPolicy::Opportunistic),
            Just(TlsPolicy::Disabled)
        ],
        any::<bool>(),
        3usize..24,
        prop::collection::vec(txn_script(), 1..4),
        prop::collection::vec(any::<u16>(), 1..8),
        prop::collection::vec(0u8..100, 1..8),
    )
        .prop_map(
            |(
                lmtp,
                pipelining,
                chunking,
                starttls,
                policy,
                credentials,
                body_chunk,
                txns,
                cuts,
                waits,
            )| {
                Scenario {
                    lmtp,
                    pipelining,
                    chunking,
                    starttls,
                    policy,
                    credentials,
                    body_chunk,
                    txns,
                    cuts,
                    waits,
                }
            },
        )
}

// ----- the reference model -----

/// The events the client must report, in the harness's text form.
fn expected_events(s: &Scenario) -> Vec<String> {
    let mut ev = vec!["greeting 220".to_string()];
    let caps = |tls_done: bool| {
        let mut c = String::from("capabilities");
        if s.pipelining {
            c.push_str(" PIPELINING");
        }
        if s.starttls && !tls_done {
            c.push_str(" STARTTLS");
        }
        if s.chunking {
            c.push_str(" CHUNKING");
        }
        c.push_str(" AUTH=PLAIN");
        c
    };
    ev.push(caps(false));
    let upgrade = s.starttls && s.policy != TlsPolicy::Disabled;
    let session_error = if upgrade {
        ev.push("starttls".into());
        ev.push("tls-established".into());
        ev.push(caps(true));
        None
    } else if s.policy == TlsPolicy::Required {
        Some("tls-required not-offered")
    } else if s.credentials {
        Some("credentials-withheld")
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
            ev.push(format!("txn-failed txn={i} rejected MAIL {}", t.mail));
            continue;
        }
        // RFC 5321 §4.5.3.1.10: after "too many recipients" the RCPTs not yet sent are
        // not attempted; with PIPELINING (and this window) every RCPT is already out and
        // gets its own reply.
        let mut accepted = Vec::new();
        let mut too_many = false;
        for (j, &r) in t.rcpts.iter().enumerate() {
            if too_many && !s.pipelining {
                ev.push(format!("rcpt-not-attempted txn={i} rcpt={j}"));
                continue;
            }
            too_many |= r.too_many();
            if r == Rcpt::Ok {
                accepted.push(j);
                ev.push(format!("rcpt-accepted txn={i} rcpt={j} 250"));
            } else {
                ev.push(format!("rcpt-rejected txn={i} rcpt={j} {}", r.code()));
            }
        }
        if accepted.is_empty() {
            ev.push(format!("txn-failed txn={i} no-recipients"));
            continue;
        }
        if !s.chunking && t.data != 354 {
            ev.push(format!("txn-failed txn={i} rejected DATA {}", t.data));
            continue;
        }
        // RFC 2033 §4.2, §4.3: under LMTP one final reply per accepted recipient.
        let finals: Vec<String> = if s.lmtp {
            accepted.iter().map(|j| format!(" rcpt={j}")).collect()
        } else {
            vec![String::new()]
        };
        for rcpt in finals {
            if t.end == 250 {
                ev.push(format!("message-accepted txn={i}{rcpt} 250"));
            } else {
                ev.push(format!(
                    "txn-failed txn={i}{rcpt} rejected end of data {}",
                    t.end
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
        }
    }

    fn script(&self) -> &'a TxnScript {
        &self.s.txns[self.txn.expect("a transaction command before MAIL")]
    }

    fn mail_ok(&self) -> bool {
        self.script().mail == 250
    }

    fn reply(&mut self, out: &mut Vec<u8>, code: u16) {
        self.replies += 1;
        out.extend_from_slice(
            format!("{code} {}\r\n", if code < 400 { "ok" } else { "no" }).as_bytes(),
        );
    }

    /// The reply to the end of the content (DATA marker or BDAT LAST). Under LMTP one
    /// per accepted recipient, and none to a BDAT LAST with no recipient accepted
    /// (RFC 2033 §4.2, §4.3): a client that counts wrong falls out of step.
    fn end_reply(&mut self, out: &mut Vec<u8>, bdat: bool) {
        let (code, n) = if !self.mail_ok() {
            (503, 1)
        } else if self.accepted == 0 {
            (554, usize::from(!(self.s.lmtp && bdat)))
        } else if self.s.lmtp {
            (self.script().end, self.accepted)
        } else {
            (self.script().end, 1)
        };
        // `commands` counts the replies owed: one per command, but n here.
        self.commands = self.commands + n - 1;
        for _ in 0..n {
            self.reply(out, code);
        }
    }

    /// Consumes what the client wrote; returns the replies, and whether STARTTLS got 220.
    fn take(&mut self, bytes: &[u8]) -> (Vec<u8>, bool) {
        self.inbox.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut in_flight = 0;
        loop {
            match self.read {
                Read::Command => {
                    let Some(end) = self.inbox.windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line = String::from_utf8(self.inbox[..end].to_vec()).unwrap();
                    self.inbox.drain(..end + 2);
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
                    match verb.as_str() {
                        v if v == hello => {
                            self.replies += 1;
                            out.extend_from_slice(b"250-mx.example.org\r\n");
                            if self.s.pipelining {
                                out.extend_from_slice(b"250-PIPELINING\r\n");
                            }
                            if self.s.starttls && !self.tls_done {
                                out.extend_from_slice(b"250-STARTTLS\r\n");
                            }
                            if self.s.chunking {
                                out.extend_from_slice(b"250-CHUNKING\r\n");
                            }
                            out.extend_from_slice(b"250 AUTH PLAIN\r\n");
                        }
                        "STARTTLS" => {
                            assert!(self.inbox.is_empty(), "bytes pipelined after STARTTLS");
                            self.reply(&mut out, 220);
                            self.tls_done = true;
                            return (out, true);
                        }
                        "AUTH" => {
                            assert!(self.tls_done, "AUTH on a cleartext connection");
                            self.reply(&mut out, 235);
                        }
                        "MAIL" => {
                            let next = self.txn.map_or(0, |t| t + 1);
                            assert!(
                                next < self.s.txns.len(),
                                "more MAIL commands than transactions"
                            );
                            self.txn = Some(next);
                            self.rcpt = 0;
                            self.accepted = 0;
                            let code = self.script().mail;
                            self.reply(&mut out, code);
                        }
                        "RCPT" => {
                            let line = if self.mail_ok() {
                                let r = self.script().rcpts[self.rcpt];
                                self.accepted += usize::from(r == Rcpt::Ok);
                                r.line()
                            } else {
                                "503 5.5.1 no"
                            };
                            self.rcpt += 1;
                            self.replies += 1;
                            out.extend_from_slice(format!("{line}\r\n").as_bytes());
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
                            self.reply(&mut out, code);
                            if code == 354 {
                                self.read = Read::Data;
                            }
                        }
                        "BDAT" => {
                            let mut parts = line.split(' ').skip(1);
                            let left = parts.next().unwrap().parse().unwrap();
                            let last = parts.next() == Some("LAST");
                            self.read = Read::Bdat { left, last };
                        }
                        "RSET" | "NOOP" => self.reply(&mut out, 250),
                        "QUIT" => {
                            self.reply(&mut out, 221);
                            self.quit = true;
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
                    self.inbox.drain(..end);
                    self.read = Read::Command;
                    // The end-of-data marker is answered like a command.
                    self.commands += 1;
                    self.end_reply(&mut out, false);
                }
                Read::Bdat { left, last } => {
                    if self.inbox.len() < left {
                        break;
                    }
                    self.inbox.drain(..left);
                    self.read = Read::Command;
                    if last {
                        self.end_reply(&mut out, true);
                    } else {
                        let code = if self.mail_ok() { 250 } else { 503 };
                        self.reply(&mut out, code);
                    }
                }
            }
        }
        (out, false)
    }
}

// ----- running it -----

struct Run {
    client: Client,
    now: Instant,
    out: Vec<u8>,
    events: Vec<String>,
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
                Output::Event(_) => {}
            }
        }
    }
}

/// What the run checks beyond progress.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The reference model's run: the clock stays below every timer, so no timer may
    /// fire, and the server answering nothing is a stall.
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
    if s.credentials {
        config.credentials = Some(Credentials::password("user", "secret").unwrap());
    }
    config
}

fn run(s: &Scenario) -> Vec<String> {
    drive(s, model_config(s), Mode::Model)
}

/// Runs the scenario's session with `config` to its end; returns the events.
fn drive(s: &Scenario, config: Config, mode: Mode) -> Vec<String> {
    let mut r = Run {
        client: Client::new(config, Instant::ZERO),
        now: Instant::ZERO,
        out: Vec::new(),
        events: Vec::new(),
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
        let queued = r.client.send(r.now, env).is_ok();
        assert!(queued || r.client.is_closed());
    }
    let quit = r.client.quit(r.now).is_ok();
    assert!(quit || r.client.is_closed());
    r.drain(s);

    let mut server = Server::new(s);
    let mut flight = b"220 mx.example.org\r\n".to_vec();
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
        let (replies, _starttls) = server.take(&written);
        if replies.is_empty() && mode == Mode::Progress {
            // Nothing for the server to answer: only the deadline can move things on.
            let deadline = r.client.deadline().expect("a deadline (checked by drain)");
            r.now = deadline;
            r.client.handle_timeout(r.now);
            r.drain(s);
            assert!(r.closed, "the deadline passed and the session went on");
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
    // The output buffer holds at most one flight: commands, one body chunk framed (at
    // most twice its size plus a header) and the window.
    assert!(
        r.max_out <= 64 * 1024 + 4096,
        "output buffer grew to {}",
        r.max_out
    );
    if server.quit {
        assert_eq!(server.commands, server.replies, "a command went unanswered");
    }
    r.events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn client_matches_the_model(s in scenario()) {
        let got = run(&s);
        let want = expected_events(&s);
        prop_assert_eq!(got, want);
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
    let table = |t: [Duration; 8]| Timeouts {
        greeting: t[0],
        mail: t[1],
        rcpt: t[2],
        data_init: t[3],
        data_block: t[4],
        data_end: t[5],
        tls_handshake: t[6],
        command: t[7],
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
        |(max_line, max_lines, max_bytes)| ReplyLimits {
            max_line,
            max_lines,
            max_bytes,
        },
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
