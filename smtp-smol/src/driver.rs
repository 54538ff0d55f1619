//! The I/O of the [`Session`] loop (its contract: [`smtp_proto::session`]): the only code
//! that touches the socket and the clock.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use smtp_proto::session::{Io, Session};
use smtp_proto::{Config, Envelope, Instant, TlsUpgrade};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant as Clock;

use async_io::{Async, Timer};
use futures_lite::future;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::Error;
use smtp_io::buffer::Scratch;
use smtp_io::stream::{now_or_never, Open, Reported};

/// Where the bytes go: cleartext, TLS, or nothing after a failed or interrupted upgrade.
pub(crate) enum Stream<S> {
    Plain(S),
    #[cfg(feature = "rustls")]
    Tls(Box<futures_rustls::client::TlsStream<S>>),
    Broken,
}

/// A stream of either kind, for the calls below. `Send`, because the `&mut dyn Duplex`
/// lives across an await: without it no future of the crate would be `Send`, and none
/// could run on a multi-threaded executor.
trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream<S> {
    fn io(&mut self) -> io::Result<&mut dyn Duplex> {
        match self {
            Stream::Plain(s) => Ok(s),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Ok(&mut **s),
            Stream::Broken => Err(io::ErrorKind::NotConnected.into()),
        }
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

/// Runs `fut` until `deadline` (`None` if the deadline came first). Biased towards `fut`:
/// bytes that arrived while the caller was idle win over a deadline that passed meanwhile.
pub(crate) async fn timed<F: Future>(deadline: Option<Clock>, fut: F) -> Option<F::Output> {
    future::or(async { Some(fut.await) }, async {
        sleep(deadline).await;
        None
    })
    .await
}

/// The timer of the reads, kept from one read to the next: a timer per read costs a
/// registration with the reactor and a removal (a lock and a wake-up each). It is set
/// again only for a deadline earlier than the one it is set for (or once it fired); set
/// for an earlier one than a read's, it fires early, the core ignores the timeout (it
/// has not passed) and the read is made again with the timer set anew. Writes, whose
/// timeout cannot be early, keep [`timed`].
struct ReadTimer {
    timer: Timer,
    /// What `timer` is set for, until it fires.
    at: Option<Clock>,
}

impl ReadTimer {
    fn new() -> Self {
        ReadTimer {
            timer: Timer::never(),
            at: None,
        }
    }

    /// Runs `fut` until the timer fires (`None`), the timer set for `deadline` at the
    /// latest. Biased towards `fut`, as [`timed`].
    async fn run<F: Future>(&mut self, deadline: Option<Clock>, fut: F) -> Option<F::Output> {
        let Some(deadline) = deadline else {
            return Some(fut.await);
        };
        let fired = future::or(async { Some(fut.await) }, async {
            if self.at.is_none_or(|at| at > deadline || at <= Clock::now()) {
                self.timer.set_at(deadline);
                self.at = Some(deadline);
            }
            (&mut self.timer).await;
            None
        })
        .await;
        if fired.is_none() {
            self.at = None;
        }
        fired
    }
}

/// One read from the server, handed to `session` as it comes (`Ok(0)`: the stream
/// ended), into `scratch`; into a small buffer that lives for one poll when `scratch`
/// is released (the connection is idle and only waits for the server to close or say
/// 421: it holds no buffer while it waits).
fn read_input<'a, S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: &'a mut Stream<S>,
    session: &'a mut Session<Error>,
    scratch: &'a mut Scratch,
    origin: Clock,
) -> impl Future<Output = io::Result<usize>> + 'a {
    poll_fn(move |cx| {
        let mut io = stream.io()?;
        let mut read = |buf: &mut [u8]| -> Poll<io::Result<usize>> {
            let n = ready!(Pin::new(&mut io).poll_read(cx, buf))?;
            if n > 0 {
                session.handle_input(Instant::from_duration(origin.elapsed()), &buf[..n]);
            }
            Poll::Ready(Ok(n))
        };
        if scratch.is_released() {
            read(&mut [0u8; 512])
        } else {
            read(scratch.input())
        }
    })
}

