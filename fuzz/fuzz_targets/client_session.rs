//! Whole client sessions: a configuration, then a run of server bytes, clock steps, TLS
//! handshakes and application calls, all read from the input with `arbitrary`.
//!
//! Input layout (so that seeds can be written by hand, see `seed-corpus.py`): two
//! configuration bytes, then operations, each a tag byte and its arguments:
//!
//! | tag % 12 | operation | arguments |
//! |---|---|---|
//! | 0 | one canned server reply | index |
//! | 1 | the modelled server answers the next thing the client wrote (a canned reply once anything else was fed) | shape, shape |
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
//! - the password and token never appear in `Debug` output of the client, events or errors;
//! - while the modelled server (tag 1) is the only source of server bytes, outcomes are
//!   judged against what it did: each of its replies carries a serial naming the command
//!   it answered, so an event's reply must be the very reply to its RCPT, its end of data
//!   (under LMTP: its recipient's final reply) or the refused command at its stage, never
//!   one from a transaction whose MAIL was refused; replies are handed up in the order
//!   sent, none twice; "no recipients", "session closed" and "unknown" must fit what the
//!   server accepted and received; at `Closed` every recipient reply and final reply
//!   the client read is in its report (under LMTP, in that recipient's delivery).
#![no_main]

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use smtp_proto::command::{BodyType, EnvId, ForwardPath, Notify, ReversePath, VrfyArg};
use smtp_proto::reply::{Reply, ReplyLimits, ReplyReader};
use smtp_proto::{
    AuthError, Client, Config, Credentials, Envelope, Error, Event, Instant, MessageOutcome,
    Output, ProtocolError, Recipient, RecipientStatus, Report, Stage, TlsMode, TlsPolicy,
    TlsRequiredError, TlsUpgrade, TxnFailure, TxnId,
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
        c.reply_limits = ReplyLimits::new(64, 4, 256);
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

// ----- the modelled server (tag 1) -----

/// What a modelled reply answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Greeting,
    Hello,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// A BDAT chunk before the last.
    Bdat,
    /// The end of the content: the DATA marker or BDAT LAST.
    End,
    Rset,
    Noop,
    Vrfy,
    Quit,
    Other,
}

/// One modelled reply: what it answered, in which transaction (the n-th MAIL the server
/// saw), for which recipient (RCPT: its index; a final reply under LMTP: the accepted
/// recipient it is for), and its code.
#[derive(Clone, Copy, Debug)]
struct Info {
    verb: Verb,
    mail: Option<usize>,
    rcpt: Option<usize>,
    code: u16,
}

/// What the server did in one transaction.
#[derive(Clone, Debug, Default)]
struct MailRec {
    mail_ok: bool,
    /// Per RCPT index: the serial of its reply and whether that was 2xx.
    rcpts: Vec<Option<(u32, bool)>>,
    /// The end of the content was received.
    ended: bool,
    /// Serials of the replies to the end of the content.
    finals: Vec<u32>,
}

enum Unit {
    Line(Vec<u8>),
    /// The end of the content, and whether it came by BDAT.
    End {
        bdat: bool,
    },
    Chunk,
}

#[derive(Clone, Copy)]
enum Reading {
    Lines,
    Data,
    Bdat { left: usize, last: bool },
}

/// Where the server is in what the client wrote.
#[derive(Clone, Copy)]
struct Cursor {
    pos: usize,
    reading: Reading,
    auth_response_next: bool,
}

impl Cursor {
    /// The next thing the client wrote after the cursor, if it is all there.
    fn next_unit(&mut self, out: &[u8]) -> Option<Unit> {
        let rest = out.get(self.pos..)?;
        match self.reading {
            Reading::Lines => {
                let eol = rest.windows(2).position(|w| w == b"\r\n")?;
                let line = rest[..eol].to_vec();
                self.pos += eol + 2;
                let upper = line.to_ascii_uppercase();
                if !self.auth_response_next && upper.starts_with(b"BDAT ") {
                    let mut words = line[5..].split(|&b| b == b' ');
                    let left = std::str::from_utf8(words.next().unwrap_or(b""))
                        .ok()
                        .and_then(|n| n.parse().ok())
                        .expect("BDAT with a size");
                    let last = words
                        .next()
                        .is_some_and(|w| w.eq_ignore_ascii_case(b"LAST"));
                    self.reading = Reading::Bdat { left, last };
                    return self.next_unit(out);
                }
                Some(Unit::Line(line))
            }
            Reading::Data => {
                let end = if rest.starts_with(b".\r\n") {
                    3
                } else {
                    rest.windows(5).position(|w| w == b"\r\n.\r\n")? + 5
                };
                self.pos += end;
                self.reading = Reading::Lines;
                Some(Unit::End { bdat: false })
            }
            Reading::Bdat { left, last } => {
                if rest.len() < left {
                    return None;
                }
                self.pos += left;
                self.reading = Reading::Lines;
                Some(if last {
                    Unit::End { bdat: true }
                } else {
                    Unit::Chunk
                })
            }
        }
    }
}

