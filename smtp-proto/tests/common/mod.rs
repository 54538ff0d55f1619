//! The transcript runner shared by the transcript tests, the examples and (through
//! `include!`) the adapters' loopback tests.
//!
//! A transcript is a plain-text file, one directive per line:
//!
//! | line | meaning |
//! |---|---|
//! | `# ...` | a comment |
//! | `config: key=value ...` | configuration, before anything else (see [`apply_config`]) |
//! | `adapters: skip REASON` | not replayable through an adapter's API (the testkit skips it) |
//! | `S: bytes` | the server sends these bytes (escapes `\r`, `\n`, `\t`, `\\`, `\xHH`) |
//! | `C: bytes` | the client must have written exactly these bytes (consecutive `C:` lines join) |
//! | `E: text` | the next output, in the stable text form of [`describe`] (replies with their text and enhanced status code, capabilities with the domain and SIZE maximum) |
//! | `T: +300s` | the clock moves on, then the timer is checked; a `D:` line must come first |
//! | `D: 300s` / `D: none` | the current deadline, relative to the clock: [`Client::deadline`] and the last `Wait`'s |
//! | `TLS` | the driver finished the TLS handshake |
//! | `EOF` | the server closes the connection |
//! | `send: from=<a@b> to=<c@d> ...` | the application queues a transaction (see [`parse_send`]) |
//! | `body: bytes` | the content of the transaction queued last (lines join, escapes apply) |
//! | `body-last-empty` | (after `body:`) the content goes out in chunks never marked last, then an empty last chunk |
//! | `noop`, `rset`, `vrfy: arg`, `quit` | application requests |
//!
//! Before each `S:`, `TLS` and `EOF` line, every byte the client has written must have
//! been matched by `C:` lines: a server answers only what it has received, so a
//! transcript also pins down what goes out in each flight.
//!
//! Likewise, before every input (`S:`, `TLS`, `EOF`, `T:`, an application request) every
//! output of the previous input must have been matched by `E:` lines: each `E:` line
//! says which input caused its output.
//!
//! Every `S:` line is fed whole, byte by byte, or split at random points, depending on
//! the mode; the outputs must be identical in every mode.

#![allow(dead_code)]
// Public API of smtp-testkit (its `transcript` module), unreachable in the core's tests.
#![allow(unreachable_pub)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

use smtp_proto::command::{BodyType, EnvId, ForwardPath, Notify, Orcpt, Ret, ReversePath, VrfyArg};
use smtp_proto::reply::{EnhancedStatus, Escaped};
use smtp_proto::{
    AuthError, Client, Config, Credentials, Envelope, Error, Event, Instant, Output, ProtocolError,
    Recipient, TlsMode, TlsPolicy, TlsRequiredError, TxnFailure, TxnId,
};

/// How `S:` bytes are handed to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    Whole,
    ByteByByte,
    /// Random split points from this seed.
    Random(u64),
}

/// The `.txt` files in `dir`, sorted by name: the transcripts a suite runs.
pub fn txt_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    names.sort();
    names
}

/// Decodes the escapes of a transcript line.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut v = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => v.push(b'\r'),
                b'n' => v.push(b'\n'),
                b't' => v.push(b'\t'),
                b'\\' => v.push(b'\\'),
                b'x' if i + 4 <= b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("hex escape");
                    v.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                    i += 4;
                    continue;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            v.push(b[i]);
            i += 1;
        }
    }
    v
}

/// Escapes bytes the way transcripts write them, for failure messages.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => write!(s, "\\x{c:02x}").unwrap(),
        }
    }
    s
}

