//! Sends mail over SMTP or LMTP with smol (async-io), driving the sans-IO [`smtp_proto`] client.
//!
//! This crate moves bytes, keeps time and runs the TLS handshake; every protocol
//! decision (pipelining, BDAT, STARTTLS, AUTH, timeouts per RFC 5321 §4.5.3.2) is the
//! core's. A refused message is not an error: it is in the [`Report`].
//!
//! ```no_run
//! use smtp_smol::{Builder, Credentials, ForwardPath, ReversePath, TlsPolicy};
//! # async fn run() -> Result<(), smtp_smol::Error> {
//! let mut conn = Builder::new("mail.example.org")
//!     .port(587)
//!     .starttls(TlsPolicy::Required)
//!     .credentials(Credentials::password("alice", "secret").unwrap())
//!     .connect()
//!     .await?;
//! let report = conn
//!     .send_message(
//!         ReversePath::new("alice@example.org").unwrap(),
//!         [ForwardPath::new("bob@example.net").unwrap()],
//!         b"Subject: hi\r\n\r\nHello.\r\n",
//!     )
//!     .await?;
//! assert!(report.all_delivered());
//! conn.quit().await
//! # }
//! ```
//!
//! # Cancellation
//!
//! Every future of this crate can be dropped. Dropping [`Builder::connect`] closes the
//! socket. Dropping an operation on a [`Connection`] half-way (a `send`, `noop` ...) may
//! leave a command half-written or a reply unread, so the connection is then *poisoned*:
//! every later call returns [`Error::Cancelled`] and nothing more is written. A
//! connection is never reused in the middle of a transaction. To bound an operation,
//! prefer [`Builder::timeouts`] (the core's per-reply deadlines) over an outer timeout.
//!
//! # Threads
//!
//! Every future of this crate is `Send` when the stream and the body reader given to
//! [`Connection::send`] are (TCP's and `&[u8]` are), so a connection can be used
//! from `smol::spawn` or an executor run by several threads.
//! A [`Connection`] is `Send + Sync` when its stream is.
//!
//! # Errors and reports
//!
//! A message the server refuses is not an error: [`Report`] says per recipient and per
//! message what the server answered. `Err` means the session could not start or died
//! before this call's messages reached an outcome: none of them was delivered, and
//! sending them again is safe. If the session dies after the end of a message's data,
//! the call returns `Ok` with [`MessageOutcome::Unknown`] (the message may have been
//! delivered, RFC 5321 §4.5.3.2.6): do not resend blindly; messages of the same
//! [`Connection::send_many`] call that the end cut short say
//! [`TxnFailure::SessionClosed`](smtp_proto::TxnFailure::SessionClosed). After the
//! session died, every call returns the error that ended it (`quit` too).
//!
//! # Reconnecting
//!
//! Every connection opened from one [`Builder`] and its clones (and each connection of a [`Pool`]) shares
//! one rustls configuration and so its session cache: later handshakes resume when the
//! server allows ([`Connection::tls_resumed`]). [`Builder::credentials_provider`] is asked
//! for the credentials of each connection (a refreshed OAuth 2.0 token), and
//! [`Builder::connector`] opens each connection's stream the caller's way (a Unix socket,
//! a proxy); TLS and the session run on top. [`Builder::proxy`] is one such way: a SOCKS5
//! proxy ([`Proxy`], parsed from `socks5://` or `socks5h://` URLs).
//!
//! # Features
//!
//! - `rustls` (default): implicit TLS and STARTTLS with rustls. The crypto provider is
//!   *ring*, named explicitly: it builds in a fraction of aws-lc-rs's time on a small
//!   (2-core) machine and needs no cmake or C toolchain beyond `cc`. Trust anchors are
//!   webpki-roots unless `Builder::tls_config` supplies a configuration.
//! - `tracing`: commands and replies at debug level, target `smtp_io::trace`; AUTH
//!   payloads are redacted and control bytes escaped.
//! - `dkim`: `Builder::dkim_signer` signs every message with DKIM (`DkimSigner`) on
//!   every connection and pool made from the builder.
//! - `mail-builder`, `lettre`: mail-builder's `MessageBuilder` and lettre's `Message`
//!   are messages for [`Connection::send_mail`] and [`Pool::send_mail`] (re-exported as
//!   `mail_builder` and `lettre`). No lettre transport: lettre has no smol executor.
//! - `mx`: `mx::deliver` delivers straight to a domain's MX hosts under MTA-STS
//!   (RFC 8461) and DANE (RFC 7672), with REQUIRETLS (RFC 8689) and TLS reporting data
//!   (RFC 8460): the planner of `smtp_proto::mx` decides, smtp-mx supplies the
//!   verifiers, the DNS backends and the dialer.

