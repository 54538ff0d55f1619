//! What a sink is told before it starts: protocol, extensions, users, rules and faults.

use std::io;
use std::time::Duration;

use crate::faults::{Cue, Faults};
use crate::rules::{Action, Match, Rule};
use crate::Sink;

/// The protocol the sink speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// ESMTP (RFC 5321): EHLO or HELO, one reply after the end of data.
    Esmtp,
    /// LMTP (RFC 2033): LHLO, one reply per accepted recipient after the end of data.
    Lmtp,
}

/// An extension the sink offers by default and that can be switched off
/// ([`SinkBuilder::disable`]). A switched-off extension is neither offered in the reply
/// to EHLO/LHLO nor accepted: its command or parameter is refused as unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extension {
    /// PIPELINING (RFC 2920). Without it the sink still reads commands in order; the
    /// record's flight counts show whether a client pipelined anyway.
    Pipelining,
    /// CHUNKING: the BDAT command (RFC 3030).
    Chunking,
    /// BINARYMIME: `BODY=BINARYMIME` with BDAT (RFC 3030); offered only with CHUNKING.
    BinaryMime,
    /// 8BITMIME: `BODY=8BITMIME` (RFC 6152).
    EightBitMime,
    /// SMTPUTF8 (RFC 6531): UTF-8 addresses when MAIL says `SMTPUTF8`.
    SmtpUtf8,
    /// SIZE (RFC 1870), with the limit of [`SinkBuilder::max_size`].
    Size,
    /// DSN (RFC 3461): `RET`, `ENVID`, `NOTIFY`, `ORCPT`.
    Dsn,
    /// ENHANCEDSTATUSCODES (RFC 2034): `x.y.z` at the start of replies.
    EnhancedStatusCodes,
    /// STARTTLS (RFC 3207); never offered on an implicit-TLS sink or once TLS is up.
    StartTls,
    /// AUTH PLAIN, LOGIN and XOAUTH2 (RFC 4954), offered when users are given.
    Auth,
}

impl Extension {
    const ALL: [Extension; 10] = [
        Extension::Pipelining,
        Extension::Chunking,
        Extension::BinaryMime,
        Extension::EightBitMime,
        Extension::SmtpUtf8,
        Extension::Size,
        Extension::Dsn,
        Extension::EnhancedStatusCodes,
        Extension::StartTls,
        Extension::Auth,
    ];

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of [`Extension`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extensions(u16);

impl Extensions {
    fn all() -> Self {
        Extensions(Extension::ALL.iter().fold(0, |acc, e| acc | e.bit()))
    }

    pub(crate) fn has(self, e: Extension) -> bool {
        self.0 & e.bit() != 0
    }

    fn remove(&mut self, e: Extension) {
        self.0 &= !e.bit();
    }
}

/// Everything a running sink follows; built by [`SinkBuilder`].
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) protocol: Protocol,
    pub(crate) hostname: String,
    pub(crate) extensions: Extensions,
    pub(crate) max_size: u64,
    pub(crate) implicit_tls: bool,
    pub(crate) users: Vec<(String, String)>,
    pub(crate) auth_requires_tls: bool,
    pub(crate) requiretls: bool,
    pub(crate) require_auth: bool,
    pub(crate) discard: bool,
    pub(crate) rules: Vec<Rule>,
    pub(crate) faults: Faults,
}

impl Config {
    /// Whether message content must be kept: always when recording, and in discarding
    /// mode only for content rules.
    pub(crate) fn keeps_content(&self) -> bool {
        !self.discard || self.rules.iter().any(Rule::needs_content)
    }
}

/// Settings for a [`Sink`]; [`SinkBuilder::start`] starts it.
///
/// By default the sink speaks ESMTP, offers every [`Extension`] (AUTH only once users are
/// given), accepts every recipient and message, records everything and misbehaves never.
#[derive(Debug)]
#[must_use = "a builder does nothing until `start`"]
pub struct SinkBuilder {
    config: Config,
}

impl Default for SinkBuilder {
    fn default() -> Self {
        SinkBuilder {
            config: Config {
                protocol: Protocol::Esmtp,
                hostname: "sink.test".into(),
                extensions: Extensions::all(),
                max_size: 0,
                implicit_tls: false,
                users: Vec::new(),
                auth_requires_tls: false,
                requiretls: false,
                require_auth: false,
                discard: false,
                rules: Vec::new(),
                faults: Faults::default(),
            },
        }
    }
}

impl SinkBuilder {
    /// The defaults (see [`SinkBuilder`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Speaks LMTP (RFC 2033) instead of ESMTP.
    pub fn lmtp(mut self) -> Self {
        self.config.protocol = Protocol::Lmtp;
        self
    }