/// Applies `key=value` settings: `tls=required|opportunistic|disabled|implicit`,
/// `lmtp`, `pipelining=off`, `chunking=off`, `auth=password:USER:PASS` or
/// `auth=oauth2:USER:TOKEN`, `plaintext-auth`, `abort-on-reject`, `ehlo=NAME`,
/// `timeout=SECONDS` (all timeouts), `window=N`, `inline=N` (BDAT inline limit),
/// `chunk=N` (body chunk), `auth-prefer=A,B`, `max-auth-rounds=N`.
pub fn apply_config(config: &mut Config, settings: &str) {
    for kv in settings.split_whitespace() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "tls" => {
                config.tls = match v {
                    "required" => TlsMode::StartTls(TlsPolicy::Required),
                    "opportunistic" => TlsMode::StartTls(TlsPolicy::Opportunistic),
                    "disabled" => TlsMode::StartTls(TlsPolicy::Disabled),
                    "implicit" => TlsMode::Implicit,
                    _ => panic!("tls={v}?"),
                }
            }
            "lmtp" => config.lmtp = true,
            "pipelining" => config.pipelining = v != "off",
            "chunking" => config.chunking = v != "off",
            "auth" => {
                let mut parts = v.splitn(3, ':');
                let kind = parts.next().unwrap();
                let user = parts.next().expect("auth user");
                let secret = parts.next().expect("auth secret");
                config.credentials = Some(match kind {
                    "password" => Credentials::password(user, secret).unwrap(),
                    "oauth2" => Credentials::oauth2(user, secret).unwrap(),
                    _ => panic!("auth kind {kind}?"),
                });
            }
            "plaintext-auth" => config.allow_plaintext_auth = true,
            "abort-on-reject" => config.abort_on_rejected_recipient = true,
            "ehlo" => config.ehlo_name = smtp_proto::command::EhloName::new(v).unwrap(),
            "timeout" => {
                config.timeouts = smtp_proto::Timeouts::all(Duration::from_secs(v.parse().unwrap()))
            }
            "window" => config.window = v.parse().unwrap(),
            "inline" => config.bdat_inline_limit = v.parse().unwrap(),
            "chunk" => config.body_chunk = v.parse().unwrap(),
            "max-auth-rounds" => config.max_auth_rounds = v.parse().unwrap(),
            "auth-prefer" => {
                config.auth_preference = v
                    .split(',')
                    .map(|m| smtp_proto::command::Mechanism::new(m).unwrap())
                    .collect()
            }
            _ => panic!("unknown config key {k}"),
        }
    }
}

/// Parses `from=<a@b> to=<c@d> [to=...] [body=8bitmime|binarymime] [size=N] [smtputf8]
/// [ret=full|hdrs] [envid=X] [requiretls] [notify=success,failure|never] [orcpt=ADDR]`
/// (`notify` and `orcpt` apply to the `to` before them).
pub fn parse_send(spec: &str) -> Envelope {
    let mut from = None;
    let mut rcpts: Vec<Recipient> = Vec::new();
    let mut env_opts: Vec<(&str, &str)> = Vec::new();
    for kv in spec.split_whitespace() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let strip = |v: &str| v.trim_start_matches('<').trim_end_matches('>').to_string();
        match k {
            "from" => from = Some(ReversePath::new(&strip(v)).expect("from")),
            "to" => rcpts.push(Recipient::new(ForwardPath::new(&strip(v)).expect("to"))),
            "notify" => {
                let n = if v == "never" {
                    Notify::never()
                } else {
                    Notify::on(
                        v.contains("success"),
                        v.contains("failure"),
                        v.contains("delay"),
                    )
                    .unwrap()
                };
                rcpts.last_mut().expect("notify after to").params.notify = Some(n);
            }
            "orcpt" => {
                rcpts.last_mut().expect("orcpt after to").params.orcpt =
                    Some(Orcpt::rfc822(v).unwrap())
            }
            _ => env_opts.push((k, v)),
        }
    }
    let mut env = Envelope::new(from.expect("from="), rcpts);
    for (k, v) in env_opts {
        match k {
            "body" => {
                env.body = match v {
                    "7bit" => BodyType::SevenBit,
                    "8bitmime" => BodyType::EightBitMime,
                    "binarymime" => BodyType::BinaryMime,
                    _ => panic!("body={v}?"),
                }
            }
            "size" => env.size = Some(v.parse().unwrap()),
            "smtputf8" => env.smtputf8 = true,
            "ret" => env.ret = Some(if v == "full" { Ret::Full } else { Ret::Headers }),
            "envid" => env.envid = Some(EnvId::new(v).unwrap()),
            "requiretls" => env.requiretls = true,
            _ => panic!("unknown send option {k}"),
        }
    }
    env
}

/// A reply as `E:` lines show it: the code, the enhanced status code when the client
/// found one (RFC 2034 §4), then each line's text quoted and escaped, the status code
/// taken off the first: `550 5.1.1 "no such user"`, `250 "mx.example.org" "PIPELINING"`.
/// A status code the client did not take as one stays in the text: `550 "4.2.2 full"`.
fn reply_text(r: &smtp_proto::Reply) -> String {
    let mut s = r.code().to_string();
    if let Some(status) = r.enhanced() {
        write!(s, " {status}").unwrap();
    }
    for (i, line) in r.lines().enumerate() {
        let text = match r.enhanced() {
            Some(_) if i == 0 => EnhancedStatus::parse_prefix(line).map_or(line, |(_, t)| t),
            _ => line,
        };
        write!(s, " \"{}\"", Escaped(text)).unwrap();
    }
    s
}