mod connector;
mod driver;
#[cfg(feature = "mx")]
pub mod mx;
mod pool;
#[cfg(feature = "rustls")]
mod tls;

use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use std::task::{Context, Poll};

use smtp_proto::session::Session;
use smtp_proto::Instant;

pub use connector::{BoxSocket, Socket};
use driver::Driver;
#[cfg(feature = "lettre")]
pub use lettre;
#[cfg(feature = "mail-builder")]
pub use mail_builder;
pub use pool::Pool;
/// DKIM signing (feature `dkim`): a signer for [`Builder::dkim_signer`].
#[cfg(feature = "dkim")]
pub use smtp_io::dkim::{DkimError, DkimSigner};
pub use smtp_io::message::{IntoMessage, MessageError, Parts};
pub use smtp_io::pool::PoolReport;
pub use smtp_io::socks::{Proxy, ProxyError};
use smtp_io::NotReady;
pub use smtp_io::{CredentialsError, CredentialsFuture, CredentialsProvider, Error, Target};
pub use smtp_proto;
pub use smtp_proto::command::{EhloName, ForwardPath, Mechanism, ReversePath};
pub use smtp_proto::pool::{PoolConfig, Status};
pub use smtp_proto::{
    Capabilities, Credentials, Envelope, MessageOutcome, Recipient, RecipientStatus, Reply, Report,
    Stage, Timeouts, TlsPolicy, UsageError,
};

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

    /// Asks the credentials provider if there is one, connects over TCP (or through
    /// the [`connector`](Builder::connector)), then sets the session up as
    /// [`Builder::connect_stream`] does.
    ///
    /// A configuration under which the session could not make progress is refused
    /// first, before anything is resolved: [`Error::Usage`] with
    /// [`UsageError::InvalidConfig`].
    pub async fn connect(self) -> Result<Connection, Error> {
        self.settings.check()?;
        let config = self.settings.session_config().await?;
        let target = self.settings.target();
        let stream = connector::open(self.connector.as_ref(), &target).await?;
        Ok(self.start(stream, config).await?)
    }

    /// Runs the session over a connected stream (a Unix socket for LMTP, a proxy ...):
    /// TLS if configured, greeting, EHLO, STARTTLS, AUTH (with the credentials
    /// provider's credentials if there is one). Returns once transactions can go out.
    pub async fn connect_stream<S>(self, stream: S) -> Result<Connection<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        Ok(self.connect_stream_named(stream).await?)
    }

    /// [`connect_stream`](Self::connect_stream), with the name the server announced
    /// when the session did not get ready (an MX delivery's TLS report wants it).
    pub(crate) async fn connect_stream_named<S>(self, stream: S) -> Result<Connection<S>, NotReady>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let config = self.settings.session_config().await?;
        self.start(stream, config).await
    }

    /// Runs the session with `config` over `stream`.
    async fn start<S>(
        self,
        stream: S,
        config: smtp_proto::Config,
    ) -> Result<Connection<S>, NotReady>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        #[cfg(feature = "rustls")]
        let tls = self.settings.tls_setup()?.map(tls::Tls);
        let mut driver = Driver::new(
            stream,
            config,
            #[cfg(feature = "rustls")]
            tls,
        );
        driver.run::<&[u8]>(&mut []).await;
        driver
            .session
            .finish_connect()
            .map_err(|e| NotReady::new(e, driver.session.client().server_name()))?;
        let signing = self.settings.signing;
        Ok(Connection { driver, signing })
    }
}

