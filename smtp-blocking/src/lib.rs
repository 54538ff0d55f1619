//! Sends mail over SMTP or LMTP with blocking I/O, driving the sans-IO [`smtp_proto`] core.
//!
//! ```no_run
//! use smtp_blocking::{Builder, Credentials, MessageOutcome};
//! use smtp_blocking::smtp_proto::command::{ForwardPath, ReversePath};
//!
//! let mut conn = Builder::new("mail.example.org")
//!     .port(587)
//!     .credentials(Credentials::password("alice", "secret")?)
//!     .connect()?; // STARTTLS is required by default
//! let report = conn.send_message(
//!     ReversePath::new("alice@example.org")?,
//!     [ForwardPath::new("bob@example.net")?],
//!     b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello.\r\n",
//! )?;
//! assert!(matches!(report.outcome, Some(MessageOutcome::Accepted(_))));
//! conn.quit()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Results
//! A message the server refuses is not an error: [`Report`] says per recipient and per
//! message what the server answered. `Err` means the session could not start or died
//! **before this call's messages reached an outcome: none of them was delivered**, and
//! sending them again is safe. If the session dies after the end of a message's data,
//! `send` returns `Ok` with [`MessageOutcome::Unknown`] (the message may have been
//! delivered, RFC 5321 §4.5.3.2.6): do not resend blindly. After the session died, every
//! call returns the error that ended it (`quit` too).
//!
//! # Timeouts
//! Every reply has the RFC 5321 §4.5.3.2 deadline of [`Timeouts`], covering the whole
//! reply: socket read and write timeouts are set from the core's deadline before each
//! read and write, so a server trickling a byte at a time still times out.
//!
//! # TLS
//! Feature `rustls` (default): implicit TLS ([`Builder::implicit_tls`], port 465) or
//! STARTTLS ([`TlsPolicy::Required`] by default). The certificate is verified against
//! the host given to [`Builder::new`] (a DNS name or an IP address), with the
//! `webpki-roots` trust anchors unless [`Builder::tls_config`] supplies a configuration.
//! The crypto provider is ring, named explicitly: it builds in a fraction of aws-lc-rs's
//! time on a small (2-core) machine and needs no cmake or C toolchain beyond cc.
//!
//! # Features
//! `rustls` (default), `tracing` (commands and replies at debug level, target `smtp`;
//! AUTH exchanges redacted, content logged as a length), `interop` (tests only).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod driver;
mod error;
#[cfg(feature = "rustls")]
mod tls;
mod trace;

use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant as StdInstant};

#[cfg(feature = "rustls")]
use std::sync::Arc;

pub use smtp_proto;
pub use smtp_proto::command::{EhloName, ForwardPath, Mechanism, ReversePath};
pub use smtp_proto::{
    Capabilities, Config, Credentials, Envelope, MessageOutcome, RecipientStatus, Reply, Report,
    Stage, Timeouts, TlsMode, TlsPolicy, UsageError,
};

pub use driver::Socket;
pub use error::Error;

use driver::{Bodies, Driver, NoBodies, Stream};
use smtp_proto::{Client, TxnId};

