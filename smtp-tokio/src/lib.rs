//! Sends mail over SMTP or LMTP with Tokio, driving the sans-IO [`smtp_proto`] client.
//!
//! This crate moves bytes, keeps time and runs the TLS handshake; every protocol
//! decision (pipelining, BDAT, STARTTLS, AUTH, timeouts per RFC 5321 §4.5.3.2) is the
//! core's. A refused message is not an error: it is in the [`Report`].
//!
//! ```no_run
//! use smtp_tokio::{Builder, Credentials, ForwardPath, ReversePath, TlsPolicy};
//! # async fn run() -> Result<(), smtp_tokio::Error> {
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
//! # Features
//!
//! - `rustls` (default): implicit TLS and STARTTLS with rustls. The crypto provider is
//!   *ring*, named explicitly: it builds in a fraction of aws-lc-rs's time on a small
//!   (2-core) machine and needs no cmake or C toolchain beyond `cc`. Trust anchors are
//!   webpki-roots unless `Builder::tls_config` supplies a configuration.
//! - `tracing`: commands and replies at debug level; AUTH payloads are redacted and
//!   control bytes escaped.

mod driver;
mod error;
#[cfg(feature = "rustls")]
mod tls;
#[cfg(feature = "tracing")]
mod trace;

use std::time::Duration;

use smtp_proto::{Client, Config, Event, Instant, TlsMode, TxnId};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use driver::{Driver, Step};
pub use error::Error;
pub use smtp_proto;
pub use smtp_proto::command::{EhloName, ForwardPath, Mechanism, ReversePath};
pub use smtp_proto::{
    Capabilities, Credentials, Envelope, MessageOutcome, Recipient, RecipientStatus, Reply, Report,
    Stage, Timeouts, TlsPolicy, UsageError,
};

/// Settings for a connection; [`Builder::connect`] opens it.
#[derive(Debug)]
pub struct Builder {
    host: String,
    port: Option<u16>,
    config: Config,
    #[cfg(feature = "rustls")]
    tls_config: Option<std::sync::Arc<rustls::ClientConfig>>,
    connect_timeout: Duration,
}

impl Builder {
    /// Connects to `host` (a name to resolve, or an IP address); TLS certificates are
    /// verified against it. Defaults: port 25 (465 with implicit TLS, 24 with LMTP),
    /// STARTTLS required, EHLO name `localhost`, RFC 5321 timeouts, 30 s to connect.
    pub fn new(host: impl Into<String>) -> Self {
        Builder {
            host: host.into(),
            port: None,
            config: Config::new(EhloName::localhost()),
            #[cfg(feature = "rustls")]
            tls_config: None,
            connect_timeout: Duration::from_secs(30),
        }
    }

    /// The TCP port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// TLS from the first byte (RFC 8314, port 465).
    pub fn implicit_tls(mut self) -> Self {
        self.config.tls = TlsMode::Implicit;
        self
    }

    /// STARTTLS (RFC 3207) with this policy.
    pub fn starttls(mut self, policy: TlsPolicy) -> Self {
        self.config.tls = TlsMode::StartTls(policy);
        self
    }

    /// The rustls configuration (trust anchors, client certificate ...).
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Authenticate with these (only over TLS unless [`Builder::allow_plaintext_auth`]).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.config.credentials = Some(credentials);
        self
    }

    /// The name sent with EHLO or LHLO.
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

    /// How long name resolution plus the TCP connect may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The core's whole configuration, for what has no method here.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Connects over TCP, then sets the session up as [`Builder::connect_stream`] does.
    pub async fn connect(self) -> Result<Connection, Error> {
        let port = self.port.unwrap_or(match self.config.tls {
            TlsMode::Implicit => 465,
            _ if self.config.lmtp => 24,
            _ => 25,
        });
        let stream = driver::connect(&self.host, port, self.connect_timeout).await?;
        self.connect_stream(stream).await
    }

    /// Runs the session over a connected stream (a Unix socket for LMTP, a proxy ...):
    /// TLS if configured, greeting, EHLO, STARTTLS, AUTH. Returns once transactions
    /// can go out.
    pub async fn connect_stream<S>(self, stream: S) -> Result<Connection<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        #[cfg(feature = "rustls")]
        let tls = match self.config.tls {
            TlsMode::StartTls(TlsPolicy::Disabled) => None,
            _ => Some(tls::Tls::new(&self.host, self.tls_config)?),
        };
        let driver = Driver::open(
            stream,
            self.config,
            #[cfg(feature = "rustls")]
            tls,
        )
        .await?;
        let mut conn = Connection { driver };
        conn.drive(&mut no_body(), |e| matches!(e, Event::Ready))
            .await?;
        Ok(conn)
    }
}

/// An SMTP or LMTP session, set up and ready for transactions.
pub struct Connection<S = TcpStream> {
    driver: Driver<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    /// Sends one message whose content `body` yields (RFC 5322 bytes; line ends are
    /// normalised to CRLF unless BINARYMIME). Declare `BODY=` and `SIZE=` in the envelope.
    pub async fn send(
        &mut self,
        envelope: Envelope,
        body: impl AsyncRead + Unpin,
    ) -> Result<Report, Error> {
        let mut reports = self.send_all(vec![(envelope, body)]).await?;
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
        let caps = self.capabilities();
        let envelope = Envelope::for_message(from, to, message, caps).map_err(Error::Refused)?;
        self.send_bytes(envelope, message).await
    }

