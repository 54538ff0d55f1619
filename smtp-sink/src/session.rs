//! One connection's protocol, without I/O: input bytes in ([`Session::handle`]), replies
//! appended to [`Session::out`], and what the connection must do next ([`Next`]).
//!
//! Commands are read as they come and answered in order; the caller writes `out` only
//! when the input is used up, so a pipelined flight of commands (RFC 2920) gets one
//! flight of replies.

use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::{Reply, ReplyCode};

use crate::auth::{self, Pending, Step};
use crate::command::{self, Command, Hello};
use crate::config::{Extension, Protocol};
use crate::content::{Content, DataReader};
use crate::faults::Cue;
use crate::record::{AuthInfo, End, MessageRecord, Param, RcptRecord, TlsInfo, Transfer};
use crate::rules::{self, Action};
use crate::server::Shared;

/// A command line longer than this (line end excluded) closes the connection. RFC 5321
/// §4.5.3.1.4 asks for 512; AUTH responses with tokens need more.
const MAX_LINE: usize = 16 * 1024;
/// Recipients per transaction (RFC 5321 §4.5.3.1.8 asks for at least 100).
const MAX_RECIPIENTS: usize = 1000;
/// Content kept per message when no SIZE limit is set.
const MAX_KEPT: u64 = 64 << 20;

/// What the connection does after [`Session::handle`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Write `out` if it has anything, then read more input.
    Read,
    /// Write `out`, then close.
    Close(End),
    /// Write `out`, then reset the connection (RST).
    Reset,
    /// Write `out`, drop the rest of the input (RFC 3207 §4.2), then the TLS handshake.
    StartTls,
    /// Write `out`, then stay silent.
    Stall,
}

enum Mode {
    Command,
    Auth(Pending),
    Data(DataReader),
    Bdat {
        left: u64,
        last: bool,
        /// The refusal to give once the chunk is read (BDAT must be read either way).
        refuse: Option<(u16, &'static str)>,
    },
}

struct Rcpt {
    to: ForwardPath,
    params: Vec<Param>,
    reply: Option<Reply>,
    accepted: bool,
}

struct Txn {
    from: ReversePath,
    params: Vec<Param>,
    smtputf8: bool,
    binary: bool,
    rcpts: Vec<Rcpt>,
    accepted: usize,
    content: Content,
    chunks: usize,
}

/// What is being recorded for the connection, published to the store in batches.
#[derive(Default)]
struct Log {
    commands: Vec<String>,
    replies: Vec<Reply>,
}

pub(crate) struct Session<'a> {
    shared: &'a Shared,
    id: u64,
    /// Replies not yet written.
    pub(crate) out: Vec<u8>,
    mode: Mode,
    hello: Option<Hello>,
    tls: bool,
    auth_user: Option<String>,
    txn: Option<Txn>,
    accepted_messages: u64,
    log: Option<Log>,
    pub(crate) client_flights: u64,
    pub(crate) server_flights: u64,
}

impl<'a> Session<'a> {
    pub(crate) fn new(shared: &'a Shared, id: u64) -> Self {
        Session {
            shared,
            id,
            out: Vec::with_capacity(1024),
            mode: Mode::Command,
            hello: None,
            tls: false,
            auth_user: None,
            txn: None,
            accepted_messages: 0,
            log: (!shared.config.discard).then(Log::default),
            client_flights: 0,
            server_flights: 0,
        }
    }

    fn has(&self, e: Extension) -> bool {
        self.shared.config.extensions.has(e)
    }

    fn lmtp(&self) -> bool {
        self.shared.config.protocol == Protocol::Lmtp
    }

    fn stalls(&self, cue: Cue) -> bool {
        self.shared.config.faults.stalls(&self.shared.cues, cue)
    }

    // ------------------------------------------------------------------ replies

    /// Writes `code text`; without ENHANCEDSTATUSCODES the text loses its leading
    /// `x.y.z ` (RFC 2034 §3: the codes are sent only when the extension is offered).
    /// Written straight into `out` rather than through [`Reply::encode`]: a `Reply` costs
    /// an allocation, paid only when recording (discarding mode is for speed).
    fn say(&mut self, code: u16, text: &str) -> Option<Reply> {
        let text = match self.has(Extension::EnhancedStatusCodes) {
            true => text,
            false => strip_enhanced(text),
        };
        self.out.extend_from_slice(itoa3(code).as_slice());
        self.out.push(b' ');
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.logged(|| reply(code, &[text]))
    }

