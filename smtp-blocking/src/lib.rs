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
//! # Reconnecting
//!
//! Every connection opened from one [`Builder`] and its clones shares
//! one rustls configuration and so its session cache: later handshakes resume when the
//! server allows ([`Connection::tls_resumed`]). [`Builder::credentials_provider`] is asked
//! for the credentials of each connection (a refreshed OAuth 2.0 token), and
//! [`Builder::connector`] opens each connection's stream the caller's way (a Unix socket,
//! a proxy); TLS and the session run on top. [`Builder::proxy`] is one such way: a SOCKS5
//! proxy ([`Proxy`], parsed from `socks5://` or `socks5h://` URLs).
//!
//! # Pools
//! [`Pool`] shares a few connections among many threads: each caller's message joins a
//! connection's next flight (RFC 2920), connections open, retire and are replaced as
//! [`smtp_proto::pool`] decides, and a message that certainly never reached the server
//! is sent again.
//!
//! # Features
//! `rustls` (default), `tracing` (commands and replies at debug level, target
//! `smtp_io::trace`; AUTH exchanges redacted, content logged as a length), `dkim`
//! (`Builder::dkim_signer`: every message DKIM-signed, `DkimSigner`), `interop` (tests
//! only), `mail-builder` (mail-builder's `MessageBuilder` is a message for
//! [`Connection::send_mail`] and [`Pool::send_mail`]), `lettre` (so is lettre's
//! `Message`, and [`Pool`] implements lettre's `Transport`, as `LettrePool` does; what its
//! `Ok` and `Err` mean is `smtp_io::message::lettre`'s).
//! `mx`: `mx::deliver` delivers straight to a domain's MX hosts under MTA-STS (RFC 8461)
//! and DANE (RFC 7672), with REQUIRETLS (RFC 8689) and TLS reporting data (RFC 8460):
//! the planner of `smtp_proto::mx` decides, smtp-mx supplies the verifiers, the DNS
//! backends and the dialer.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connector;
mod driver;
#[cfg(feature = "lettre")]
mod lettre_pool;
#[cfg(feature = "mx")]
pub mod mx;
mod pool;
#[cfg(feature = "rustls")]
mod tls;

use std::io::{self, Read};

pub use smtp_proto;
pub use smtp_proto::command::{EhloName, ForwardPath, Mechanism, ReversePath};
pub use smtp_proto::{
    Capabilities, Config, Credentials, Envelope, MessageOutcome, RecipientStatus, Reply, Report,
    Stage, Timeouts, TlsMode, TlsPolicy, UsageError,
};

pub use connector::BoxSocket;
pub use driver::Socket;
#[cfg(feature = "lettre")]
pub use lettre;
#[cfg(feature = "lettre")]
pub use lettre_pool::LettrePool;
#[cfg(feature = "mail-builder")]
pub use mail_builder;
pub use pool::Pool;
/// DKIM signing (feature `dkim`): a signer for [`Builder::dkim_signer`].
#[cfg(feature = "dkim")]
pub use smtp_io::dkim::{DkimError, DkimSigner};
#[cfg(feature = "lettre")]
pub use smtp_io::message::lettre::TransportError;
pub use smtp_io::message::{IntoMessage, MessageError, Parts};
pub use smtp_io::pool::PoolReport;
pub use smtp_io::socks::{Proxy, ProxyError};
use smtp_io::NotReady;
pub use smtp_io::{CredentialsError, CredentialsFuture, CredentialsProvider, Error, Target};
pub use smtp_proto::pool::{PoolConfig, Status};

use driver::Driver;
use smtp_proto::session::Session;
use smtp_proto::Instant;

/// Settings for a connection; [`Builder::connect`] opens it. `Clone`, so that a pool
/// opens each of its connections from one: the clones share one rustls configuration
/// (TLS sessions resume, [`Connection::tls_resumed`]), the credentials provider and the
/// connector. Its `Debug` shows no secret.
#[derive(Clone, Debug)]
pub struct Builder {
    settings: smtp_io::Settings,
    connector: Option<connector::Connector>,
}