    /// Sends several messages on this connection, pipelined when the server allows
    /// (RFC 2920): about one round trip per message. One report per message, in order.
    pub async fn send_many<'a>(
        &mut self,
        messages: impl IntoIterator<Item = (Envelope, &'a [u8])>,
    ) -> Result<Vec<Report>, Error> {
        self.send_all(messages.into_iter().collect()).await
    }

    /// NOOP: the server's reply.
    pub async fn noop(&mut self) -> Result<Reply, Error> {
        self.command(Client::noop).await
    }

    /// RSET: the server's reply.
    pub async fn rset(&mut self) -> Result<Reply, Error> {
        self.command(Client::rset).await
    }

    /// QUIT, then closes the connection.
    pub async fn quit(mut self) -> Result<(), Error> {
        self.driver.begin()?;
        let now = self.driver.now();
        self.driver.client.quit(now).map_err(Error::Usage)?;
        loop {
            if let Step::Closed = self.driver.step(&mut no_body(), true).await? {
                return Ok(());
            }
        }
    }

    /// What the server offered in its last EHLO/LHLO reply.
    pub fn capabilities(&self) -> &Capabilities {
        self.driver.client.capabilities()
    }

    /// Whether the session runs over TLS.
    pub fn is_encrypted(&self) -> bool {
        self.driver.client.is_encrypted()
    }

    /// The TLS protocol version (`"TLSv1.3"`, `"TLSv1.2"`) when the session runs over
    /// TLS, implicit or after STARTTLS.
    pub fn tls_version(&self) -> Option<&'static str> {
        self.driver.tls_version()
    }

    /// The SASL mechanism the session authenticated with.
    pub fn auth_mechanism(&self) -> Option<Mechanism> {
        self.driver.client.auth_mechanism().cloned()
    }

    async fn send_all<R: AsyncRead + Unpin>(
        &mut self,
        messages: Vec<(Envelope, R)>,
    ) -> Result<Vec<Report>, Error> {
        self.driver.begin()?;
        // Checked before anything is queued, so that a refusal leaves nothing behind.
        if messages.iter().any(|(e, _)| e.recipients.is_empty()) {
            self.driver.end();
            return Err(Error::Usage(UsageError::NoRecipients));
        }
        let lmtp = self.driver.client.config().lmtp;
        let (mut reports, mut bodies) = (Vec::new(), Vec::new());
        for (envelope, body) in messages {
            let (now, n) = (self.driver.now(), envelope.recipients.len());
            let txn = self
                .driver
                .client
                .send(now, envelope)
                .map_err(Error::Usage)
                .inspect_err(|_| self.driver.end())?;
            reports.push(Report::new(txn, n, lmtp));
            bodies.push((txn, body));
        }
        let result = self
            .drive(&mut bodies, |e| {
                reports.iter_mut().any(|r| r.apply(&e));
                reports.iter().all(Report::is_complete)
            })
            .await;
        self.driver.end();
        match result {
            // A message that reached the server outranks the error: the caller must
            // learn its outcome (maybe Unknown) so as not to send it twice. The error
            // comes with the next call.
            Err(_) if reports.iter().any(Report::reached_server) => Ok(reports),
            Err(e) => Err(e),
            Ok(()) => Ok(reports),
        }
    }

    async fn command(
        &mut self,
        queue: fn(&mut Client, Instant) -> Result<(), UsageError>,
    ) -> Result<Reply, Error> {
        self.driver.begin()?;
        let now = self.driver.now();
        queue(&mut self.driver.client, now)
            .map_err(Error::Usage)
            .inspect_err(|_| self.driver.end())?;
        let mut reply = None;
        let result = self
            .drive(&mut no_body(), |e| match e {
                Event::Reply { reply: r, .. } => reply.replace(r).is_none(),
                _ => false,
            })
            .await;
        self.driver.end();
        reply.ok_or_else(|| result.err().unwrap_or(Error::Usage(UsageError::Closed)))
    }

    /// Runs the loop until `done` says the operation has what it waited for, then
    /// writes out what the core queued on the way (an RSET after a failed transaction):
    /// its reply timer is already running.
    async fn drive<R: AsyncRead + Unpin>(
        &mut self,
        bodies: &mut [(TxnId, R)],
        mut done: impl FnMut(Event) -> bool,
    ) -> Result<(), Error> {
        loop {
            match self.driver.step(bodies, true).await? {
                Step::Event(e) => {
                    if done(e) {
                        break;
                    }
                }
                Step::Closed => return Err(Error::Usage(UsageError::Closed)),
                Step::Idle => {}
            }
        }
        while let Step::Event(_) = self.driver.step(bodies, false).await? {}
        Ok(())
    }
}

fn no_body() -> [(TxnId, &'static [u8]); 0] {
    []
}