fn failure_text(f: &TxnFailure) -> String {
    match f {
        TxnFailure::Rejected { stage, reply } => format!("rejected {stage} {}", reply_text(reply)),
        TxnFailure::NoRecipients => "no-recipients".into(),
        TxnFailure::RecipientRejected => "recipient-rejected".into(),
        TxnFailure::Refused(e) => format!("refused {e:?}"),
        TxnFailure::SessionClosed => "session-closed".into(),
        other => format!("{other:?}"),
    }
}

fn error_text(e: &Error) -> String {
    match e {
        Error::ServiceUnavailable(r) => format!("service-unavailable {}", reply_text(r)),
        Error::Rejected { stage, reply } => format!("rejected {stage} {}", reply_text(reply)),
        Error::Protocol(ProtocolError::Reply(e)) => format!("malformed-reply {e:?}"),
        Error::Protocol(ProtocolError::UnexpectedReply(r)) => {
            format!("unexpected-reply {}", reply_text(r))
        }
        Error::Protocol(ProtocolError::UnexpectedCode { stage, reply }) => {
            format!("unexpected-code {stage} {}", reply_text(reply))
        }
        Error::Protocol(p) => format!("protocol {p:?}"),
        Error::ResponseInjection => "response-injection".into(),
        Error::TlsRequired(TlsRequiredError::NotOffered) => "tls-required not-offered".into(),
        Error::TlsRequired(TlsRequiredError::Refused(r)) => {
            format!("tls-required refused {}", reply_text(r))
        }
        Error::TlsRequired(TlsRequiredError::EhloRefused(r)) => {
            format!("tls-required ehlo-refused {}", reply_text(r))
        }
        Error::CredentialsWithheld => "credentials-withheld".into(),
        Error::Auth(AuthError::Rejected(r)) => format!("auth rejected {}", reply_text(r)),
        Error::Auth(AuthError::Cancelled(r)) => format!("auth cancelled {}", reply_text(r)),
        Error::Auth(a) => format!("auth {a:?}"),
        Error::Timeout { stage } => format!("timeout {stage}"),
        Error::ConnectionClosed { stage: Some(s) } => format!("connection-closed {s}"),
        Error::ConnectionClosed { stage: None } => "connection-closed idle".into(),
        Error::DataAborted(e) => format!("data-aborted {e:?}"),
        Error::InvalidConfig(e) => format!("invalid-config {}", e.field()),
        other => format!("{other:?}"),
    }
}

fn txn(t: TxnId) -> u64 {
    t.get()
}