/// A server that answers what the client actually wrote, each reply carrying a serial
/// (`s17`) in its text, so that every reply an event or a report hands up can be traced
/// to the command it answered. Valid only while it is the only source of server bytes.
struct Model {
    valid: bool,
    lmtp: bool,
    cur: Cursor,
    greeted: bool,
    serial: u32,
    infos: HashMap<u32, Info>,
    mails: Vec<MailRec>,
    /// The RCPTs of the current transaction so far.
    rcpt: usize,
    /// The latest serial the client has certainly read (it stayed open after it).
    read_upto: u32,
    /// Transactions and MAIL ordinals, as events have tied them.
    txn_of_mail: HashMap<usize, TxnId>,
    mail_of_txn: HashMap<TxnId, usize>,
    /// The latest serial an event handed up as new.
    handed_up: u32,
}

/// The serial a modelled reply carries.
fn serial_of(reply: &Reply) -> Option<u32> {
    let first = reply.first_line();
    first.split(|&b| b == b' ').find_map(|w| {
        std::str::from_utf8(w.strip_prefix(b"s")?)
            .ok()?
            .parse()
            .ok()
    })
}

impl Model {
    fn new(lmtp: bool) -> Self {
        Model {
            valid: true,
            lmtp,
            cur: Cursor {
                pos: 0,
                reading: Reading::Lines,
                auth_response_next: false,
            },
            greeted: false,
            serial: 0,
            infos: HashMap::new(),
            mails: Vec::new(),
            rcpt: 0,
            read_upto: 0,
            txn_of_mail: HashMap::new(),
            mail_of_txn: HashMap::new(),
            handed_up: 0,
        }
    }

    /// Whether the client wrote the end of the content of the `mail`-th transaction,
    /// read by the server or still unread behind its cursor.
    fn content_ended(&self, out: &[u8], mail: usize) -> bool {
        if self.mails[mail].ended {
            return true;
        }
        let mut cursor = self.cur;
        let mut current = self.mails.len().checked_sub(1);
        while let Some(unit) = cursor.next_unit(out) {
            match unit {
                Unit::Line(line) if line.to_ascii_uppercase().starts_with(b"MAIL ") => {
                    current = Some(current.map_or(0, |c| c + 1));
                }
                Unit::End { .. } if current == Some(mail) => return true,
                _ => {}
            }
        }
        false
    }

    fn reply(&mut self, bytes: &mut Vec<u8>, info: Info, enhanced: &str, text: &str) -> u32 {
        self.serial += 1;
        let n = self.serial;
        self.infos.insert(n, info);
        let sep = if enhanced.is_empty() { "" } else { " " };
        bytes.extend_from_slice(format!("{}{sep}{enhanced} s{n} {text}\r\n", info.code).as_bytes());
        n
    }

