//! The I/O of the [`Session`] loop (its contract: [`smtp_proto::session`]): the only code
//! that touches the socket and the clock. Each write and read runs under a socket
//! timeout set from the core's deadline, so that a deadline covers a whole reply.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant as StdInstant};

use smtp_io::buffer::Scratch;
use smtp_io::stream::{Open, Reported};
use smtp_proto::session::{Io, Session};
use smtp_proto::{Envelope, Instant, TlsUpgrade};

use crate::{Error, Next};

/// A blocking byte stream whose reads and writes can time out.
///
/// The driver sets the timeout before every read and write from the core's deadline. A
/// stream that cannot time out may implement this as a no-op; deadlines are then only
/// checked between reads.
pub trait Socket: Read + Write {
    /// Sets the read and the write timeout (`None`: block).
    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Socket for TcpStream {
    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }
}

#[cfg(unix)]
impl Socket for std::os::unix::net::UnixStream {
    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }
}

enum Stream<S: Socket> {
    Plain(S),
    #[cfg(feature = "rustls")]
    Tls(Box<crate::tls::TlsStream<S>>),
    /// After a failure, or a handshake that did not complete.
    Broken,
}

/// A stream of either kind, for the calls below.
trait Duplex: Read + Write {}
impl<T: Read + Write> Duplex for T {}

impl<S: Socket> Stream<S> {
    fn io(&mut self) -> io::Result<&mut dyn Duplex> {
        match self {
            Stream::Plain(s) => Ok(s),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Ok(&mut **s),
            Stream::Broken => Err(ErrorKind::NotConnected.into()),
        }
    }
}

/// How long an idle stream's socket is read when its source has nothing yet
/// ([`Next::Empty`] where it may block).
const IDLE_GLANCE: Duration = Duration::from_millis(1);

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// A session and its socket and clock.
pub(crate) struct Driver<S: Socket> {
    pub(crate) session: Session<Error>,
    stream: Stream<S>,
    origin: StdInstant,
    /// What reads from the socket and from message content go into.
    scratch: Scratch,
    /// The socket timeout last set (`None`: not known), so that a read or write whose
    /// deadline leaves about as long does not cost a system call to set it again.
    timeout: Option<Option<Duration>>,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::TlsSetup>,
}