impl Builder {
    smtp_io::builder_methods!(settings, connector);

    /// Opens each connection's stream with `connector` instead of TCP: a Unix socket,
    /// a stream through a proxy, a test's in-memory pipe. [`Builder::connect`] (and so
    /// every connection a pool opens from this builder) calls it with the builder's
    /// host, port and connect timeout ([`Target`]), which it should bound itself by.
    /// TLS, greeting, EHLO, STARTTLS and AUTH then run over the stream as over TCP (the
    /// certificate is still verified against the host).
    pub fn connector<F, S>(mut self, connector: F) -> Self
    where
        F: Fn(&Target) -> io::Result<S> + Send + Sync + 'static,
        S: Socket + Send + Sync + 'static,
    {
        self.connector = Some(connector::connector(connector));
        self
    }

    /// Connects through a SOCKS5 proxy (RFC 1928; RFC 1929 username and password when
    /// its URL has them): a [`connector`](Builder::connector) opening a TCP connection
    /// to the proxy and asking it for the builder's host and port, within the connect
    /// timeout. Under `socks5h://` the proxy resolves the host name; under `socks5://`
    /// it is resolved here and its first address sent. TLS still verifies the
    /// certificate against the host. A proxy that refuses is [`Error::Proxy`] with its
    /// reason. Replaces any connector set before.
    pub fn proxy(self, proxy: Proxy) -> Self {
        self.connector(move |target: &Target| connector::through(&proxy, target))
    }

    /// Asks the credentials provider if there is one (waiting for its future on this
    /// thread), resolves the host and connects, trying each address within the connect
    /// timeout (or opens the stream with the [`connector`](Builder::connector)), then
    /// sets the session up: greeting, EHLO, TLS, AUTH.
    ///
    /// A configuration under which the session could not make progress is refused
    /// first, before anything is resolved: [`Error::Usage`] with
    /// [`UsageError::InvalidConfig`].
    pub fn connect(self) -> Result<Connection, Error> {
        self.settings.check()?;
        let config = smtp_io::block_on(self.settings.session_config())?;
        let stream = connector::open(self.connector.as_ref(), &self.settings.target())?;
        Ok(self.start(stream, config)?)
    }

    /// Sets the session up over a stream the caller opened (e.g. a Unix socket for
    /// LMTP), with the credentials provider's credentials if there is one.
    pub fn connect_stream<S: Socket>(self, stream: S) -> Result<Connection<S>, Error> {
        Ok(self.connect_stream_named(stream)?)
    }

    /// [`connect_stream`](Self::connect_stream), with the name the server announced
    /// when the session did not get ready (an MX delivery's TLS report wants it).
    pub(crate) fn connect_stream_named<S: Socket>(
        self,
        stream: S,
    ) -> Result<Connection<S>, NotReady> {
        let config = smtp_io::block_on(self.settings.session_config())?;
        self.start(stream, config)
    }

    /// Runs the session with `config` over `stream`.
    fn start<S: Socket>(
        self,
        stream: S,
        config: smtp_proto::Config,
    ) -> Result<Connection<S>, NotReady> {
        #[cfg(feature = "rustls")]
        let tls = self.settings.tls_setup()?;
        let mut d = Driver::new(
            stream,
            config,
            #[cfg(feature = "rustls")]
            tls,
        );
        d.run::<&[u8]>(&mut []);
        d.session
            .finish_connect()
            .map_err(|e| NotReady::new(e, d.session.client().server_name()))?;
        let signing = self.settings.signing;
        Ok(Connection { d, signing })
    }
}

/// An SMTP/LMTP session, set up and ready for transactions.
pub struct Connection<S: Socket = BoxSocket> {
    d: Driver<S>,
    /// The builder's signer, for every message of [`transact`](Self::transact).
    signing: smtp_io::Signing,
}