    /// The server's answer to the next unit, shaped by `x` and `y`; empty when the
    /// client has written nothing to answer.
    fn answer(&mut self, out: &[u8], x: u8, y: u8) -> Vec<u8> {
        let mut bytes = Vec::new();
        let info = |verb, code| Info {
            verb,
            mail: None,
            rcpt: None,
            code,
        };
        if !self.greeted {
            self.greeted = true;
            let code = if x % 8 == 7 { 554 } else { 220 };
            self.reply(
                &mut bytes,
                info(Verb::Greeting, code),
                "",
                "mx.example ESMTP",
            );
            return bytes;
        }
        let Some(unit) = self.cur.next_unit(out) else {
            return bytes;
        };
        let mail = self.mails.len().checked_sub(1);
        // 421 ends the session whatever the command (RFC 5321 §3.8).
        let shut = x % 16 == 15;
        let line = match unit {
            Unit::Line(line) => line,
            Unit::Chunk => {
                let code = if shut {
                    421
                } else if x % 4 == 3 {
                    554
                } else {
                    250
                };
                let i = Info {
                    mail,
                    ..info(Verb::Bdat, code)
                };
                self.reply(&mut bytes, i, "", "chunk");
                return bytes;
            }
            Unit::End { bdat } => {
                let Some(m) = mail else {
                    self.reply(&mut bytes, info(Verb::End, 503), "5.5.1", "no mail");
                    return bytes;
                };
                self.mails[m].ended = true;
                // RFC 2033 §4.2: under LMTP one reply per accepted recipient, and none to
                // a BDAT LAST with none accepted (§4.3).
                let accepted: Vec<usize> = self.mails[m]
                    .rcpts
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.is_some_and(|(_, ok)| ok))
                    .map(|(j, _)| j)
                    .collect();
                let finals: Vec<Option<usize>> = if !self.lmtp || !self.mails[m].mail_ok {
                    vec![None]
                } else if accepted.is_empty() {
                    if bdat {
                        vec![]
                    } else {
                        vec![None]
                    }
                } else {
                    accepted.iter().map(|&j| Some(j)).collect()
                };
                for (k, rcpt) in finals.into_iter().enumerate() {
                    let code = if shut && k == 0 {
                        421
                    } else if !self.mails[m].mail_ok {
                        503
                    } else if accepted.is_empty() {
                        554
                    } else {
                        match (x >> k) % 4 {
                            0 | 1 => 250,
                            2 => 451,
                            _ => 554,
                        }
                    };
                    let i = Info {
                        mail,
                        rcpt,
                        ..info(Verb::End, code)
                    };
                    let n = self.reply(&mut bytes, i, "", "end");
                    self.mails[m].finals.push(n);
                    if code == 421 {
                        break;
                    }
                }
                return bytes;
            }
        };
        if self.cur.auth_response_next {
            self.cur.auth_response_next = false;
            return self.auth_reply(x, shut);
        }
        let upper = line.to_ascii_uppercase();
        let verb = upper.split(|&b| b == b' ').next().unwrap_or(b"");
        let code = |ok: u16| if shut { 421 } else { ok };
        match verb {
            b"EHLO" | b"LHLO" => {
                if shut || x % 8 == 6 {
                    let c = code(502);
                    self.reply(&mut bytes, info(Verb::Hello, c), "", "no");
                    return bytes;
                }
                self.serial += 1;
                let n = self.serial;
                self.infos.insert(n, info(Verb::Hello, 250));
                bytes.extend_from_slice(format!("250-mx.example s{n}\r\n").as_bytes());
                let caps = [
                    "PIPELINING",
                    "CHUNKING",
                    "STARTTLS",
                    "AUTH PLAIN LOGIN",
                    "8BITMIME",
                    "SMTPUTF8",
                    "DSN",
                    "SIZE 1000",
                ];
                for (b, c) in caps.iter().enumerate() {
                    if y >> b & 1 == 1 {
                        bytes.extend_from_slice(format!("250-{c}\r\n").as_bytes());
                    }
                }
                bytes.extend_from_slice(b"250 ENHANCEDSTATUSCODES\r\n");
            }
            b"HELO" => {
                self.reply(&mut bytes, info(Verb::Hello, code(250)), "", "mx.example");
            }
            b"STARTTLS" => {
                let c = code(if x % 4 == 2 { 454 } else { 220 });
                self.reply(&mut bytes, info(Verb::StartTls, c), "", "tls");
            }
            b"AUTH" => return self.auth_reply(x, shut),
            b"MAIL" => {
                self.mails.push(MailRec::default());
                self.rcpt = 0;
                let c = code(match x % 8 {
                    5 => 451,
                    6 => 550,
                    _ => 250,
                });
                let m = self.mails.len() - 1;
                self.mails[m].mail_ok = c == 250;
                let i = Info {
                    mail: Some(m),
                    ..info(Verb::Mail, c)
                };
                self.reply(&mut bytes, i, "", "mail");
            }
            b"RCPT" => {
                let (c, enhanced) = match x % 8 {
                    _ if shut => (421, "4.3.2"),
                    4 => (450, "4.2.1"),
                    5 => (550, "5.1.1"),
                    6 => (452, "4.5.3"),
                    7 => (452, "4.2.2"),
                    _ => (250, "2.1.5"),
                };
                let j = self.rcpt;
                self.rcpt += 1;
                let i = Info {
                    mail,
                    rcpt: Some(j),
                    ..info(Verb::Rcpt, c)
                };
                let n = self.reply(&mut bytes, i, enhanced, "rcpt");
                if let Some(m) = mail {
                    let r = &mut self.mails[m].rcpts;
                    if r.len() <= j {
                        r.resize(j + 1, None);
                    }
                    r[j] = Some((n, c / 100 == 2));
                }
            }
            b"DATA" => {
                let ready = mail.is_some_and(|m| {
                    self.mails[m].mail_ok
                        && self.mails[m]
                            .rcpts
                            .iter()
                            .any(|r| r.is_some_and(|(_, ok)| ok))
                });
                let c = code(match x % 4 {
                    2 => 451,
                    3 => 554,
                    _ if ready => 354,
                    _ => 554,
                });
                if c == 354 {
                    self.cur.reading = Reading::Data;
                }
                let i = Info {
                    mail,
                    ..info(Verb::Data, c)
                };
                self.reply(&mut bytes, i, "", "data");
            }
            b"RSET" => {
                self.reply(&mut bytes, info(Verb::Rset, code(250)), "", "reset");
            }
            b"NOOP" => {
                self.reply(&mut bytes, info(Verb::Noop, code(250)), "", "noop");
            }
            b"VRFY" => {
                let c = code(if x % 2 == 0 { 252 } else { 550 });
                self.reply(&mut bytes, info(Verb::Vrfy, c), "", "vrfy");
            }
            b"QUIT" => {
                self.reply(&mut bytes, info(Verb::Quit, 221), "", "bye");
            }
            _ => {
                self.reply(&mut bytes, info(Verb::Other, code(500)), "", "what");
            }
        }
        bytes
    }

    fn auth_reply(&mut self, x: u8, shut: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        let code = if shut {
            421
        } else {
            match x % 4 {
                0 | 1 => 235,
                2 => 334,
                _ => 535,
            }
        };
        self.cur.auth_response_next = code == 334;
        let info = Info {
            verb: Verb::Auth,
            mail: None,
            rcpt: None,
            code,
        };
        if code == 334 {
            self.serial += 1;
            self.infos.insert(self.serial, info);
            // An empty challenge, and no serial: the client answers it, it never shows it.
            bytes.extend_from_slice(b"334 \r\n");
        } else {
            self.reply(&mut bytes, info, "", "auth");
        }
        bytes
    }

    /// Ties transaction `txn` to the `mail`-th MAIL: always the same one, both ways.
    fn tie(&mut self, txn: TxnId, mail: usize) {
        let m = *self.mail_of_txn.entry(txn).or_insert(mail);
        let t = *self.txn_of_mail.entry(mail).or_insert(txn);
        assert!(
            m == mail && t == txn,
            "{txn:?} reported with the reply to MAIL #{mail}, but it is tied to MAIL #{m} ({t:?})"
        );
    }

    /// The modelled reply `reply` is, or `None` when it is not one (no serial).
    fn info(&self, reply: &Reply) -> Option<Info> {
        let info = *self.infos.get(&serial_of(reply)?)?;
        assert_eq!(info.code, reply.code().get(), "serial and code disagree");
        Some(info)
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
    model: Model,
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
        // With the modelled server every reply is known: one handed up as new must be
        // later than the last one (never one already handed up, never out of order).
        if self.model.valid && !stored {
            if let Some(n) = serial_of(reply) {
                assert!(
                    n > self.model.handed_up,
                    "{what}: reply s{n} handed up after s{}",
                    self.model.handed_up
                );
                self.model.handed_up = n;
            }
        }
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

    /// With the modelled server: each event is what the server did, reply for reply.
    fn judge(&mut self, e: &Event) {
        if !self.model.valid {
            return;
        }
        let lmtp = self.lmtp;
        let m = &mut self.model;
        match e {
            Event::Greeting(r) => {
                let i = m.info(r).expect("a greeting the server never sent");
                assert_eq!(i.verb, Verb::Greeting);
            }
            Event::RecipientAccepted { txn, rcpt, reply }
            | Event::RecipientRejected { txn, rcpt, reply } => {
                let i = m
                    .info(reply)
                    .expect("an RCPT event with a reply never sent");
                assert_eq!(i.verb, Verb::Rcpt, "{e:?} carries the reply to {i:?}");
                assert_eq!(i.rcpt, Some(*rcpt), "{e:?}: the reply is for another RCPT");
                let accepted = matches!(e, Event::RecipientAccepted { .. });
                assert_eq!(reply.is_positive(), accepted, "{e:?}");
                let mail = i.mail.expect("an RCPT before any MAIL");
                assert!(m.mails[mail].mail_ok, "{e:?}: its MAIL was refused");
                m.tie(*txn, mail);
            }
            Event::MessageAccepted { txn, rcpt, reply } => {
                let i = m.info(reply).expect("accepted with a reply never sent");
                assert_eq!(i.verb, Verb::End, "{e:?} carries the reply to {i:?}");
                assert!(reply.is_positive());
                m.tie(*txn, i.mail.expect("an end of data before any MAIL"));
                if lmtp {
                    assert_eq!(i.rcpt, *rcpt, "{e:?}: the final reply of another recipient");
                }
            }
            Event::TransactionFailed { txn, rcpt, failure } => match failure {
                TxnFailure::Rejected { stage, reply } => {
                    let i = m.info(reply).expect("a refusal the server never sent");
                    let verb = match stage {
                        Stage::Mail => Verb::Mail,
                        Stage::Rcpt => Verb::Rcpt,
                        Stage::Data => Verb::Data,
                        Stage::DataBlock => Verb::Bdat,
                        Stage::DataEnd => Verb::End,
                        other => panic!("{e:?}: a transaction refused at {other}"),
                    };
                    assert!(!reply.is_positive() && !reply.is_intermediate(), "{e:?}");
                    // A 421 answers whatever was owed first (RFC 5321 §3.8).
                    assert!(
                        i.verb == verb || i.code == 421,
                        "{e:?} carries the reply to {i:?}"
                    );
                    if i.verb == verb {
                        m.tie(*txn, i.mail.expect("a transaction reply before any MAIL"));
                        if lmtp && verb == Verb::End && rcpt.is_some() && i.code != 421 {
                            assert_eq!(i.rcpt, *rcpt, "{e:?}: another recipient's final reply");
                        }
                    }
                }
                TxnFailure::NoRecipients => {
                    if let Some(&mail) = m.mail_of_txn.get(txn) {
                        let any = m.mails[mail]
                            .rcpts
                            .iter()
                            .any(|r| r.is_some_and(|(_, ok)| ok));
                        assert!(!any, "{e:?}, yet the server accepted a recipient");
                    }
                }
                TxnFailure::SessionClosed => {
                    if let Some(&mail) = m.mail_of_txn.get(txn) {
                        let r = &m.mails[mail];
                        assert!(
                            !(r.mail_ok && r.ended && r.finals.is_empty()),
                            "{e:?}: \"never delivered\", yet the server has the whole message"
                        );
                    }
                }
                _ => {}
            },
            Event::OutcomeUnknown { txn, .. } => {
                if let Some(&mail) = m.mail_of_txn.get(txn) {
                    assert!(
                        m.content_ended(&self.out, mail),
                        "{e:?}: the message never went out whole"
                    );
                }
            }
            Event::Reply { stage, reply } => {
                if let Some(i) = m.info(reply) {
                    let verb = match stage {
                        Stage::Noop => Verb::Noop,
                        Stage::Rset => Verb::Rset,
                        Stage::Vrfy => Verb::Vrfy,
                        _ => i.verb,
                    };
                    assert_eq!(i.verb, verb, "{e:?} carries the reply to {i:?}");
                }
            }
            _ => {}
        }
    }

    /// At `Closed`, with the modelled server: every reply the client certainly read
    /// that decides a recipient or (SMTP) the message is in the report.
    fn judge_reports(&self) {
        if !self.model.valid {
            return;
        }
        let m = &self.model;
        for (id, report) in &self.txns {
            let Some(&mail) = m.mail_of_txn.get(id) else {
                continue;
            };
            let rec = &m.mails[mail];
            let read = |n: u32| n <= m.read_upto && m.infos[&n].code != 421;
            if rec.mail_ok {
                for (j, r) in rec.rcpts.iter().enumerate() {
                    let Some((n, _)) = *r else { continue };
                    if !read(n) {
                        continue;
                    }
                    let got = match report.recipients.get(j) {
                        Some(RecipientStatus::Accepted(r) | RecipientStatus::Rejected(r)) => {
                            serial_of(r)
                        }
                        _ => None,
                    };
                    assert_eq!(got, Some(n), "{id:?} recipient {j}: {report:?}");
                }
            }
            // RFC 2033 §4.2: under LMTP each final reply is its recipient's delivery.
            if self.lmtp {
                for &n in &rec.finals {
                    let Some(j) = m.infos[&n].rcpt.filter(|_| read(n)) else {
                        continue;
                    };
                    let got = match report.deliveries.get(j).cloned().flatten() {
                        Some(MessageOutcome::Accepted(r)) => serial_of(&r),
                        Some(MessageOutcome::Failed(TxnFailure::Rejected {
                            stage: Stage::DataEnd,
                            reply,
                        })) => serial_of(&reply),
                        _ => None,
                    };
                    assert_eq!(got, Some(n), "{id:?} recipient {j}: final s{n}: {report:?}");
                }
            }
            // An earlier failure (MAIL refused, every RCPT refused, a refused chunk) is
            // the outcome even when a reply to content pipelined behind it was read: the
            // first failure stands (`judge` holds each such failure to the server's
            // replies when its event comes).
            let earlier = matches!(
                &report.outcome,
                Some(MessageOutcome::Failed(f))
                    if !matches!(f, TxnFailure::Rejected { stage: Stage::DataEnd, .. })
            );
            if let (false, false, Some(&n)) = (self.lmtp, earlier, rec.finals.first()) {
                if read(n) {
                    let got = match &report.outcome {
                        Some(MessageOutcome::Accepted(r)) => serial_of(r),
                        Some(MessageOutcome::Failed(TxnFailure::Rejected {
                            stage: Stage::DataEnd,
                            reply,
                        })) => serial_of(reply),
                        _ => None,
                    };
                    assert_eq!(got, Some(n), "{id:?}: the final reply s{n}: {report:?}");
                }
            }
        }
    }

    fn event(&mut self, e: Event) {
        self.judge(&e);
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
                    self.judge_reports();
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

    /// Server bytes; `modelled`: from the modelled server (anything else ends its
    /// validity: it no longer knows what the client has read).
    fn input(&mut self, bytes: &[u8], modelled: bool) {
        if !modelled {
            self.model.valid = false;
        }
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
        if modelled && !self.client.is_closed() {
            self.model.read_upto = self.model.serial;
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
    let lmtp = config.lmtp;
    let implicit = config.tls == TlsMode::Implicit;
    let mut h = Harness {
        lmtp: config.lmtp,
        allow_plaintext: config.allow_plaintext_auth,
        encrypted: false,
        client: Client::new(config, Instant::ZERO),
        now: Duration::ZERO,
        out: Vec::new(),
        closed: false,
        tls_pending: None,
        starttls_unanswered: false,
        shadow: ReplyReader::new(ReplyLimits::new(1 << 20, 1 << 20, 1 << 24)),
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
        model: Model::new(lmtp),
    };
    h.drain();
    // Implicit TLS (RFC 8314 §3.3): the client's first instruction is the handshake;
    // it completes before the server says anything.
    if let Some(upgrade) = h.tls_pending.take().filter(|_| implicit) {
        h.client.handle_tls_established(Instant::ZERO, upgrade);
        h.encrypted = true;
        assert!(h.client.is_encrypted());
        h.drain();
    }
    let mut ops = 0;
    while !u.is_empty() && ops < 512 {
        ops += 1;
        let tag: u8 = u.arbitrary().unwrap_or(0);
        let x: u8 = u.arbitrary().unwrap_or(0);
        match tag % 12 {
            0 => h.input(canned(x), false),
            1 if h.model.valid => {
                let y: u8 = u.arbitrary().unwrap_or(0);
                let bytes = h.model.answer(&h.out, x, y);
                if !bytes.is_empty() {
                    h.input(&bytes, true);
                }
            }
            1 => h.input(canned(x), false),
            2 => {
                let y: u8 = u.arbitrary().unwrap_or(0);
                h.input(&[canned(x), canned(y)].concat(), false);
            }
            3 => {
                let bytes = u.bytes(usize::from(x).min(u.len())).unwrap_or(&[]);
                h.input(bytes, false);
            }
            4 => {
                let reply = canned(x);
                let cut: u8 = u.arbitrary().unwrap_or(0);
                let (first, second) = reply.split_at(usize::from(cut) % (reply.len() + 1));
                h.input(first, false);
                h.input(second, false);
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
