//! The run loop of the core (design.md, "The loop every adapter runs"): the only code
//! that touches the socket and the clock.

use std::future::Future;
use std::io;
use std::time::Duration;

use smtp_proto::{Client, Config, Event, Instant, Output, TlsMode, TxnId};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant as Clock;

use async_io::{Async, Timer};
use futures_lite::future;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::Error;

/// Where the bytes go: cleartext, TLS, or nothing after a failed or interrupted upgrade.
pub(crate) enum Stream<S> {
    Plain(S),
    #[cfg(feature = "rustls")]
    Tls(Box<futures_rustls::client::TlsStream<S>>),
    Broken,
}

/// A stream of either kind, for the calls below.
trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream<S> {
    fn io(&mut self) -> io::Result<&mut dyn Io> {
        match self {
            Stream::Plain(s) => Ok(s),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Ok(&mut **s),
            Stream::Broken => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io()?.read(buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let io = self.io()?;
        io.write_all(buf).await?;
        io.flush().await
    }

    async fn close(&mut self) -> io::Result<()> {
        self.io()?.close().await
    }
}

/// What one turn of the loop produced.
pub(crate) enum Step {
    Event(Event),
    /// Nothing left to do without waiting for the server (only when not blocking).
    Idle,
    /// The session ended in order (after QUIT).
    Closed,
}

/// Runs `fut` until `deadline` (`None` if the deadline came first). Biased towards `fut`:
/// bytes that arrived while the caller was idle win over a deadline that passed meanwhile.
async fn timed<F: Future>(deadline: Option<Clock>, fut: F) -> Option<F::Output> {
    future::or(async { Some(fut.await) }, async {
        sleep(deadline).await;
        None
    })
    .await
}

async fn sleep(deadline: Option<Clock>) {
    match deadline {
        Some(d) => {
            Timer::at(d).await;
        }
        None => future::pending().await,
    }
}

/// Resolves `host`, connects within `timeout`, and turns Nagle off: commands are small
/// and every flight is written whole, so delaying them only adds round trips.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Async<TcpStream>, Error> {
    let deadline = Clock::now().checked_add(timeout);
    let host = host.to_owned();
    let attempt = async move {
        // The system resolver blocks: it runs on smol's blocking thread pool.
        let addrs = blocking::unblock(move || (host, port).to_socket_addrs()).await?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
        for addr in addrs {
            match Async::<TcpStream>::connect(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    };
    let stream = timed(deadline, attempt)
        .await
        .ok_or_else(|| Error::Io(io::ErrorKind::TimedOut.into()))?
        .map_err(Error::Io)?;
    stream.get_ref().set_nodelay(true).map_err(Error::Io)?;
    Ok(stream)
}

/// Content is written out once this much is framed, rather than at the next Wait.
const FLUSH_AT: usize = 64 * 1024;

/// A session: the core, the stream, the output buffer and the clock.
pub(crate) struct Driver<S> {
    pub(crate) client: Client,
    stream: Stream<S>,
    out: Vec<u8>,
    /// How much of `out` has been logged (the rest is new commands).
    logged: usize,
    body: Vec<u8>,
    origin: Clock,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::Tls>,
    /// Why the core was told EOF when the cause was ours (an I/O or TLS error): reported
    /// instead of the core's `ConnectionClosed`.
    cause: Option<Error>,
    /// Set while an operation runs: if its future is dropped mid-flight, it stays set.
    busy: bool,
    /// The error that ended the session: every later operation returns it.
    ended: Option<Error>,
    #[cfg(feature = "tracing")]
    trace: crate::trace::Trace,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Driver<S> {
    /// Starts a session on a connected stream, after the handshake under implicit TLS.
    pub(crate) async fn open(
        stream: S,
        config: Config,
        #[cfg(feature = "rustls")] tls: Option<crate::tls::Tls>,
    ) -> Result<Self, Error> {
        let origin = Clock::now();
        let stream = match config.tls {
            #[cfg(feature = "rustls")]
            TlsMode::Implicit => {
                let tls = tls.as_ref().ok_or(Error::TlsUnavailable)?;
                let deadline = origin.checked_add(config.timeouts.tls_handshake);
                let s = timed(deadline, tls.handshake(stream))
                    .await
                    .ok_or(Error::Timeout {
                        stage: smtp_proto::Stage::TlsHandshake,
                    })?;
                Stream::Tls(Box::new(s.map_err(Error::from_io)?))
            }
            #[cfg(not(feature = "rustls"))]
            TlsMode::Implicit => return Err(Error::TlsUnavailable),
            TlsMode::StartTls(_) => Stream::Plain(stream),
        };
        Ok(Driver {
            client: Client::new(config, Instant::ZERO),
            stream,
            out: Vec::new(),
            logged: 0,
            body: Vec::new(),
            origin,
            #[cfg(feature = "rustls")]
            tls,
            cause: None,
            busy: false,
            ended: None,
            #[cfg(feature = "tracing")]
            trace: Default::default(),
        })
    }

    /// The TLS protocol version of the session, if it runs over TLS.
    pub(crate) fn tls_version(&self) -> Option<&'static str> {
        match &self.stream {
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Some(match s.get_ref().1.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                _ => "TLS",
            }),
            _ => None,
        }
    }

    /// The core's clock: time since the connection was opened.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    fn clock(&self, deadline: Option<Instant>) -> Option<Clock> {
        deadline.and_then(|d| self.origin.checked_add(d.as_duration()))
    }

    /// Marks the start of an operation. Fails if an earlier one was cancelled half-way
    /// (its bytes may be half-written and its replies unread, so the connection is lost),
    /// or with the error that ended the session.
    pub(crate) fn begin(&mut self) -> Result<(), Error> {
        if self.busy {
            return Err(Error::Cancelled);
        }
        if let Some(e) = &self.ended {
            return Err(e.duplicate());
        }
        self.busy = true;
        Ok(())
    }

    /// Marks the end of an operation (it ran to completion, well or not).
    pub(crate) fn end(&mut self) {
        self.busy = false;
    }

    /// Runs the loop until the core produces an event or the session ends. Unless
    /// `block`, returns [`Step::Idle`] instead of waiting for the server, once `out` is
    /// written. `bodies` holds the content of the transactions that may ask for it.
    pub(crate) async fn step<R: AsyncRead + Unpin>(
        &mut self,
        bodies: &mut [(TxnId, R)],
        block: bool,
    ) -> Result<Step, Error> {
        loop {
            let output = self.client.poll_output(&mut self.out);
            self.log_commands();
            match output {
                Output::Event(event) => {
                    #[cfg(feature = "tracing")]
                    self.trace.event(&event);
                    return Ok(Step::Event(event));
                }
                Output::SendBody { txn, max_chunk } => {
                    self.send_body(bodies, txn, max_chunk).await?
                }
                Output::StartTls(upgrade) => {
                    let deadline = self.clock(Some(upgrade.deadline()));
                    if self.write_out(deadline).await && self.start_tls(deadline).await {
                        let now = self.now();
                        self.client.handle_tls_established(now, upgrade);
                    }
                }
                Output::Wait { deadline } => {
                    let deadline = self.clock(deadline);
                    if self.write_out(deadline).await {
                        if !block {
                            return Ok(Step::Idle);
                        }
                        self.read(deadline).await;
                    }
                }
                Output::Closed(error) => {
                    #[cfg(feature = "tracing")]
                    self.trace.closed();
                    self.finish().await;
                    return match error {
                        None => Ok(Step::Closed),
                        Some(e) => {
                            let e = self.cause.take().unwrap_or_else(|| Error::from_core(e));
                            self.ended = Some(e.duplicate());
                            Err(e)
                        }
                    };
                }
            }
        }
    }

    /// Reads up to `max_chunk` octets of `txn`'s content (filling the chunk, so that BDAT
    /// chunks are not as small as the reader's reads) and hands them to the core.
    async fn send_body<R: AsyncRead + Unpin>(
        &mut self,
        bodies: &mut [(TxnId, R)],
        txn: TxnId,
        max_chunk: usize,
    ) -> Result<(), Error> {
        let reader = match bodies.iter_mut().find(|(t, _)| *t == txn) {
            Some((_, r)) => r,
            None => return Err(Error::Usage(smtp_proto::UsageError::NotExpectingBody)),
        };
        self.body.resize(max_chunk, 0);
        let mut filled = 0;
        let mut last = false;
        while filled < max_chunk && !last {
            match reader.read(&mut self.body[filled..]).await {
                Ok(0) => last = true,
                Ok(n) => filled += n,
                Err(e) => {
                    // A body that cannot be read cannot be finished: DATA has no abort
                    // (RFC 5321 §4.1.1.4), so the session ends and this error explains why.
                    self.lose(Error::from_io(e));
                    return Ok(());
                }
            }
        }
        let now = self.now();
        self.client
            .send_body(now, txn, &self.body[..filled], last, &mut self.out)
            .map_err(Error::Usage)?;
        #[cfg(feature = "tracing")]
        self.trace.body(&self.out[self.logged..]);
        self.logged = self.out.len();
        // The core frames chunk after chunk without a Wait: write as we go so memory
        // stays bounded and each block has its deadline (RFC 5321 §4.5.3.2.5).
        if self.out.len() >= FLUSH_AT {
            let deadline = self.clock(self.client.deadline());
            self.write_out(deadline).await;
        }
        Ok(())
    }

    /// Writes the whole of `out` before `deadline`. False if the session lost its
    /// connection instead (the core has been told).
    async fn write_out(&mut self, deadline: Option<Clock>) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let result = timed(deadline, self.stream.write_all(&self.out)).await;
        self.out.clear();
        self.logged = 0;
        match result {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                self.lose(Error::from_io(e));
                false
            }
            None => {
                // Part of the flight may be on the wire: the stream is out of step for good.
                self.stream = Stream::Broken;
                let now = self.now();
                self.client.handle_timeout(now);
                false
            }
        }
    }

    /// Waits for exactly one thing: bytes, end of stream, or the deadline. Every byte
    /// read goes straight into the core: nothing is buffered here across STARTTLS.
    async fn read(&mut self, deadline: Option<Clock>) {
        let mut buf = [0u8; 4096];
        let result = timed(deadline, self.stream.read(&mut buf)).await;
        let now = self.now();
        match result {
            Some(Ok(0)) => self.client.handle_eof(now),
            Some(Ok(n)) => {
                #[cfg(feature = "tracing")]
                self.trace.read(&buf[..n]);
                self.client.handle_input(now, &buf[..n]);
            }
            Some(Err(e)) => self.lose(Error::Io(e)),
            None => self.client.handle_timeout(now),
        }
    }

    /// Runs the STARTTLS handshake before `deadline`. False if it failed (the core has
    /// been told).
    async fn start_tls(&mut self, deadline: Option<Clock>) -> bool {
        #[cfg(feature = "rustls")]
        if let (Stream::Plain(_), Some(tls)) = (&self.stream, &self.tls) {
            let Stream::Plain(plain) = std::mem::replace(&mut self.stream, Stream::Broken) else {
                unreachable!("matched above")
            };
            match timed(deadline, tls.handshake(plain)).await {
                Some(Ok(s)) => {
                    self.stream = Stream::Tls(Box::new(s));
                    return true;
                }
                Some(Err(e)) => self.lose(Error::from_io(e)),
                None => {
                    let now = self.now();
                    self.client.handle_timeout(now);
                }
            }
            return false;
        }
        let _ = deadline;
        self.lose(Error::TlsUnavailable);
        false
    }

    /// The connection is gone for a reason of ours: the core sees EOF (so that open
    /// transactions get their outcome), the caller sees `cause`.
    fn lose(&mut self, cause: Error) {
        self.stream = Stream::Broken;
        self.cause = Some(cause);
        let now = self.now();
        self.client.handle_eof(now);
    }

    /// Writes out what the core left (QUIT, after some errors) and closes the stream,
    /// within the command timeout. Failures are moot: the session is over.
    async fn finish(&mut self) {
        let timeout = self.client.config().timeouts.command;
        let deadline = Clock::now().checked_add(timeout);
        let out = std::mem::take(&mut self.out);
        let mut stream = std::mem::replace(&mut self.stream, Stream::Broken);
        let _ = timed(deadline, async {
            if !out.is_empty() {
                stream.write_all(&out).await?;
            }
            stream.close().await
        })
        .await;
    }

    fn log_commands(&mut self) {
        #[cfg(feature = "tracing")]
        self.trace.commands(&self.out[self.logged..]);
        self.logged = self.out.len();
    }
}