    /// The name in the greeting and the reply to EHLO (default `sink.test`).
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.config.hostname = name.into();
        self
    }

    /// Stops offering and accepting `extension`.
    pub fn disable(mut self, extension: Extension) -> Self {
        self.config.extensions.remove(extension);
        self
    }

    /// The largest message accepted, in octets, offered as `SIZE n` (RFC 1870): a larger
    /// `SIZE=` gets 552 5.3.4 at MAIL, larger content 552 5.3.4 after the end of data.
    /// 0 (the default) offers `SIZE` without a number; content over 64 MiB is then still
    /// refused, as the sink keeps no more than that of a message.
    pub fn max_size(mut self, octets: u64) -> Self {
        self.config.max_size = octets;
        self
    }

    /// TLS from the first byte (RFC 8314) with the sink's certificate; STARTTLS is then
    /// not offered.
    pub fn implicit_tls(mut self) -> Self {
        self.config.implicit_tls = true;
        self
    }

    /// A user AUTH PLAIN and LOGIN accept, and XOAUTH2 with `password` as the bearer
    /// token (the AUTH extension is offered once a user is given). The same name may
    /// come several times with different secrets: each is accepted, and
    /// [`AuthInfo::credentials`](crate::AuthInfo::credentials) says which was used.
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.config.users.push((name.into(), password.into()));
        self
    }

    /// Offers AUTH only over TLS, as real submission servers do (default off).
    pub fn auth_requires_tls(mut self, on: bool) -> Self {
        self.config.auth_requires_tls = on;
        self
    }

    /// Offers REQUIRETLS (RFC 8689) once TLS is up, and takes the `REQUIRETLS` MAIL
    /// parameter then (recorded in [`MessageRecord::mail_params`]); default off, as
    /// most servers (Postfix among them) lack it. Without TLS, or off, the parameter is
    /// refused as unknown (555).
    ///
    /// [`MessageRecord::mail_params`]: crate::MessageRecord::mail_params
    pub fn requiretls(mut self, on: bool) -> Self {
        self.config.requiretls = on;
        self
    }

    /// Refuses MAIL with 530 5.7.0 until the client authenticated (default off).
    pub fn require_auth(mut self, on: bool) -> Self {
        self.config.require_auth = on;
        self
    }

    /// Discarding mode, for benchmarks: connections, messages, recipients and octets are
    /// counted ([`Sink::counts`]) and nothing else is kept (content only while a content
    /// rule needs it).
    pub fn discard(mut self) -> Self {
        self.config.discard = true;
        self
    }

    /// Adds a rule; rules are tried in the order added and the first that matches
    /// decides (see [`Rule`]).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.config.rules.push(rule);
        self
    }

    /// Shorthand for `rule(Rule::recipient(matching, action))`.
    pub fn recipient(self, matching: Match, action: Action) -> Self {
        self.rule(Rule::recipient(matching, action))
    }

    /// Answers the greeting of every `k`-th connection (counted over the sink's life,
    /// from 1) with 421 and closes it; `k = 1`: every connection.
    pub fn greeting_421_every(mut self, k: u64) -> Self {
        self.config.faults.greeting_421 = Some(k.max(1));
        self
    }

    /// Answers every `k`-th MAIL (counted over all connections) with 421, then closes the
    /// connection.
    pub fn mail_421_every(mut self, k: u64) -> Self {
        self.config.faults.mail_421 = Some(k.max(1));
        self
    }

    /// Closes each connection right after the reply accepting its `k`-th message.
    pub fn close_after_messages(mut self, k: u64) -> Self {
        self.config.faults.close_after = Some(k.max(1));
        self
    }

    /// Resets the connection (TCP RST) right after the end of data of every `k`-th
    /// message (counted over all connections), before any reply to it. The message is
    /// recorded, with no reply.
    pub fn reset_after_data_every(mut self, k: u64) -> Self {
        self.config.faults.reset_after_data = Some(k.max(1));
        self
    }

    /// Closes a connection on which no input came for `t`, with 421 4.4.2 as Postfix does.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.config.faults.idle_timeout = Some(t);
        self
    }

    /// Never answers the `k`-th occurrence (counted over all connections) of `cue`, and
    /// every `k`-th after it: the replies before it are sent, then the connection stays
    /// open and silent until the client closes it or the sink stops.
    pub fn stall(mut self, cue: Cue, every: u64) -> Self {
        self.config.faults.stall = Some((cue, every.max(1)));
        self
    }

    /// Waits `d` before sending each flight of replies (the greeting included).
    pub fn reply_delay(mut self, d: Duration) -> Self {
        self.config.faults.reply_delay = Some(d);
        self
    }

    /// Starts the sink on `127.0.0.1` on a free port, on its own runtime on a background
    /// thread; it is listening when this returns. Works from blocking and async code.
    pub fn start(self) -> io::Result<Sink> {
        Sink::start_with(self.config)
    }
}