/// Settings for one connection; [`Builder::connect`] opens it.
#[derive(Debug)]
pub struct Builder {
    host: String,
    port: Option<u16>,
    config: Config,
    connect_timeout: Duration,
    #[cfg(feature = "rustls")]
    tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl Builder {
    /// A connection to `host` (a DNS name or an IP address; also the name the TLS
    /// certificate must carry), STARTTLS required, EHLO name `localhost`.
    pub fn new(host: impl Into<String>) -> Self {
        Builder {
            host: host.into(),
            port: None,
            config: Config::new(EhloName::localhost()),
            connect_timeout: Duration::from_secs(30),
            #[cfg(feature = "rustls")]
            tls_config: None,
        }
    }
    /// The port; default 25, or 465 with implicit TLS, or 24 with LMTP.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    /// TLS from the first byte (RFC 8314).
    pub fn implicit_tls(mut self) -> Self {
        self.config.tls = TlsMode::Implicit;
        self
    }
    /// Cleartext first, then STARTTLS according to `policy` (RFC 3207).
    pub fn starttls(mut self, policy: TlsPolicy) -> Self {
        self.config.tls = TlsMode::StartTls(policy);
        self
    }
    /// The rustls configuration to verify the server with (default: webpki-roots, ring).
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }
    /// Authenticate with these (only over TLS unless [`allow_plaintext_auth`](Self::allow_plaintext_auth)).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.config.credentials = Some(credentials);
        self
    }
    /// The name sent with EHLO/LHLO.
    pub fn ehlo_name(mut self, name: EhloName) -> Self {
        self.config.ehlo_name = name;
        self
    }
    /// Speak LMTP (RFC 2033).
    pub fn lmtp(mut self, on: bool) -> Self {
        self.config.lmtp = on;
        self
    }
    /// Use PIPELINING when offered (default on).
    pub fn pipelining(mut self, on: bool) -> Self {
        self.config.pipelining = on;
        self
    }
    /// Use CHUNKING (BDAT) when offered (default on).
    pub fn chunking(mut self, on: bool) -> Self {
        self.config.chunking = on;
        self
    }
    /// Allow credentials on a cleartext session (default off).
    pub fn allow_plaintext_auth(mut self, on: bool) -> Self {
        self.config.allow_plaintext_auth = on;
        self
    }
    /// The reply deadlines.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.config.timeouts = timeouts;
        self
    }
    /// The bound on each TCP connection attempt (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Every core setting (AUTH preference, window, limits ...).
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Resolves the host, connects (trying each address within the connect timeout), then
    /// sets the session up: greeting, EHLO, TLS, AUTH.
    pub fn connect(self) -> Result<Connection, Error> {
        let port = self
            .port
            .unwrap_or(match (self.config.tls, self.config.lmtp) {
                (TlsMode::Implicit, _) => 465,
                (_, true) => 24,
                _ => 25,
            });
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for addr in (self.host.as_str(), port)
            .to_socket_addrs()
            .map_err(Error::Io)?
        {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(tcp) => {
                    tcp.set_nodelay(true).map_err(Error::Io)?;
                    return self.connect_stream(tcp);
                }
                Err(e) => last = e,
            }
        }
        Err(Error::Io(last))
    }

    /// Sets the session up over a stream the caller opened (e.g. a Unix socket for LMTP).
    pub fn connect_stream<S: Socket>(self, stream: S) -> Result<Connection<S>, Error> {
        let origin = StdInstant::now();
        #[cfg(feature = "rustls")]
        let tls = match self.config.tls {
            TlsMode::StartTls(TlsPolicy::Disabled) => None,
            _ => Some(tls::TlsSetup::new(&self.host, self.tls_config)?),
        };
        let stream = match self.config.tls {
            #[cfg(feature = "rustls")]
            TlsMode::Implicit => {
                let deadline = origin + self.config.timeouts.tls_handshake;
                let setup = tls.as_ref().expect("implicit TLS has a setup");
                Stream::Tls(Box::new(tls::handshake(stream, setup, deadline)?))
            }
            #[cfg(not(feature = "rustls"))]
            TlsMode::Implicit => return Err(Error::TlsUnavailable),
            TlsMode::StartTls(_) => Stream::Plain(stream),
        };
        let now = smtp_proto::Instant::from_duration(origin.elapsed());
        let mut d = Driver::new(Client::new(self.config, now), stream, origin);
        #[cfg(feature = "rustls")]
        {
            d.tls = tls;
        }
        d.run(&mut NoBodies, &|d| d.ready);
        if d.ready {
            Ok(Connection { d })
        } else {
            Err(dead(&d))
        }
    }
}

/// The error a dead session reports.
fn dead<S: Socket>(d: &Driver<S>) -> Error {
    match &d.error {
        Some(e) => e.duplicate(),
        None if d.closed => Error::Usage(UsageError::Closed),
        None => Error::Io(io::Error::other("the session stalled")),
    }
}

/// An SMTP/LMTP session, set up and ready for transactions.
pub struct Connection<S: Socket = TcpStream> {
    d: Driver<S>,
}

impl<S: Socket> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("client", &self.d.client)
            .finish_non_exhaustive()
    }
}

impl<S: Socket> Connection<S> {
    /// Sends one message whose content is read from `body` (line ends are normalised to
    /// CRLF; DATA dot-stuffing or BDAT framing is done for you).
    pub fn send(&mut self, envelope: Envelope, body: impl Read) -> Result<Report, Error> {
        let mut source = ReadBody {
            r: body,
            buf: Vec::new(),
        };
        let mut reports = self.transact(vec![envelope], &mut source)?;
        Ok(reports.remove(0))
    }

    /// Sends one message whose content is in memory.
    pub fn send_bytes(&mut self, envelope: Envelope, body: &[u8]) -> Result<Report, Error> {
        Ok(self.send_many([(envelope, body)])?.remove(0))
    }

    /// Sends raw RFC 5322 bytes: declares `BODY=8BITMIME` if any octet is 8-bit,
    /// `SIZE=`, and SMTPUTF8 if the header is 8-bit and the server offers it. A NUL octet
    /// is refused before anything is sent.
    pub fn send_message(
        &mut self,
        from: ReversePath,
        to: impl IntoIterator<Item = ForwardPath>,
        message: &[u8],
    ) -> Result<Report, Error> {
        let caps = self.capabilities();
        let envelope = Envelope::for_message(from, to, message, caps).map_err(Error::Refused)?;
        self.send_bytes(envelope, message)
    }

    /// Sends every message on this connection, pipelined where the server allows, and
    /// returns one report per message, in order.
    pub fn send_many<'a>(
        &mut self,
        messages: impl IntoIterator<Item = (Envelope, &'a [u8])>,
    ) -> Result<Vec<Report>, Error> {
        let (envelopes, bodies): (Vec<Envelope>, Vec<&[u8]>) = messages.into_iter().unzip();
        self.transact(envelopes, &mut Slices(bodies))
    }