/// The stable text form of an output (the `E:` lines). `SendBody` and `Wait` are not
/// described: the harness answers them itself.
pub fn describe(client: &Client, o: &Output) -> Option<String> {
    Some(match o {
        Output::Event(e) => match e {
            Event::Greeting(r) => format!("greeting {}", reply_text(r)),
            Event::Capabilities => {
                let c = client.capabilities();
                let mut s = String::from("capabilities");
                write!(s, " domain={}", Escaped(c.domain().as_bytes())).unwrap();
                let flags = [
                    ("PIPELINING", c.pipelining()),
                    ("STARTTLS", c.starttls()),
                    ("SIZE", c.size_advertised()),
                    ("8BITMIME", c.eight_bit_mime()),
                    ("SMTPUTF8", c.smtputf8()),
                    ("CHUNKING", c.chunking()),
                    ("BINARYMIME", c.binary_mime()),
                    ("DSN", c.dsn()),
                    ("ENHANCEDSTATUSCODES", c.enhanced_status_codes()),
                    ("REQUIRETLS", c.requiretls()),
                ];
                for (name, on) in flags {
                    if on {
                        s.push(' ');
                        s.push_str(name);
                        if let (Some(max), "SIZE") = (c.max_size(), name) {
                            write!(s, "={max}").unwrap();
                        }
                    }
                }
                let mechs: Vec<&str> = c.auth_mechanisms().collect();
                if !mechs.is_empty() {
                    write!(s, " AUTH={}", mechs.join(",")).unwrap();
                }
                s
            }
            Event::TlsEstablished => "tls-established".into(),
            Event::Authenticated(m) => format!("authenticated {}", m.as_str()),
            Event::Ready => "ready".into(),
            Event::RecipientAccepted {
                txn: t,
                rcpt,
                reply,
            } => {
                format!(
                    "rcpt-accepted txn={} rcpt={rcpt} {}",
                    txn(*t),
                    reply_text(reply)
                )
            }
            Event::RecipientRejected {
                txn: t,
                rcpt,
                reply,
            } => {
                format!(
                    "rcpt-rejected txn={} rcpt={rcpt} {}",
                    txn(*t),
                    reply_text(reply)
                )
            }
            Event::RecipientNotAttempted { txn: t, rcpt } => {
                format!("rcpt-not-attempted txn={} rcpt={rcpt}", txn(*t))
            }
            Event::MessageAccepted {
                txn: t,
                rcpt,
                reply,
            } => match rcpt {
                Some(r) => format!(
                    "message-accepted txn={} rcpt={r} {}",
                    txn(*t),
                    reply_text(reply)
                ),
                None => format!("message-accepted txn={} {}", txn(*t), reply_text(reply)),
            },
            Event::TransactionFailed {
                txn: t,
                rcpt,
                failure,
            } => match rcpt {
                Some(r) => format!(
                    "txn-failed txn={} rcpt={r} {}",
                    txn(*t),
                    failure_text(failure)
                ),
                None => format!("txn-failed txn={} {}", txn(*t), failure_text(failure)),
            },
            Event::OutcomeUnknown { txn: t, rcpt } => match rcpt {
                Some(r) => format!("outcome-unknown txn={} rcpt={r}", txn(*t)),
                None => format!("outcome-unknown txn={}", txn(*t)),
            },
            Event::Reply { stage, reply } => format!("reply {stage} {}", reply_text(reply)),
            Event::CommandRefused { stage, error } => format!("command-refused {stage} {error:?}"),
            other => format!("{other:?}"),
        },
        Output::StartTls(_) => "starttls".into(),
        Output::Closed(None) => "closed".into(),
        Output::Closed(Some(e)) => format!("closed error={}", error_text(e)),
        Output::SendBody { .. } | Output::Wait { .. } => return None,
    })
}

/// One transcript, parsed enough to run.
pub struct Transcript {
    pub name: String,
    pub lines: Vec<(usize, String)>,
}

impl Transcript {
    pub fn parse(name: &str, text: &str) -> Self {
        let lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.to_string()))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        Transcript {
            name: name.to_string(),
            lines,
        }
    }

    /// The configuration the transcript asks for.
    pub fn config(&self) -> Config {
        let mut config = Config::new(smtp_proto::command::EhloName::new("client.example").unwrap());
        for (_, l) in &self.lines {
            if let Some(rest) = l.strip_prefix("config:") {
                apply_config(&mut config, rest);
            }
        }
        config
    }
}

/// Drives a client through a transcript, checking every `C:`, `E:` and `D:` line.
pub struct Runner {
    pub client: Client,
    pub now: Instant,
    pub out: Vec<u8>,
    pub produced: VecDeque<String>,
    pub bodies: Vec<Vec<u8>>,
    /// Per transaction: end the content with a separate empty last chunk.
    pub last_empty: Vec<bool>,
    pub body_offsets: Vec<usize>,
    pub tls: Option<smtp_proto::TlsUpgrade>,
    feed: Feed,
    rng: u64,
    /// Every output in order, for comparing modes.
    pub log: Vec<String>,
    pub closed: bool,
    pub wrote_after_close: bool,
    /// The deadline of the `Wait` that ended the last [`Runner::drain`] (`None` when it
    /// ended otherwise): what an adapter would arm its timer with.
    pub waited: Option<Option<Instant>>,
    /// A `D:` line was checked since the last input.
    deadline_checked: bool,
}