impl<S: Socket> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("client", self.d.session.client())
            .finish_non_exhaustive()
    }
}

/// What [`Connection::stream`]'s source has next.
#[derive(Debug)]
pub enum Next<M> {
    /// A message.
    Message(M),
    /// Nothing yet. Where it may block, a source that waits only a while (e.g. on a
    /// channel with a timeout) says so: the driver then glances at the socket (a read
    /// of at most a millisecond), so that a close or a 421 of an idle server is
    /// noticed, and asks again.
    Empty,
    /// No more messages.
    End,
}

impl<S: Socket> Connection<S> {
    /// Sends one message whose content is read from `body` (line ends are normalised to
    /// CRLF; DATA dot-stuffing or BDAT framing is done for you).
    pub fn send(&mut self, envelope: Envelope, body: impl Read) -> Result<Report, Error> {
        Ok(self.transact(vec![envelope], &mut [body])?.remove(0))
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
        self.send_mail(Parts::new(from, to, message))
    }

    /// Sends a message as the caller has it: RFC 5322 bytes or a mail-builder
    /// `MessageBuilder`, whose envelope comes from its header (`Sender` or `From`; `To`,
    /// `Cc`, `Bcc`, or the latest `Resent-` ones) and whose `Bcc` fields are not sent; a
    /// lettre `Message` with its own envelope; or [`Parts`] with an envelope of the
    /// caller's. Declared as [`send_message`](Self::send_message) declares. See
    /// [`smtp_io::message`] for what each input costs in memory.
    ///
    /// A message with no usable sender or no recipient is refused before anything is
    /// sent: [`Error::Message`].
    pub fn send_mail<'a>(&mut self, message: impl IntoMessage<'a>) -> Result<Report, Error> {
        let (envelope, content) = smtp_io::message::prepare(message, self.capabilities())?;
        self.send_bytes(envelope, &content)
    }

    /// Sends every message on this connection, pipelined where the server allows, and
    /// returns one report per message, in order.
    pub fn send_many<'a>(
        &mut self,
        messages: impl IntoIterator<Item = (Envelope, &'a [u8])>,
    ) -> Result<Vec<Report>, Error> {
        let (envelopes, mut bodies): (Vec<Envelope>, Vec<&[u8]>) = messages.into_iter().unzip();
        self.transact(envelopes, &mut bodies)
    }

    /// Sends messages as they come, keeping the pipeline full: `next` yields each message
    /// (envelope, content, a tag of the caller's) while at most `max_open` are waiting
    /// for their outcome, so that new messages join the next flight (RFC 2920). Its
    /// argument says whether it may block: `true` when the server owes nothing (then it
    /// waits for a message or says [`Next::End`], or [`Next::Empty`] after waiting a
    /// while; it is asked with `false` first, and the connection gives back its read
    /// buffer before it waits), `false` while replies are owed (then
    /// it answers at once, [`Next::Empty`] if it has nothing; a message that comes while
    /// the driver waits for replies is taken when they come, with every other one ready
    /// then, in one flight). Each report goes to
    /// `on_report` with its tag as it completes, in the order the messages came. Returns
    /// once the source ends and every report is in.
    ///
    /// A builder with a DKIM signer refuses this call (`Error::Dkim` with
    /// `DkimError::Streamed`): its messages go out as they are read, never whole, so
    /// they cannot be signed here; sign each before yielding it.
    ///
    /// If the session dies, every message taken gets its report first (see
    /// [`MessageOutcome::Unknown`]; a message cut
    /// short says [`TxnFailure::SessionClosed`](smtp_proto::TxnFailure::SessionClosed)),
    /// then this returns the error; messages not yet yielded stay with the caller. A
    /// message the session refuses (no recipients) gets its error through `on_report`.
    pub fn stream<T, R: Read>(
        &mut self,
        max_open: usize,
        next: impl FnMut(bool) -> Next<(Envelope, R, T)>,
        mut on_report: impl FnMut(T, Result<Report, Error>),
    ) -> Result<(), Error> {
        self.signing.refuse_streaming()?;
        let on_reports = |reports: std::vec::Drain<'_, _>| {
            reports.for_each(|(tag, result, _)| on_report(tag, result));
        };
        self.stream_withdrawing(max_open, next, on_reports, |_, _| {})
    }

    /// [`stream`](Self::stream), with the reports a step's at a time (`on_reports`, see
    /// [`Open::hand_reports`](smtp_io::stream::Open::hand_reports)) and `withdraw` run
    /// before each step: a pool's connection withdraws there the messages whose callers
    /// gave up
    /// ([`smtp_io::stream::Cancels::withdraw`]).
    pub(crate) fn stream_withdrawing<T, R: Read>(
        &mut self,
        max_open: usize,
        mut next: impl FnMut(bool) -> Next<(Envelope, R, T)>,
        mut on_reports: impl FnMut(std::vec::Drain<'_, smtp_io::stream::Reported<T>>),
        mut withdraw: impl FnMut(&mut smtp_io::stream::Open<R, T>, &mut Session<Error>),
    ) -> Result<(), Error> {
        let now = self.d.now();
        self.d.session.stream(now, max_open)?;
        self.d.stream(&mut next, &mut on_reports, &mut withdraw);
        self.d.session.finish_stream()
    }

    /// Signs the messages if the builder has a signer (each body read into memory
    /// once), then sends them: the one path of `send`, `send_bytes`, `send_message` and
    /// `send_many`.
    fn transact<R: Read>(
        &mut self,
        mut envelopes: Vec<Envelope>,
        bodies: &mut [R],
    ) -> Result<Vec<Report>, Error> {
        if !self.signing.is_on() {
            return self.transact_as_is(envelopes, bodies);
        }
        let mut contents = Vec::with_capacity(bodies.len());
        for body in bodies {
            let mut content = Vec::new();
            body.read_to_end(&mut content).map_err(Error::Io)?;
            contents.push(content);
        }
        let signed = self.signing.sign_all(&mut envelopes, contents)?;
        let mut signed: Vec<&[u8]> = signed.iter().map(Vec::as_slice).collect();
        self.transact_as_is(envelopes, &mut signed)
    }

    /// Queues the envelopes, runs until every report is complete (see
    /// [`Session::finish_send`] for what a failure returns).
    fn transact_as_is<R: Read>(
        &mut self,
        envelopes: Vec<Envelope>,
        bodies: &mut [R],
    ) -> Result<Vec<Report>, Error> {
        let now = self.d.now();
        self.d.session.send(now, envelopes)?;
        self.d.run(bodies);
        self.d.session.finish_send()
    }

    fn command(
        &mut self,
        start: fn(&mut Session<Error>, Instant) -> Result<(), Error>,
    ) -> Result<Reply, Error> {
        let now = self.d.now();
        start(&mut self.d.session, now)?;
        self.d.run::<&[u8]>(&mut []);
        self.d.session.finish_command()
    }

    /// NOOP: checks the session is alive.
    pub fn noop(&mut self) -> Result<Reply, Error> {
        self.command(Session::noop)
    }

    /// RSET.
    pub fn rset(&mut self) -> Result<Reply, Error> {
        self.command(Session::rset)
    }

    /// QUIT, then closes. `Err` if the session had already died (with that error).
    pub fn quit(mut self) -> Result<(), Error> {
        let now = self.d.now();
        self.d.session.quit(now)?;
        self.d.run::<&[u8]>(&mut []);
        self.d.session.finish_quit()
    }

    smtp_io::session_accessors!(d.session);

    #[cfg(feature = "rustls")]
    smtp_io::tls_accessors!(d);
}