impl<S: Socket> Driver<S> {
    /// A session on a connected stream; its first operation, connect, is under way.
    pub(crate) fn new(
        stream: S,
        config: smtp_proto::Config,
        #[cfg(feature = "rustls")] tls: Option<crate::tls::TlsSetup>,
    ) -> Self {
        Driver {
            session: smtp_io::new_session(config),
            stream: Stream::Plain(stream),
            origin: StdInstant::now(),
            scratch: Scratch::default(),
            timeout: None,
            #[cfg(feature = "rustls")]
            tls,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    /// The TLS session's state (version, resumption, the server's certificates), if
    /// the session runs over TLS.
    #[cfg(feature = "rustls")]
    pub(crate) fn tls_state(&self) -> Option<&rustls::CommonState> {
        match &self.stream {
            Stream::Tls(s) => Some(&s.conn),
            _ => None,
        }
    }

    /// Runs the operation under way to its end. `bodies` holds the content of the
    /// batch's messages, in order.
    pub(crate) fn run<R: Read>(&mut self, bodies: &mut [R]) {
        loop {
            match self.session.poll_io() {
                Io::Write { deadline } => self.write(deadline),
                Io::Read { deadline } => self.read(deadline),
                Io::StartTls(upgrade) => self.start_tls(upgrade),
                Io::ReadBody { index, max_chunk } => {
                    self.read_body(&mut bodies[index], max_chunk);
                }
                Io::Close { deadline } => self.close(deadline),
                Io::Done => return,
            }
        }
    }

    /// Runs the open stream ([`Session::stream`]) until the source ends and every report
    /// is in, or the session dies; see [`Connection::stream`](crate::Connection::stream).
    /// The reports go to `on_reports` a step's at a time ([`Open::hand_reports`]).
    /// `withdraw` runs before each step, while nothing is being written: it may
    /// withdraw messages not yet written ([`Open::withdraw`]).
    pub(crate) fn stream<T, R: Read>(
        &mut self,
        next: &mut impl FnMut(bool) -> Next<(Envelope, R, T)>,
        on_reports: &mut impl FnMut(std::vec::Drain<'_, Reported<T>>),
        withdraw: &mut impl FnMut(&mut Open<R, T>, &mut Session<Error>),
    ) {
        let mut open = Open::default();
        let mut source = true;
        loop {
            withdraw(&mut open, &mut self.session);
            let io = self.session.poll_io();
            while let Some((_, report, envelope)) = self.session.poll_report_and_envelope() {
                open.report(report, envelope);
            }
            open.hand_reports(on_reports);
            match io {
                Io::Read { deadline } if source && self.session.stream_room() > 0 => {
                    // Wait for the source only when the server owes nothing of ours;
                    // then the connection is idle unless a message is ready, and holds
                    // no buffer while it waits.
                    let idle = self.session.stream_pending() == 0;
                    let ready = next(false);
                    let ready = match ready {
                        Next::Empty if idle => {
                            self.scratch.release();
                            next(true)
                        }
                        other => other,
                    };
                    match ready {
                        Next::Message(message) => {
                            let now = self.now();
                            open.send(&mut self.session, now, message);
                        }
                        // The source waited a while in vain: a glance at the socket, so
                        // that a server's close (or 421) while idle is noticed.
                        Next::Empty if idle => self.read(Some(self.now() + IDLE_GLANCE)),
                        Next::Empty => self.read(deadline),
                        Next::End => {
                            source = false;
                            self.session.stream_end();
                        }
                    }
                }
                Io::Write { deadline } => self.write(deadline),
                Io::Read { deadline } => self.read(deadline),
                Io::StartTls(upgrade) => self.start_tls(upgrade),
                Io::ReadBody { index, max_chunk } => {
                    if let Some(body) = open.body(index) {
                        let last = self.read_body(body, max_chunk);
                        open.read(index, last);
                    }
                }
                Io::Close { deadline } => self.close(deadline),
                Io::Done => return self.scratch.release(),
            }
        }
    }

    /// A socket-side failure: the session ends with it.
    fn fail(&mut self, e: Error) {
        self.stream = Stream::Broken;
        let now = self.now();
        self.session.handle_failure(now, e);
    }

    /// Sets the socket timeout to what is left until `deadline`; `TimedOut` if nothing is.
    /// The timeout already set stays if it ends within 1/64 of what is left (at least
    /// 1 ms) of the deadline, and, for a write (`early_ok` false), not before it: a write
    /// that times out cannot be resumed, while a read woken early is read again (the
    /// core ignores a timeout that has not passed).
    fn arm(&mut self, deadline: Option<Instant>, early_ok: bool) -> io::Result<()> {
        let left = deadline.map(|d| d.saturating_duration_since(self.now()));
        if left.is_some_and(|left| left.is_zero()) {
            return Err(ErrorKind::TimedOut.into());
        }
        let keep = match (self.timeout, left) {
            (Some(None), None) => true,
            (Some(Some(set)), Some(left)) => {
                let late = (left / 64).max(Duration::from_millis(1));
                let early = if early_ok { late } else { Duration::ZERO };
                set <= left + late && set + early >= left
            }
            _ => false,
        };
        if keep {
            return Ok(());
        }
        self.timeout = None;
        match &mut self.stream {
            Stream::Plain(s) => s.set_timeout(left)?,
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.sock.set_timeout(left)?,
            Stream::Broken => return Ok(()),
        }
        self.timeout = Some(left);
        Ok(())
    }

    /// Writes the whole output buffer (one flight) before `deadline`.
    fn write(&mut self, deadline: Option<Instant>) {
        let written = self.arm(deadline, false).and_then(|()| {
            let io = self.stream.io()?;
            io.write_all(self.session.output())?;
            io.flush()
        });
        match written {
            Ok(()) => self.session.handle_written(),
            Err(e) if is_timeout(&e) => {
                // Part of the flight may be on the wire: out of step for good. The socket
                // timeout was what was left, so the deadline has passed (timer granularity
                // aside: a write cannot be resumed, unlike a read).
                self.stream = Stream::Broken;
                let now = self.now().max(deadline.unwrap_or_default());
                self.session.handle_timeout(now);
            }
            Err(e) => self.fail(Error::from_io(e)),
        }
    }

    /// One read, fed straight into the core (no buffering: nothing plaintext survives a
    /// STARTTLS).
    fn read(&mut self, deadline: Option<Instant>) {
        let read = self
            .arm(deadline, true)
            .and_then(|()| self.stream.io()?.read(self.scratch.input()));
        let now = self.now();
        match read {
            Ok(0) => self.session.handle_eof(now),
            Ok(n) => self.session.handle_input(now, self.scratch.filled(n)),
            // Timer granularity: the core ignores a timeout that has not passed yet.
            Err(e) if is_timeout(&e) => self.session.handle_timeout(now),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A TLS peer that closes without close_notify: an end of stream all the same.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => self.session.handle_eof(now),
            Err(e) => self.fail(Error::from_io(e)),
        }
    }

    /// Reads up to `max_chunk` octets of content, filling the chunk so that BDAT chunks
    /// are not needlessly small, and hands them to the core; returns whether the content
    /// ended (or failed).
    fn read_body<R: Read>(&mut self, reader: &mut R, max_chunk: usize) -> bool {
        let (mut filled, mut last) = (0, false);
        while let (false, Some(room)) = (last, self.scratch.chunk_room(filled, max_chunk)) {
            match reader.read(room) {
                Ok(0) => last = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // DATA cannot be aborted: drop the connection without the end marker.
                Err(e) => {
                    self.fail(Error::Io(e));
                    return true;
                }
            }
        }
        let now = self.now();
        self.session
            .handle_body(now, self.scratch.filled(filled), last);
        last
    }

    /// Runs the TLS handshake (implicit TLS, or after STARTTLS) before its deadline.
    fn start_tls(&mut self, upgrade: TlsUpgrade) {
        #[cfg(feature = "rustls")]
        if let (Stream::Plain(sock), Some(setup)) = (
            std::mem::replace(&mut self.stream, Stream::Broken),
            &self.tls,
        ) {
            let deadline = self.origin + upgrade.deadline().as_duration();
            let result = crate::tls::handshake(sock, setup, deadline);
            let now = self.now();
            return match result {
                Ok(s) => {
                    self.stream = Stream::Tls(Box::new(s));
                    self.session.handle_tls_established(now, upgrade);
                }
                Err(Error::Timeout { .. }) => self.session.handle_timeout(now),
                Err(e) => self.fail(e),
            };
        }
        let _ = upgrade;
        self.fail(Error::TlsUnavailable);
    }

    /// Writes out what the core left (QUIT, after some errors) and closes the stream.
    /// Failures are moot: the session is over.
    fn close(&mut self, deadline: Instant) {
        self.write(Some(deadline));
        #[cfg(feature = "rustls")]
        if let Stream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        self.stream = Stream::Broken;
    }
}