impl Runner {
    pub fn new(config: Config, feed: Feed) -> Self {
        let rng = match feed {
            Feed::Random(seed) => seed | 1,
            _ => 1,
        };
        Runner {
            client: Client::new(config, Instant::ZERO),
            now: Instant::ZERO,
            out: Vec::new(),
            produced: VecDeque::new(),
            bodies: Vec::new(),
            last_empty: Vec::new(),
            body_offsets: Vec::new(),
            tls: None,
            feed,
            rng,
            log: Vec::new(),
            closed: false,
            wrote_after_close: false,
            waited: None,
            deadline_checked: false,
        }
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64: deterministic split points without a dependency.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Polls until `Wait` or `Closed`, answering `SendBody` from the transcript's bodies.
    pub fn drain(&mut self) {
        self.waited = None;
        loop {
            let before = self.out.len();
            let o = self.client.poll_output(&mut self.out);
            if self.closed && self.out.len() > before {
                self.wrote_after_close = true;
            }
            if matches!(o, Output::Closed(_)) && self.closed {
                // Polling after Closed keeps returning Closed(None): not news.
                assert!(
                    matches!(o, Output::Closed(None)),
                    "a second Closed with an error"
                );
                return;
            }
            if let Some(text) = describe(&self.client, &o) {
                self.log.push(text.clone());
                self.produced.push_back(text);
            }
            match o {
                Output::SendBody { txn, max_chunk } => {
                    let i = txn.get() as usize;
                    let body = self.bodies.get(i).cloned().unwrap_or_default();
                    let off = self.body_offsets[i];
                    let end = (off + max_chunk).min(body.len());
                    let separate = self.last_empty.get(i).copied().unwrap_or(false);
                    let last = end == body.len() && (!separate || off == end);
                    self.client
                        .send_body(self.now, txn, &body[off..end], last, &mut self.out)
                        .expect("send_body");
                    self.body_offsets[i] = end;
                }
                Output::StartTls(up) => {
                    self.tls = Some(up);
                    return;
                }
                Output::Wait { deadline } => {
                    // The deadline handed to the driver is the one the client keeps.
                    assert_eq!(
                        deadline,
                        self.client.deadline(),
                        "Wait's deadline and Client::deadline differ"
                    );
                    self.waited = Some(deadline);
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

    fn feed_server(&mut self, bytes: &[u8]) {
        match self.feed {
            Feed::Whole => self.client.handle_input(self.now, bytes),
            Feed::ByteByByte => {
                for b in bytes.chunks(1) {
                    self.client.handle_input(self.now, b);
                }
            }
            Feed::Random(_) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let n = 1 + (self.next_rand() as usize) % rest.len();
                    let (a, b) = rest.split_at(n);
                    self.client.handle_input(self.now, a);
                    rest = b;
                }
            }
        }
    }

    /// The server only answers what it was sent: every byte the client wrote so far must
    /// be in `C:` lines before the next `S:`, `TLS` or `EOF`. This is what makes "one
    /// command at a time" and "nothing after STARTTLS" checkable.
    fn assert_flushed(&self, at: &str) {
        assert!(
            self.out.is_empty(),
            "{at}: the client wrote bytes not in a C: line before this point:\n{}",
            escape(&self.out)
        );
    }

    /// Before an input (`S:`, `TLS`, `EOF`, `T:` or an application request): every output
    /// of the previous input must have been matched by `E:` lines already. So an `E:`
    /// line matches only outputs that came after the input before it and before the
    /// next one: an event emitted before its cause fails.
    fn begin_input(&mut self, at: &str) {
        assert!(
            self.produced.is_empty(),
            "{at}: outputs not matched by E: lines before this input: {:?}",
            self.produced
        );
        self.deadline_checked = false;
    }

    /// Under implicit TLS the client's first instruction is the handshake (RFC 8314
    /// §3.3), before anything is read: a `tls=implicit` transcript starts after it, with
    /// the greeting over TLS. So it is checked and completed here, not written in each.
    fn implicit_handshake(&mut self, name: &str) {
        if self.client.config().tls != TlsMode::Implicit || self.closed {
            return;
        }
        let first = self.produced.pop_front();
        assert_eq!(
            first.as_deref(),
            Some("starttls"),
            "{name}: implicit TLS first"
        );
        self.assert_flushed(name);
        assert!(
            !self.client.is_encrypted(),
            "{name}: encrypted before the handshake"
        );
        let up = self.tls.take().expect("StartTls hands over its upgrade");
        self.client.handle_tls_established(self.now, up);
        assert!(
            self.client.is_encrypted(),
            "{name}: encrypted after the handshake"
        );
        self.drain();
    }

    /// Runs every line; panics with the transcript name and line number on a mismatch.
    pub fn run(&mut self, t: &Transcript) {
        let mut i = 0;
        self.drain();
        self.implicit_handshake(&t.name);
        while i < t.lines.len() {
            let (n, line) = &t.lines[i];
            let at = format!("{}:{n}", t.name);
            if line.starts_with("config:") || line.starts_with("adapters:") {
            } else if let Some(rest) = line.strip_prefix("S: ") {
                self.begin_input(&at);
                self.assert_flushed(&at);
                let bytes = unescape(rest);
                self.feed_server(&bytes);
                self.drain();
            } else if line.starts_with("C:") {
                let mut want = Vec::new();
                while i < t.lines.len() && t.lines[i].1.starts_with("C:") {
                    want.extend(unescape(t.lines[i].1.strip_prefix("C: ").unwrap_or("")));
                    i += 1;
                }
                let got = &self.out[..want.len().min(self.out.len())];
                assert!(
                    got == &want[..],
                    "{at}: client bytes differ\n--- expected\n{}\n--- got\n{}",
                    escape(&want),
                    escape(&self.out)
                );
                self.out.drain(..want.len());
                continue;
            } else if let Some(rest) = line.strip_prefix("E: ") {
                let got = self.produced.pop_front();
                assert_eq!(
                    got.as_deref(),
                    Some(rest),
                    "{at}: output differs (pending: {:?})",
                    self.produced
                );
            } else if let Some(rest) = line.strip_prefix("T: +") {
                // A timer transcript states the deadline it moves the clock against.
                assert!(
                    self.deadline_checked,
                    "{at}: a T: line needs a D: line after the input before it (now {:?})",
                    self.client.deadline().map(|d| d - self.now)
                );
                self.begin_input(&at);
                let secs: u64 = rest.trim_end_matches('s').parse().expect("T: +Ns");
                self.now = self.now + Duration::from_secs(secs);
                self.client.handle_timeout(self.now);
                self.drain();
            } else if let Some(rest) = line.strip_prefix("D: ") {
                let got = self.client.deadline().map(|d| d - self.now);
                let want = if rest == "none" {
                    None
                } else {
                    Some(Duration::from_secs(
                        rest.trim_end_matches('s').parse().expect("D: Ns"),
                    ))
                };
                assert_eq!(got, want, "{at}: deadline");
                if let Some(waited) = self.waited {
                    let waited = waited.map(|d| d - self.now);
                    assert_eq!(waited, want, "{at}: the deadline of the last Wait");
                }
                self.deadline_checked = true;
            } else if line == "TLS" {
                self.begin_input(&at);
                self.assert_flushed(&at);
                let up = self
                    .tls
                    .take()
                    .unwrap_or_else(|| panic!("{at}: no StartTls was asked for"));
                self.client.handle_tls_established(self.now, up);
                self.drain();
            } else if line == "EOF" {
                self.begin_input(&at);
                self.assert_flushed(&at);
                self.client.handle_eof(self.now);
                self.drain();
            } else if let Some(rest) = line.strip_prefix("send: ") {
                self.begin_input(&at);
                let env = parse_send(rest);
                let id = self
                    .client
                    .send(self.now, env)
                    .unwrap_or_else(|e| panic!("{at}: send: {e}"));
                let idx = id.get() as usize;
                if self.bodies.len() <= idx {
                    self.bodies.resize(idx + 1, Vec::new());
                    self.body_offsets.resize(idx + 1, 0);
                    self.last_empty.resize(idx + 1, false);
                }
                while i + 1 < t.lines.len() && t.lines[i + 1].1.starts_with("body:") {
                    i += 1;
                    let b = t.lines[i].1.strip_prefix("body:").unwrap();
                    self.bodies[idx].extend(unescape(b.strip_prefix(' ').unwrap_or(b)));
                }
                if i + 1 < t.lines.len() && t.lines[i + 1].1 == "body-last-empty" {
                    i += 1;
                    self.last_empty[idx] = true;
                }
                self.drain();
            } else if line == "noop" {
                self.begin_input(&at);
                self.client.noop(self.now).expect("noop");
                self.drain();
            } else if line == "rset" {
                self.begin_input(&at);
                self.client.rset(self.now).expect("rset");
                self.drain();
            } else if let Some(rest) = line.strip_prefix("vrfy: ") {
                self.begin_input(&at);
                self.client
                    .vrfy(self.now, VrfyArg::new(rest).unwrap())
                    .expect("vrfy");
                self.drain();
            } else if line == "quit" {
                self.begin_input(&at);
                self.client.quit(self.now).expect("quit");
                self.drain();
            } else {
                panic!("{at}: unknown line {line:?}");
            }
            i += 1;
        }
        assert!(
            self.produced.is_empty(),
            "{}: outputs not in the transcript: {:?}",
            t.name,
            self.produced
        );
        assert!(
            self.out.is_empty(),
            "{}: client bytes not in the transcript:\n{}",
            t.name,
            escape(&self.out)
        );
        assert!(
            !self.wrote_after_close,
            "{}: bytes written after Closed",
            t.name
        );
    }
}