    /// Queues the envelopes, runs until every report is complete.
    fn transact(
        &mut self,
        envelopes: Vec<Envelope>,
        source: &mut dyn Source,
    ) -> Result<Vec<Report>, Error> {
        if self.d.closed {
            return Err(dead(&self.d));
        }
        if envelopes.iter().any(|e| e.recipients.is_empty()) {
            return Err(Error::Usage(UsageError::NoRecipients));
        }
        let lmtp = self.d.client.config().lmtp;
        let mut ids = Vec::new();
        for e in envelopes {
            let now = self.d.now();
            let n = e.recipients.len();
            let id = self.d.client.send(now, e).map_err(Error::Usage)?;
            ids.push(id);
            self.d.tracking.push(Report::new(id, n, lmtp));
        }
        let mut source = Indexed { ids, source };
        self.d
            .run(&mut source, &|d| d.tracking.iter().all(Report::is_complete));
        let reports = std::mem::take(&mut self.d.tracking);
        if !reports.iter().all(Report::is_complete)
            || (self.d.closed && !reports.iter().any(Report::reached_server))
        {
            return Err(dead(&self.d));
        }
        Ok(reports)
    }

    fn command(
        &mut self,
        f: fn(&mut Client, smtp_proto::Instant) -> Result<(), UsageError>,
    ) -> Result<Reply, Error> {
        if self.d.closed {
            return Err(dead(&self.d));
        }
        let now = self.d.now();
        f(&mut self.d.client, now).map_err(Error::Usage)?;
        self.d.run(&mut NoBodies, &|d| !d.replies.is_empty());
        self.d.replies.pop().ok_or_else(|| dead(&self.d))
    }

    /// NOOP: checks the session is alive.
    pub fn noop(&mut self) -> Result<Reply, Error> {
        self.command(Client::noop)
    }

    /// RSET.
    pub fn rset(&mut self) -> Result<Reply, Error> {
        self.command(Client::rset)
    }

    /// QUIT, then closes. `Err` if the session had already died (with that error).
    pub fn quit(mut self) -> Result<(), Error> {
        if !self.d.closed {
            let now = self.d.now();
            self.d.client.quit(now).map_err(Error::Usage)?;
            self.d.run(&mut NoBodies, &|d| d.closed);
        }
        match &self.d.error {
            Some(e) => Err(e.duplicate()),
            None => Ok(()),
        }
    }

    /// What the server offered in its last EHLO/LHLO reply.
    pub fn capabilities(&self) -> &Capabilities {
        self.d.client.capabilities()
    }

    /// Whether the session runs over TLS.
    pub fn is_encrypted(&self) -> bool {
        self.d.is_encrypted()
    }

    /// The TLS protocol version (`"TLSv1.3"`, `"TLSv1.2"`) when the session runs over
    /// TLS, implicit or after STARTTLS.
    pub fn tls_version(&self) -> Option<&'static str> {
        self.d.tls_version()
    }

    /// The SASL mechanism the session authenticated with.
    pub fn auth_mechanism(&self) -> Option<Mechanism> {
        self.d.client.auth_mechanism().cloned()
    }
}

/// Message content by position in the call's list of messages.
trait Source {
    /// Up to `max` octets of message `i`, and whether they are its last.
    fn chunk(&mut self, i: usize, max: usize) -> io::Result<(&[u8], bool)>;
}

/// Maps the core's transaction ids to the messages of one call.
struct Indexed<'s> {
    ids: Vec<TxnId>,
    source: &'s mut dyn Source,
}

impl Bodies for Indexed<'_> {
    fn chunk(&mut self, txn: TxnId, max: usize) -> io::Result<(&[u8], bool)> {
        match self.ids.iter().position(|&t| t == txn) {
            Some(i) => self.source.chunk(i, max),
            None => Err(io::Error::other("content asked for an unknown transaction")),
        }
    }
}

struct Slices<'a>(Vec<&'a [u8]>);

impl Source for Slices<'_> {
    fn chunk(&mut self, i: usize, max: usize) -> io::Result<(&[u8], bool)> {
        let (chunk, rest) = self.0[i].split_at(max.min(self.0[i].len()));
        self.0[i] = rest;
        Ok((chunk, rest.is_empty()))
    }
}

/// Content from a reader: fills each chunk fully so BDAT chunks are not needlessly small.
struct ReadBody<R> {
    r: R,
    buf: Vec<u8>,
}

impl<R: Read> Source for ReadBody<R> {
    fn chunk(&mut self, _: usize, max: usize) -> io::Result<(&[u8], bool)> {
        self.buf.resize(max, 0);
        let mut n = 0;
        while n < max {
            match self.r.read(&mut self.buf[n..]) {
                Ok(0) => return Ok((&self.buf[..n], true)),
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((&self.buf[..n], false))
    }
}