    /// Writes a multi-line reply (RFC 5321 §4.2.1).
    fn say_lines(&mut self, code: u16, lines: &[&str]) {
        for (i, line) in lines.iter().enumerate() {
            self.out.extend_from_slice(itoa3(code).as_slice());
            self.out.push(if i + 1 < lines.len() { b'-' } else { b' ' });
            self.out.extend_from_slice(line.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.logged(|| reply(code, lines));
    }

    /// Writes a reply a rule chose, as given.
    fn say_reply(&mut self, r: &Reply) -> Option<Reply> {
        r.encode(&mut self.out);
        self.logged(|| r.clone())
    }

    /// Records a reply just written, when recording; returns it.
    fn logged(&mut self, r: impl FnOnce() -> Reply) -> Option<Reply> {
        let log = self.log.as_mut()?;
        let r = r();
        log.replies.push(r.clone());
        Some(r)
    }

    fn log_command(&mut self, line: impl FnOnce() -> String) {
        if let Some(log) = &mut self.log {
            log.commands.push(line());
        }
    }

    /// Hands the commands and replies logged so far, and the flight counts, to the store.
    pub(crate) fn publish(&mut self) {
        let Some(log) = &mut self.log else { return };
        let (commands, replies) = (
            std::mem::take(&mut log.commands),
            std::mem::take(&mut log.replies),
        );
        let (cf, sf) = (self.client_flights, self.server_flights);
        self.shared.store.update(self.id, |c| {
            c.commands.extend(commands);
            c.replies.extend(replies);
            c.client_flights = cf;
            c.server_flights = sf;
        });
    }

    // ------------------------------------------------------------------ connection events

    /// The greeting (RFC 5321 §4.3.1), or 421 and close on cue.
    pub(crate) fn greeting(&mut self, connection_number: u64) -> Next {
        let host = self.shared.config.hostname.clone();
        if self
            .shared
            .config
            .faults
            .greeting_refused(connection_number)
        {
            self.say(
                421,
                &format!("{host} Service not available, closing channel"),
            );
            return Next::Close(End::Fault("421 greeting"));
        }
        if self.stalls(Cue::Greeting) {
            return Next::Stall;
        }
        let proto = if self.lmtp() { "LMTP" } else { "ESMTP" };
        self.say(220, &format!("{host} {proto} smtp-sink ready"));
        Next::Read
    }

    /// TLS is up: the client starts over (RFC 3207 §4.2).
    pub(crate) fn tls_started(&mut self, implicit: bool, version: Option<String>, resumed: bool) {
        self.tls = true;
        self.hello = None;
        self.auth_user = None;
        self.txn = None;
        if self.log.is_some() {
            let tls = TlsInfo {
                implicit,
                version: version.unwrap_or_default(),
                resumed,
            };
            self.shared.store.update(self.id, |c| c.tls = Some(tls));
        }
    }

    /// No input for the idle timeout.
    pub(crate) fn idle(&mut self) {
        self.say(421, "4.4.2 Idle timeout exceeded, closing connection");
    }

    // ------------------------------------------------------------------ input

    /// Reads as much of `input` as makes complete commands or content, answering into
    /// `out`; returns how much it used and what to do next.
    pub(crate) fn handle(&mut self, input: &[u8]) -> (usize, Next) {
        let mut pos = 0;
        let next = loop {
            let rest = &input[pos..];
            let step = match &mut self.mode {
                Mode::Command | Mode::Auth(_) => match memchr::memchr(b'\n', rest) {
                    Some(nl) => {
                        pos += nl + 1;
                        let line = &rest[..nl];
                        self.line(line.strip_suffix(b"\r").unwrap_or(line))
                    }
                    None if rest.len() > MAX_LINE => {
                        self.say(500, "5.5.6 Line too long");
                        Some(Next::Close(End::Fault("line too long")))
                    }
                    None => Some(Next::Read),
                },
                Mode::Data(reader) => {
                    let txn = self.txn.as_mut().expect("DATA mode has a transaction");
                    let (used, done) = reader.read(rest, &mut txn.content);
                    pos += used;
                    match done {
                        true => self.end_of_data(),
                        false => Some(Next::Read),
                    }
                }
                Mode::Bdat { left, last, refuse } => {
                    let mut scratch = Content::new(false);
                    let content = match &mut self.txn {
                        Some(t) if refuse.is_none() => &mut t.content,
                        _ => &mut scratch,
                    };
                    pos += content.take_chunk(rest, left);
                    match *left {
                        0 => {
                            let (last, refuse) = (*last, *refuse);
                            self.mode = Mode::Command;
                            self.chunk_read(last, refuse)
                        }
                        _ => Some(Next::Read),
                    }
                }
            };
            if let Some(next) = step {
                break next;
            }
        };
        self.publish();
        (pos, next)
    }

    /// One command line (or AUTH response line), without its line end.
    fn line(&mut self, line: &[u8]) -> Option<Next> {
        let Ok(line) = std::str::from_utf8(line) else {
            self.log_command(|| String::from_utf8_lossy(line).into_owned());
            self.say(500, "5.5.2 Invalid UTF-8 in command");
            return None;
        };
        if let Mode::Auth(_) = self.mode {
            let Mode::Auth(pending) = std::mem::replace(&mut self.mode, Mode::Command) else {
                unreachable!()
            };
            self.log_command(|| "***".into());
            return self.auth_step(auth::respond(&self.shared.config.users, pending, line));
        }
        let cmd = command::parse(line);
        self.log_command(|| match cmd {
            Command::Auth(m, Some(_)) => format!("AUTH {m} ***"),
            _ => line.to_string(),
        });
        match cmd {
            Command::Hello(kind, name) => self.hello(kind, name),
            Command::Mail(path, params) => self.mail(path, params),
            Command::Rcpt(path, params) => self.rcpt(path, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => self.simple(Cue::Rset, 250, "2.0.0 Ok", |s| s.txn = None),
            Command::Noop => self.simple(Cue::Noop, 250, "2.0.0 Ok", |_| {}),
            Command::Quit => {
                if self.stalls(Cue::Quit) {
                    return Some(Next::Stall);
                }
                self.say(221, "2.0.0 Bye");
                Some(Next::Close(End::Quit))
            }
            Command::StartTls => self.starttls(),
            Command::Auth(mechanism, initial) => self.auth(mechanism, initial),
            Command::Vrfy => self.reply(252, "2.5.2 Cannot VRFY user, but will accept message"),
            Command::Help => self.reply(214, "2.0.0 See RFC 5321"),
            Command::Syntax(why) => self.reply(501, why),
            Command::Unknown => self.reply(500, "5.5.2 Command unrecognized"),
        }
    }

    fn reply(&mut self, code: u16, text: &str) -> Option<Next> {
        self.say(code, text);
        None
    }

    fn simple(&mut self, cue: Cue, code: u16, text: &str, f: fn(&mut Self)) -> Option<Next> {
        if self.stalls(cue) {
            return Some(Next::Stall);
        }
        f(self);
        self.reply(code, text)
    }

    // ------------------------------------------------------------------ commands

    /// EHLO/HELO (RFC 5321 §4.1.1.1) or LHLO (RFC 2033 §4.1).
    fn hello(&mut self, kind: Hello, name: &str) -> Option<Next> {
        let lmtp = self.lmtp();
        if lmtp != (kind == Hello::Lhlo) {
            let why = match lmtp {
                true => "5.5.1 LMTP: use LHLO",
                false => "5.5.1 LHLO is LMTP's",
            };
            return self.reply(500, why);
        }
        if self.stalls(Cue::Hello) {
            return Some(Next::Stall);
        }
        self.hello = Some(kind);
        self.txn = None;
        if self.log.is_some() {
            let name = name.to_string();
            self.shared.store.update(self.id, |c| c.hello = Some(name));
        }
        let host = &self.shared.config.hostname;
        if kind == Hello::Helo {
            let text = host.clone();
            return self.reply(250, &text);
        }
        let first = format!("{host} greets {name}");
        let mut lines: Vec<String> = vec![first];
        let c = &self.shared.config;
        let offer = |e| c.extensions.has(e);
        if offer(Extension::Pipelining) {
            lines.push("PIPELINING".into());
        }
        if offer(Extension::Size) {
            lines.push(match c.max_size {
                0 => "SIZE".into(),
                n => format!("SIZE {n}"),
            });
        }
        if offer(Extension::EightBitMime) {
            lines.push("8BITMIME".into());
        }
        if offer(Extension::SmtpUtf8) {
            lines.push("SMTPUTF8".into());
        }
        if offer(Extension::Chunking) {
            lines.push("CHUNKING".into());
            if offer(Extension::BinaryMime) {
                lines.push("BINARYMIME".into());
            }
        }
        if offer(Extension::Dsn) {
            lines.push("DSN".into());
        }
        if offer(Extension::EnhancedStatusCodes) {
            lines.push("ENHANCEDSTATUSCODES".into());
        }
        if self.starttls_offered() {
            lines.push("STARTTLS".into());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN XOAUTH2".into());
        }
        if self.requiretls_offered() {
            lines.push("REQUIRETLS".into());
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.say_lines(250, &lines);
        None
    }

    /// The largest content accepted (and kept): the SIZE limit, else [`MAX_KEPT`].
    fn max_kept(&self) -> u64 {
        match self.shared.config.max_size {
            0 => MAX_KEPT,
            n => n,
        }
    }

    fn starttls_offered(&self) -> bool {
        self.has(Extension::StartTls) && !self.tls && !self.shared.config.implicit_tls
    }

    /// RFC 8689 §4: REQUIRETLS means anything only on an encrypted session.
    fn requiretls_offered(&self) -> bool {
        self.shared.config.requiretls && self.tls
    }

    fn auth_offered(&self) -> bool {
        let c = &self.shared.config;
        self.has(Extension::Auth) && !c.users.is_empty() && (self.tls || !c.auth_requires_tls)
    }

    /// MAIL (RFC 5321 §4.1.1.2) with the parameters of the offered extensions.
    fn mail(&mut self, path: &str, params: &str) -> Option<Next> {
        if self.hello.is_none() {
            return self.reply(503, "5.5.1 Send EHLO first");
        }
        if self.txn.is_some() {
            return self.reply(503, "5.5.1 Nested MAIL command");
        }
        if self.shared.config.require_auth && self.auth_user.is_none() {
            return self.reply(530, "5.7.0 Authentication required");
        }
        if self.stalls(Cue::Mail) {
            return Some(Next::Stall);
        }
        if self.shared.config.faults.mail_refused(&self.shared.cues) {
            self.say(421, "4.3.2 Service shutting down, closing channel");
            return Some(Next::Close(End::Fault("421 to MAIL")));
        }
        let Ok(from) = ReversePath::new(path) else {
            return self.reply(501, "5.1.7 Bad sender address syntax");
        };
        let Some(params) = command::params(params) else {
            return self.reply(501, "5.5.4 Bad parameter syntax");
        };
        let mut txn = Txn {
            from,
            params: Vec::new(),
            smtputf8: false,
            binary: false,
            rcpts: Vec::new(),
            accepted: 0,
            content: Content::new(self.shared.config.keeps_content()).limit(self.max_kept()),
            chunks: 0,
        };
        for p in &params {
            if let Err((code, why)) = self.mail_param(p, &mut txn) {
                return self.reply(code, why);
            }
        }
        // RFC 6531 §3.7.4.1: a non-ASCII address needs SMTPUTF8 on MAIL.
        if txn.from.needs_smtputf8() && !txn.smtputf8 {
            return self.reply(553, "5.6.7 Non-ASCII address needs SMTPUTF8");
        }
        txn.params = params;
        let rule = rules::for_sender(&self.shared.config.rules, txn.from.as_str()).cloned();
        let accepted = self.answer(rule.as_ref(), 250, "2.1.0 Sender ok");
        if accepted {
            self.txn = Some(txn);
        }
        None
    }

    /// Checks one MAIL parameter against the offered extensions.
    fn mail_param(&self, p: &Param, txn: &mut Txn) -> Result<(), (u16, &'static str)> {
        const UNSUPPORTED: (u16, &str) = (555, "5.5.4 Unsupported parameter");
        const BAD_VALUE: (u16, &str) = (501, "5.5.4 Bad parameter value");
        if self.hello != Some(Hello::Ehlo) && self.hello != Some(Hello::Lhlo) {
            return Err(UNSUPPORTED);
        }
        let v = p.value.as_deref();
        let need = |e| self.has(e).then_some(()).ok_or(UNSUPPORTED);
        match p.keyword.as_str() {
            "SIZE" => {
                need(Extension::Size)?;
                let n: u64 = v.and_then(|v| v.parse().ok()).ok_or(BAD_VALUE)?;
                let max = self.shared.config.max_size;
                if max > 0 && n > max {
                    return Err((552, "5.3.4 Message size exceeds fixed maximum"));
                }
            }
            "BODY" => match v.map(str::to_ascii_uppercase).as_deref() {
                Some("7BIT") => {}
                Some("8BITMIME") => need(Extension::EightBitMime)?,
                Some("BINARYMIME") => {
                    need(Extension::Chunking)?;
                    need(Extension::BinaryMime)?;
                    txn.binary = true;
                }
                _ => return Err(BAD_VALUE),
            },
            "SMTPUTF8" if v.is_none() => {
                need(Extension::SmtpUtf8)?;
                txn.smtputf8 = true;
            }
            "RET" => {
                need(Extension::Dsn)?;
                match v.map(str::to_ascii_uppercase).as_deref() {
                    Some("FULL" | "HDRS") => {}
                    _ => return Err(BAD_VALUE),
                }
            }
            "ENVID" => need(Extension::Dsn)?,
            "AUTH" => need(Extension::Auth)?,
            "REQUIRETLS" if v.is_none() && self.requiretls_offered() => {}
            _ => return Err(UNSUPPORTED),
        }
        Ok(())
    }

    /// Writes the rule's reply, or the default; whether it was positive.
    fn answer(&mut self, rule: Option<&Action>, code: u16, text: &str) -> bool {
        match rule {
            Some(Action::Reply(r)) => {
                self.say_reply(r);
                r.is_positive()
            }
            Some(Action::Accept) | None => {
                self.say(code, text);
                true
            }
        }
    }

    /// RCPT (RFC 5321 §4.1.1.3) with DSN's NOTIFY and ORCPT (RFC 3461 §4).
    fn rcpt(&mut self, path: &str, params: &str) -> Option<Next> {
        let Some(txn) = &self.txn else {
            return self.reply(503, "5.5.1 Need MAIL first");
        };
        let (count, smtputf8) = (txn.rcpts.len(), txn.smtputf8);
        if self.stalls(Cue::Rcpt) {
            return Some(Next::Stall);
        }
        let Ok(to) = ForwardPath::new(path) else {
            return self.reply(501, "5.1.3 Bad recipient address syntax");
        };
        let Some(params) = command::params(params) else {
            return self.reply(501, "5.5.4 Bad parameter syntax");
        };
        let dsn = self.has(Extension::Dsn);
        if params.iter().any(|p| {
            !(dsn && matches!(p.keyword.as_str(), "NOTIFY" | "ORCPT") && p.value.is_some())
        }) {
            return self.reply(555, "5.5.4 Unsupported parameter");
        }
        if to.needs_smtputf8() && !smtputf8 {
            return self.reply(553, "5.6.7 Non-ASCII address needs SMTPUTF8");
        }
        if count >= MAX_RECIPIENTS {
            return self.reply(452, "4.5.3 Too many recipients");
        }
        let rule = rules::for_recipient(&self.shared.config.rules, to.as_str()).cloned();
        let accepted = self.answer(rule.as_ref(), 250, "2.1.5 Recipient ok");
        let reply = self.log.as_ref().and_then(|l| l.replies.last().cloned());
        let txn = self.txn.as_mut().expect("checked above");
        txn.rcpts.push(Rcpt {
            to,
            params,
            reply,
            accepted,
        });
        if accepted {
            txn.accepted += 1;
            self.shared.store.counters.recipient();
        }
        None
    }

    /// Whether DATA or BDAT may carry content now; the refusal otherwise.
    fn content_refusal(&self) -> Option<(u16, &'static str)> {
        match &self.txn {
            None => Some((503, "5.5.1 Need MAIL first")),
            Some(t) if t.accepted == 0 => Some((554, "5.5.1 No valid recipients")),
            Some(_) => None,
        }
    }

    /// DATA (RFC 5321 §4.1.1.4).
    fn data(&mut self) -> Option<Next> {
        if let Some((code, why)) = self.content_refusal() {
            return self.reply(code, why);
        }
        let txn = self.txn.as_ref().expect("refusal checked");
        if txn.chunks > 0 {
            return self.reply(503, "5.5.1 DATA after BDAT");
        }
        // RFC 3030 §3: BINARYMIME content only with BDAT.
        if txn.binary {
            return self.reply(503, "5.5.1 BODY=BINARYMIME needs BDAT");
        }
        if self.stalls(Cue::Data) {
            return Some(Next::Stall);
        }
        self.say(354, "End data with <CR><LF>.<CR><LF>");
        self.mode = Mode::Data(DataReader::new());
        None
    }

    /// BDAT (RFC 3030 §2): the chunk is read whatever the answer will be.
    fn bdat(&mut self, size: u64, last: bool) -> Option<Next> {
        if !self.has(Extension::Chunking) {
            return self.reply(500, "5.5.1 CHUNKING not offered");
        }
        let refuse = self.content_refusal();
        if let (None, Some(t)) = (refuse, &mut self.txn) {
            t.chunks += 1;
        }
        self.mode = Mode::Bdat {
            left: size,
            last,
            refuse,
        };
        None
    }

    fn chunk_read(&mut self, last: bool, refuse: Option<(u16, &'static str)>) -> Option<Next> {
        if let Some((code, why)) = refuse {
            return self.reply(code, why);
        }
        if last {
            return self.end_of_data();
        }
        let n = self.txn.as_ref().map_or(0, |t| t.content.len);
        self.reply(250, &format!("2.0.0 {n} octets received"))
    }

    /// STARTTLS (RFC 3207 §4).
    fn starttls(&mut self) -> Option<Next> {
        if self.tls {
            return self.reply(503, "5.5.1 TLS already active");
        }
        if !self.starttls_offered() {
            return self.reply(502, "5.5.1 STARTTLS not offered");
        }
        self.say(220, "2.0.0 Ready to start TLS");
        Some(Next::StartTls)
    }

    /// AUTH (RFC 4954 §4).
    fn auth(&mut self, mechanism: &str, initial: Option<&str>) -> Option<Next> {
        let c = &self.shared.config;
        if !self.has(Extension::Auth) || c.users.is_empty() {
            return self.reply(502, "5.5.1 AUTH not offered");
        }
        if !self.auth_offered() {
            return self.reply(530, "5.7.0 Must issue a STARTTLS command first");
        }
        if self.hello.is_none() {
            return self.reply(503, "5.5.1 Send EHLO first");
        }
        if self.auth_user.is_some() {
            return self.reply(503, "5.5.1 Already authenticated");
        }
        if self.txn.is_some() {
            return self.reply(503, "5.5.1 AUTH not allowed during a transaction");
        }
        self.auth_step(auth::start(&self.shared.config.users, mechanism, initial))
    }

    /// Answers one step of an AUTH exchange; a challenge waits for the client's line.
    fn auth_step(&mut self, (step, pending): (Step, Option<Pending>)) -> Option<Next> {
        if let Some(p) = pending {
            self.mode = Mode::Auth(p);
        }
        match step {
            Step::Challenge(prompt) => {
                self.say(334, prompt);
            }
            Step::Success(mechanism, user, credentials) => {
                self.say(235, "2.7.0 Authentication successful");
                if self.log.is_some() {
                    let info = AuthInfo {
                        mechanism: mechanism.into(),
                        user: user.clone(),
                        credentials,
                    };
                    self.shared.store.update(self.id, |c| c.auth = Some(info));
                }
                self.auth_user = Some(user);
            }
            Step::Fail(code, why) => {
                self.say(code, why);
            }
        }
        None
    }

    // ------------------------------------------------------------------ end of data

    /// The end of DATA or BDAT LAST: faults, then one reply (ESMTP) or one per accepted
    /// recipient (LMTP, RFC 2033 §4.2), then the record.
    fn end_of_data(&mut self) -> Option<Next> {
        self.mode = Mode::Command;
        let mut txn = self.txn.take().expect("end of data has a transaction");
        let shared = self.shared;
        let faults = &shared.config.faults;
        if faults.reset_now(&shared.cues) {
            self.record(txn, Vec::new(), false);
            return Some(Next::Reset);
        }
        if self.stalls(Cue::EndOfData) {
            self.record(txn, Vec::new(), false);
            return Some(Next::Stall);
        }
        let c = &shared.config;
        let size = txn.content.len;
        let too_big = size > self.max_kept();
        if too_big {
            // Only a prefix was kept: keep none of it rather than something not sent.
            txn.content.bytes = Vec::new();
        }
        let verdict = |rcpts: &mut dyn Iterator<Item = &str>| -> Option<Action> {
            if too_big {
                return Some(Action::Reply(reply(552, &["5.3.4 Message too big"])));
            }
            let to: Vec<&str> = rcpts.collect();
            rules::for_delivery(&c.rules, size, &txn.content.bytes, to.iter().copied()).cloned()
        };
        let actions: Vec<(Option<Action>, Option<&ForwardPath>)> = if self.lmtp() {
            txn.rcpts
                .iter()
                .filter(|r| r.accepted)
                .map(|r| (verdict(&mut std::iter::once(r.to.as_str())), Some(&r.to)))
                .collect()
        } else {
            let mut accepted = txn
                .rcpts
                .iter()
                .filter(|r| r.accepted)
                .map(|r| r.to.as_str());
            vec![(verdict(&mut accepted), None)]
        };
        let mut replies = Vec::new();
        let mut any_accepted = false;
        for (action, to) in actions {
            let text = match to {
                Some(to) => format!("2.1.5 <{}> delivered", to.as_str()),
                None => "2.0.0 Ok: queued".to_string(),
            };
            any_accepted |= self.answer(action.as_ref(), 250, &text);
            if let Some(r) = self.log.as_ref().and_then(|l| l.replies.last().cloned()) {
                replies.push(r);
            }
        }
        self.record(txn, replies, any_accepted);
        if any_accepted {
            self.accepted_messages += 1;
            if faults.closes_after(self.accepted_messages) {
                return Some(Next::Close(End::Fault("close after messages")));
            }
        }
        None
    }

    /// Counts the message and, when recording, keeps it.
    fn record(&mut self, txn: Txn, replies: Vec<Reply>, accepted: bool) {
        let id = self
            .shared
            .store
            .counters
            .message(txn.content.len, accepted);
        if self.log.is_none() {
            return;
        }
        let transfer = match txn.chunks {
            0 => Transfer::Data,
            chunks => Transfer::Bdat { chunks },
        };
        let m = MessageRecord {
            id,
            connection: self.id,
            from: txn.from,
            mail_params: txn.params,
            recipients: txn
                .rcpts
                .into_iter()
                .filter_map(|r| {
                    Some(RcptRecord {
                        to: r.to,
                        params: r.params,
                        reply: r.reply?,
                    })
                })
                .collect(),
            content: txn.content.bytes,
            transfer,
            tls: self.tls,
            auth_user: self.auth_user.clone(),
            replies,
        };
        self.shared.store.message(m);
    }
}

/// A reply the sink itself words (always valid).
fn reply(code: u16, lines: &[&str]) -> Reply {
    let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    Reply::new(
        ReplyCode::new(code).expect("the sink's own codes are valid"),
        &lines,
    )
    .expect("the sink's own texts have no CR or LF")
}

fn itoa3(code: u16) -> [u8; 3] {
    [
        b'0' + (code / 100) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
    ]
}

/// `text` without a leading enhanced status code `d.d{1,3}.d{1,3} ` (RFC 3463 §2).
fn strip_enhanced(text: &str) -> &str {
    let Some((code, rest)) = text.split_once(' ') else {
        return text;
    };
    let parts: Vec<&str> = code.split('.').collect();
    let digits =
        |s: &str, max| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [a, b, c] if digits(a, 1) && digits(b, 3) && digits(c, 3) => rest,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_stripped_only_when_present() {
        assert_eq!(strip_enhanced("2.1.5 Recipient ok"), "Recipient ok");
        assert_eq!(strip_enhanced("sink.test greets x"), "sink.test greets x");
        assert_eq!(strip_enhanced("2.0.0"), "2.0.0");
        assert_eq!(strip_enhanced("1.2 x"), "1.2 x");
    }
}