/// An SMTP or LMTP session, set up and ready for transactions.
pub struct Connection<S = BoxSocket> {
    driver: Driver<S>,
    /// The builder's signer, for every message of [`send_all`](Self::send_all).
    signing: smtp_io::Signing,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    /// Sends one message whose content `body` yields (RFC 5322 bytes; line ends are
    /// normalised to CRLF unless BINARYMIME). Declare `BODY=` and `SIZE=` in the envelope.
    pub async fn send(
        &mut self,
        envelope: Envelope,
        body: impl AsyncRead + Unpin,
    ) -> Result<Report, Error> {
        let mut reports = self.send_all(vec![envelope], vec![body]).await?;
        reports.pop().ok_or(Error::Usage(UsageError::Closed))
    }

    /// Sends one message held in memory.
    pub async fn send_bytes(&mut self, envelope: Envelope, body: &[u8]) -> Result<Report, Error> {
        self.send(envelope, body).await
    }

    /// Sends a whole RFC 5322 message: `BODY=8BITMIME` if any octet is 8-bit, `SIZE=`,
    /// and `SMTPUTF8` if its header has UTF-8 and the server offers it. A NUL octet is
    /// refused ([`Error::Refused`]) before anything is sent.
    pub async fn send_message(
        &mut self,
        from: ReversePath,
        to: impl IntoIterator<Item = ForwardPath>,
        message: &[u8],
    ) -> Result<Report, Error> {
        self.send_mail(Parts::new(from, to, message)).await
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
    pub async fn send_mail<'a>(&mut self, message: impl IntoMessage<'a>) -> Result<Report, Error> {
        let (envelope, content) = smtp_io::message::prepare(message, self.capabilities())?;
        self.send_bytes(envelope, &content).await
    }

    /// Sends several messages on this connection, pipelined when the server allows
    /// (RFC 2920): about one round trip per message. One report per message, in order.
    pub async fn send_many<'a>(
        &mut self,
        messages: impl IntoIterator<Item = (Envelope, &'a [u8])>,
    ) -> Result<Vec<Report>, Error> {
        let (envelopes, bodies) = messages.into_iter().unzip();
        self.send_all(envelopes, bodies).await
    }

    /// Sends messages as they come, keeping the pipeline full: `next` is polled for
    /// each message (envelope, content, a tag of the caller's) while at most `max_open`
    /// are waiting for their outcome, and again while earlier messages are in flight, so
    /// new messages join the next flight (RFC 2920); every message ready at once goes
    /// in one flight. A poll function cannot lose a message to cancellation: a channel's
    /// `poll_recv` (Tokio) or `poll_next` (async-channel, via futures-lite) fits. Each
    /// report goes to `on_report` with its tag as it completes, in the order the
    /// messages came. Returns once `next` gives `Ready(None)` and every report is in.
    ///
    /// A builder with a DKIM signer refuses this call (`Error::Dkim` with
    /// `DkimError::Streamed`): its messages go out as they are read, never whole, so
    /// they cannot be signed here; sign each before yielding it.
    ///
    /// If the session dies, every message taken gets its report first (see
    /// [`MessageOutcome::Unknown`]; a message cut short says
    /// [`TxnFailure::SessionClosed`](smtp_proto::TxnFailure::SessionClosed)), then this
    /// returns the error; messages `next` has not given stay with the caller. A message
    /// the session refuses (no recipients) gets its error through `on_report`.
    pub async fn stream<T, R: AsyncRead + Unpin>(
        &mut self,
        max_open: usize,
        next: impl FnMut(&mut Context<'_>) -> Poll<Option<(Envelope, R, T)>>,
        mut on_report: impl FnMut(T, Result<Report, Error>),
    ) -> Result<(), Error> {
        self.signing.refuse_streaming()?;
        let on_reports = |reports: std::vec::Drain<'_, _>| {
            reports.for_each(|(tag, result, _)| on_report(tag, result));
        };
        self.stream_withdrawing(max_open, next, on_reports, |_, _| {})
            .await
    }