/// Which of two futures finished first.
pub(crate) enum First<A, B> {
    A(A),
    B(B),
}

/// Runs `a` and `b` until one finishes; the other is dropped. Biased towards `a`.
async fn first<A: Future, B: Future>(a: A, b: B) -> First<A::Output, B::Output> {
    future::or(async { First::A(a.await) }, async { First::B(b.await) }).await
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
    timed(deadline, tcp(host, port))
        .await
        .ok_or_else(|| Error::Io(io::ErrorKind::TimedOut.into()))?
        .map_err(Error::Io)
}

/// [`connect`] without its timeout (a proxy connector's is bounded as a whole).
pub(crate) async fn tcp(host: &str, port: u16) -> io::Result<Async<TcpStream>> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
    for addr in addresses(host, port).await? {
        match Async::<TcpStream>::connect(addr).await {
            Ok(s) => {
                s.get_ref().set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The addresses of `host`, from the system resolver, which blocks: it runs on smol's
/// blocking thread pool.
pub(crate) async fn addresses(
    host: &str,
    port: u16,
) -> io::Result<impl Iterator<Item = std::net::SocketAddr>> {
    let host = host.to_owned();
    blocking::unblock(move || (host, port).to_socket_addrs()).await
}

/// A session and its stream and clock.
pub(crate) struct Driver<S> {
    pub(crate) session: Session<Error>,
    stream: Stream<S>,
    origin: Clock,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::Tls>,
    /// What reads from the server and from message content go into.
    scratch: Scratch,
    read_timer: ReadTimer,
    /// The time read for the flight being put together: its messages' contents,
    /// read from memory right after, take it rather than read the clock each.
    flight_now: Option<Instant>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Driver<S> {
    /// A session on a connected stream; its first operation, connect, is under way.
    pub(crate) fn new(
        stream: S,
        config: Config,
        #[cfg(feature = "rustls")] tls: Option<crate::tls::Tls>,
    ) -> Self {
        Driver {
            session: smtp_io::new_session(config),
            stream: Stream::Plain(stream),
            origin: Clock::now(),
            #[cfg(feature = "rustls")]
            tls,
            scratch: Scratch::default(),
            read_timer: ReadTimer::new(),
            flight_now: None,
        }
    }

    /// The TLS session's state (version, resumption, the server's certificates), if
    /// the session runs over TLS.
    #[cfg(feature = "rustls")]
    pub(crate) fn tls_state(&self) -> Option<&rustls::CommonState> {
        match &self.stream {
            Stream::Tls(s) => Some(s.get_ref().1),
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

    /// Runs the operation under way to its end. `bodies` holds the content of the
    /// batch's messages, in order.
    pub(crate) async fn run<R: AsyncRead + Unpin>(&mut self, bodies: &mut [R]) {
        loop {
            match self.session.poll_io() {
                Io::Write { deadline } => self.write(deadline).await,
                Io::Read { deadline } => self.read(deadline).await,
                Io::StartTls(upgrade) => self.start_tls(upgrade).await,
                Io::ReadBody { index, max_chunk } => {
                    self.read_body(&mut bodies[index], max_chunk).await;
                }
                Io::Close { deadline } => self.close(deadline).await,
                Io::Done => return,
            }
        }
    }

    /// Writes the whole output buffer before `deadline`.
    async fn write(&mut self, deadline: Option<Instant>) {
        let deadline = self.clock(deadline);
        let result = timed(deadline, self.stream.write_all(self.session.output())).await;
        match result {
            Some(Ok(())) => self.session.handle_written(),
            Some(Err(e)) => self.fail(Error::from_io(e)),
            None => {
                // Part of the flight may be on the wire: the stream is out of step for good.
                self.stream = Stream::Broken;
                let now = self.now();
                self.session.handle_timeout(now);
            }
        }
    }

    /// Runs the open stream ([`Session::stream`]) until the source ends and every report
    /// is in, or the session dies. `next` is polled for messages while the stream has
    /// room. Each message's report goes to `on_reports` with its tag, with the others
    /// of the same step (see [`Open::hand_reports`]); a message the session refuses (no
    /// recipients, the session is dead) gets the error instead.
    /// `withdraw` runs before each step, while nothing is being written: it may
    /// withdraw messages not yet written ([`Open::withdraw`]). While nothing is owed
    /// and no message is ready, the stream reads the server (a close or a 421 while
    /// idle ends it) and holds no read buffer; its queues keep their room for the next
    /// messages until it ends (a pool's connection ends it when its pool says to trim,
    /// then waits in [`idle`](Self::idle), holding far less than this).
    pub(crate) async fn stream<T, R: AsyncRead + Unpin>(
        &mut self,
        next: &mut impl FnMut(&mut Context<'_>) -> Poll<Option<(Envelope, R, T)>>,
        on_reports: &mut impl FnMut(std::vec::Drain<'_, Reported<T>>),
        withdraw: &mut impl FnMut(&mut Open<R, T>, &mut Session<Error>),
    ) {
        let mut open = Open::default();
        let mut source = true;
        loop {
            withdraw(&mut open, &mut self.session);
            let io = self.session.poll_io();
            if !matches!(io, Io::ReadBody { .. }) {
                self.flight_now = None;
            }
            while let Some((_, report, envelope)) = self.session.poll_report_and_envelope() {
                open.report(report, envelope);
            }
            open.hand_reports(on_reports);
            match io {
                Io::Read { deadline } if source && self.session.stream_room() > 0 => {
                    let deadline = self.clock(deadline);
                    let idle = self.session.stream_pending() == 0;
                    self.scratch.input();
                    // With nothing owed the connection is idle unless a message is
                    // ready: it holds no buffer while it waits.
                    let won = if idle {
                        match now_or_never(self.race(deadline, next)).await {
                            Some(won) => won,
                            None => {
                                self.scratch.release();
                                self.race(deadline, next).await
                            }
                        }
                    } else {
                        self.race(deadline, next).await
                    };
                    let mut message = match won {
                        First::A(result) => {
                            self.on_read(result);
                            continue;
                        }
                        First::B(message) => message,
                    };
                    // Every message already queued joins this flight, up to the room.
                    // While earlier messages are unanswered the server has work, so
                    // before writing, the stream yields for as long as that brings
                    // more: tasks woken by the same replies queue their messages first.
                    // An executor may run a task woken by another right after it (Tokio's
                    // multi-thread scheduler does): without this each message of many
                    // callers was its own write there, and after one yield, one write
                    // per two messages.
                    let busy = !open.is_empty();
                    // One clock read per flight: it is written at once, and the core's
                    // deadlines are seconds long.
                    let now = self.now();
                    self.flight_now = Some(now);
                    loop {
                        let Some(taken) = message.take() else {
                            source = false;
                            self.session.stream_end();
                            break;
                        };
                        open.send(&mut self.session, now, taken);
                        if self.session.stream_room() == 0 {
                            break;
                        }
                        let mut more = now_or_never(poll_fn(&mut *next)).await;
                        if more.is_none() && busy {
                            future::yield_now().await;
                            more = now_or_never(poll_fn(&mut *next)).await;
                        }
                        match more {
                            Some(m) => message = m,
                            None => break,
                        }
                    }
                }
                Io::Write { deadline } => self.write(deadline).await,
                Io::Read { deadline } => self.read(deadline).await,
                Io::StartTls(upgrade) => self.start_tls(upgrade).await,
                Io::ReadBody { index, max_chunk } => {
                    if let Some(body) = open.body(index) {
                        let last = self.read_body(body, max_chunk).await;
                        open.read(index, last);
                    }
                }
                Io::Close { deadline } => self.close(deadline).await,
                Io::Done => return self.scratch.release(),
            }
        }
    }

    /// Waits between operations until `ready` says there is work (`true`), or the server
    /// sends something or closes (`false`: what came is in the session, and its next
    /// operation acts on it: a 421 or a close ends it). Holds no buffer.
    pub(crate) async fn idle(&mut self, ready: impl FnMut(&mut Context<'_>) -> Poll<()>) -> bool {
        self.scratch.release();
        let read = read_input(
            &mut self.stream,
            &mut self.session,
            &mut self.scratch,
            self.origin,
        );
        let won = first(read, poll_fn(ready)).await;
        match won {
            First::A(result) => {
                self.on_read(Some(result));
                false
            }
            First::B(()) => true,
        }
    }

    /// A read from the server racing `next` for a message: whichever comes first.
    fn race<'a, M>(
        &'a mut self,
        deadline: Option<Clock>,
        next: &'a mut impl FnMut(&mut Context<'_>) -> Poll<Option<M>>,
    ) -> impl Future<Output = First<Option<io::Result<usize>>, Option<M>>> + 'a {
        let read = read_input(
            &mut self.stream,
            &mut self.session,
            &mut self.scratch,
            self.origin,
        );
        first(self.read_timer.run(deadline, read), poll_fn(next))
    }

    /// Waits for exactly one thing: bytes, end of stream, or the deadline. Every byte
    /// read goes straight into the core: nothing is buffered here across STARTTLS.
    async fn read(&mut self, deadline: Option<Instant>) {
        let deadline = self.clock(deadline);
        self.scratch.input();
        let read = read_input(
            &mut self.stream,
            &mut self.session,
            &mut self.scratch,
            self.origin,
        );
        let result = self.read_timer.run(deadline, read).await;
        self.on_read(result);
    }

    /// Tells the core how a read ended (the bytes it brought are in already).
    fn on_read(&mut self, result: Option<io::Result<usize>>) {
        match result {
            Some(Ok(0)) => self.session.handle_eof(self.now()),
            Some(Ok(_)) => {}
            Some(Err(e)) => self.fail(Error::Io(e)),
            None => self.session.handle_timeout(self.now()),
        }
    }

    /// Runs the TLS handshake (implicit TLS, or after STARTTLS) before its deadline.
    async fn start_tls(&mut self, upgrade: TlsUpgrade) {
        #[cfg(feature = "rustls")]
        if let (Stream::Plain(plain), Some(tls)) = (
            std::mem::replace(&mut self.stream, Stream::Broken),
            &self.tls,
        ) {
            let deadline = self.clock(Some(upgrade.deadline()));
            // Boxed: the handshake is large and runs once; the futures of the session
            // loops (an idle pooled connection waits in one) would hold its size.
            let result = timed(deadline, Box::pin(tls.handshake(plain))).await;
            let now = self.now();
            return match result {
                Some(Ok(s)) => {
                    self.stream = Stream::Tls(Box::new(s));
                    self.session.handle_tls_established(now, upgrade);
                }
                Some(Err(e)) => self.fail(Error::from_io(e)),
                None => self.session.handle_timeout(now),
            };
        }
        let _ = upgrade;
        self.fail(Error::TlsUnavailable);
    }

    /// Reads up to `max_chunk` octets of content (filling the chunk, so that BDAT chunks
    /// are not as small as the reader's reads) and hands them to the core; returns
    /// whether the content ended (or failed).
    async fn read_body<R: AsyncRead + Unpin>(&mut self, reader: &mut R, max_chunk: usize) -> bool {
        let (mut filled, mut last) = (0, false);
        while let (false, Some(room)) = (last, self.scratch.chunk_room(filled, max_chunk)) {
            match reader.read(room).await {
                Ok(0) => last = true,
                Ok(n) => filled += n,
                // A body that cannot be read cannot be finished: DATA has no abort
                // (RFC 5321 §4.1.1.4), so the session ends and this error explains why.
                Err(e) => {
                    self.fail(Error::from_io(e));
                    return true;
                }
            }
        }
        let now = self.flight_now.unwrap_or_else(|| self.now());
        self.session
            .handle_body(now, self.scratch.filled(filled), last);
        last
    }

    /// The connection is gone for a reason of ours: the session ends with `cause`.
    fn fail(&mut self, cause: Error) {
        self.stream = Stream::Broken;
        let now = self.now();
        self.session.handle_failure(now, cause);
    }

    /// Writes out what the core left (QUIT, after some errors) and closes the stream.
    /// Failures are moot: the session is over.
    async fn close(&mut self, deadline: Instant) {
        self.write(Some(deadline)).await;
        let _ = timed(self.clock(Some(deadline)), self.stream.close()).await;
        self.stream = Stream::Broken;
    }
}