    /// [`stream`](Self::stream), with the reports a step's at a time (`on_reports`, see
    /// [`Open::hand_reports`](smtp_io::stream::Open::hand_reports)) and `withdraw` run
    /// before each step: a pool's connection withdraws there the messages whose callers
    /// gave up (and ends the stream when its pool says to trim, then waits in
    /// [`idle`](Self::idle)).
    pub(crate) async fn stream_withdrawing<T, R: AsyncRead + Unpin>(
        &mut self,
        max_open: usize,
        mut next: impl FnMut(&mut Context<'_>) -> Poll<Option<(Envelope, R, T)>>,
        mut on_reports: impl FnMut(std::vec::Drain<'_, smtp_io::stream::Reported<T>>),
        mut withdraw: impl FnMut(&mut smtp_io::stream::Open<R, T>, &mut Session<Error>),
    ) -> Result<(), Error> {
        let now = self.driver.now();
        self.driver.session.stream(now, max_open)?;
        self.driver
            .stream(&mut next, &mut on_reports, &mut withdraw)
            .await;
        self.driver.session.finish_stream()
    }

    /// Waits between operations until `ready` says there is work (`true`) or the server
    /// sends something or closes (`false`; the next operation acts on what came).
    pub(crate) async fn idle(&mut self, ready: impl FnMut(&mut Context<'_>) -> Poll<()>) -> bool {
        self.driver.idle(ready).await
    }

    /// NOOP: the server's reply.
    pub async fn noop(&mut self) -> Result<Reply, Error> {
        self.command(Session::noop).await
    }

    /// RSET: the server's reply.
    pub async fn rset(&mut self) -> Result<Reply, Error> {
        self.command(Session::rset).await
    }

    /// QUIT, then closes the connection.
    pub async fn quit(mut self) -> Result<(), Error> {
        let now = self.driver.now();
        self.driver.session.quit(now)?;
        self.driver.run::<&[u8]>(&mut []).await;
        self.driver.session.finish_quit()
    }

    smtp_io::session_accessors!(driver.session);

    #[cfg(feature = "rustls")]
    smtp_io::tls_accessors!(driver);

    /// Signs the messages if the builder has a signer (each body read into memory
    /// once), then sends them: the one path of `send`, `send_bytes`, `send_message` and
    /// `send_many`.
    async fn send_all<R: AsyncRead + Unpin>(
        &mut self,
        mut envelopes: Vec<Envelope>,
        bodies: Vec<R>,
    ) -> Result<Vec<Report>, Error> {
        if !self.signing.is_on() {
            return self.send_all_as_is(envelopes, bodies).await;
        }
        let mut contents = Vec::with_capacity(bodies.len());
        for mut body in bodies {
            let mut content = Vec::new();
            AsyncReadExt::read_to_end(&mut body, &mut content)
                .await
                .map_err(Error::Io)?;
            contents.push(content);
        }
        let signed = self.signing.sign_all(&mut envelopes, contents)?;
        let signed: Vec<&[u8]> = signed.iter().map(Vec::as_slice).collect();
        self.send_all_as_is(envelopes, signed).await
    }

    /// Runs one batch (see [`Session::finish_send`] for what a failure returns).
    async fn send_all_as_is<R: AsyncRead + Unpin>(
        &mut self,
        envelopes: Vec<Envelope>,
        mut bodies: Vec<R>,
    ) -> Result<Vec<Report>, Error> {
        let now = self.driver.now();
        self.driver.session.send(now, envelopes)?;
        self.driver.run(&mut bodies).await;
        self.driver.session.finish_send()
    }

    async fn command(
        &mut self,
        start: fn(&mut Session<Error>, Instant) -> Result<(), Error>,
    ) -> Result<Reply, Error> {
        let now = self.driver.now();
        start(&mut self.driver.session, now)?;
        self.driver.run::<&[u8]>(&mut []).await;
        self.driver.session.finish_command()
    }
}
