//! The run loop: the only code that touches the socket and the clock.
//!
//! 1. Mutate once (bytes, EOF, a passed deadline, a finished handshake, a request).
//! 2. Drain `poll_output` until `Wait` or `Closed`.
//! 3. Write the whole output buffer (one write per flight; message content also every
//!    64 KiB), then block on one read whose socket timeout is the core's deadline.
//!
//! Every failure of the socket (I/O error, TLS error, a body that cannot be read) is fed
//! to the core as an end of stream, so the core still folds every transaction's outcome
//! (not delivered, or unknown after the end of data); the driver keeps the real cause.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant as StdInstant};

use smtp_proto::{Client, Event, Instant, Output, Reply, Report, TxnId};

use crate::trace::Trace;
use crate::Error;

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

pub(crate) enum Stream<S: Socket> {
    Plain(S),
    #[cfg(feature = "rustls")]
    Tls(Box<crate::tls::TlsStream<S>>),
    /// After a failed handshake.
    Broken,
}

/// Output beyond this many octets is written before more content is framed.
const FLUSH_AT: usize = 64 * 1024;

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Where message content comes from when the core asks for it.
pub(crate) trait Bodies {
    /// Up to `max` octets of `txn`'s content, and whether they are the last.
    fn chunk(&mut self, txn: TxnId, max: usize) -> io::Result<(&[u8], bool)>;
}

/// For runs that send no content.
pub(crate) struct NoBodies;
impl Bodies for NoBodies {
    fn chunk(&mut self, _: TxnId, _: usize) -> io::Result<(&[u8], bool)> {
        Err(io::Error::other("no message content was given"))
    }
}

pub(crate) struct Driver<S: Socket> {
    pub(crate) client: Client,
    stream: Stream<S>,
    origin: StdInstant,
    out: Vec<u8>,
    buf: Vec<u8>,
    #[cfg(feature = "rustls")]
    pub(crate) tls: Option<crate::tls::TlsSetup>,
    /// Reports of the transactions in flight.
    pub(crate) tracking: Vec<Report>,
    pub(crate) ready: bool,
    /// Replies to NOOP and RSET.
    pub(crate) replies: Vec<Reply>,
    /// The session is over.
    pub(crate) closed: bool,
    /// Why, if not orderly.
    pub(crate) error: Option<Error>,
    /// A socket-side failure already fed to the core as EOF.
    failure: Option<Error>,
    trace: Trace,
}

impl<S: Socket> Driver<S> {
    pub(crate) fn new(client: Client, stream: Stream<S>, origin: StdInstant) -> Self {
        Driver {
            client,
            stream,
            origin,
            out: Vec::new(),
            buf: vec![0; 16 * 1024],
            #[cfg(feature = "rustls")]
            tls: None,
            tracking: Vec::new(),
            ready: false,
            replies: Vec::new(),
            closed: false,
            error: None,
            failure: None,
            trace: Trace::default(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    pub(crate) fn is_encrypted(&self) -> bool {
        self.client.is_encrypted()
    }

    /// Drives the session until `done` holds (checked while waiting) or it closes.
    pub(crate) fn run(&mut self, bodies: &mut dyn Bodies, done: &dyn Fn(&Self) -> bool) {
        while !self.closed {
            let start = self.out.len();
            let output = self.client.poll_output(&mut self.out);
            self.trace.sent(&self.out[start..]);
            match output {
                Output::Event(e) => self.on_event(e),
                Output::SendBody { txn, max_chunk } => {
                    let now = self.now();
                    match bodies.chunk(txn, max_chunk) {
                        Ok((chunk, last)) => {
                            let start = self.out.len();
                            // The core asked for this chunk of this transaction: cannot fail.
                            let _ = self.client.send_body(now, txn, chunk, last, &mut self.out);
                            self.trace.content(self.out.len() - start);
                            // The core frames chunk after chunk without a Wait: write as
                            // we go so memory stays bounded and each block has its deadline.
                            if self.out.len() >= FLUSH_AT {
                                let deadline = self.client.deadline();
                                self.flush(deadline);
                            }
                        }
                        // DATA cannot be aborted: drop the connection without the end marker.
                        Err(e) => self.fail(Error::Io(e)),
                    }
                }
                Output::StartTls(upgrade) => {
                    let deadline = Some(upgrade.deadline());
                    if self.flush(deadline) {
                        self.start_tls(upgrade);
                    }
                }
                Output::Wait { deadline } => {
                    if !self.flush(deadline) {
                        continue; // the core now knows; it reports the end
                    }
                    if done(self) {
                        return;
                    }
                    match deadline {
                        Some(d) => self.read(d),
                        None => return, // nothing owed: the caller decides what is next
                    }
                }
                Output::Closed(err) => {
                    let cause = self.failure.take();
                    // QUIT may be in the buffer: best effort, briefly, and a failure to
                    // write it does not hide why the session ended.
                    let soon = self.now() + Duration::from_secs(5);
                    self.flush(Some(soon));
                    self.shutdown();
                    self.closed = true;
                    self.error = cause.or(err.map(Error::from_core));
                }
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        self.trace.event(&e);
        match &e {
            Event::Ready => self.ready = true,
            Event::Reply { reply, .. } => self.replies.push(reply.clone()),
            _ => {}
        }
        for r in &mut self.tracking {
            if r.apply(&e) {
                break;
            }
        }
    }

    /// A socket-side failure: remember it, tell the core the stream ended.
    fn fail(&mut self, e: Error) {
        self.failure.get_or_insert(e);
        self.out.clear();
        self.stream = Stream::Broken;
        let now = self.now();
        self.client.handle_eof(now);
    }

    fn timed_out(&mut self) {
        self.out.clear();
        let now = self.now();
        self.client.handle_timeout(now);
    }

    /// Sets the socket timeout to what is left until `deadline`; `false` if nothing is.
    fn arm(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        let left = match deadline {
            Some(d) => match d.as_duration().checked_sub(self.origin.elapsed()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Ok(false),
            },
            None => None,
        };
        match &mut self.stream {
            Stream::Plain(s) => s.set_timeout(left)?,
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.sock.set_timeout(left)?,
            Stream::Broken => {}
        }
        Ok(true)
    }

    /// Writes the whole output buffer: one flight. `false` if the session failed.
    fn flush(&mut self, deadline: Option<Instant>) -> bool {
        let mut done = 0;
        let mut flushed = self.out.is_empty();
        while done < self.out.len() || !flushed {
            match self.arm(deadline) {
                Ok(true) => {}
                Ok(false) => {
                    self.timed_out();
                    return false;
                }
                Err(e) => {
                    self.fail(Error::Io(e));
                    return false;
                }
            }
            let stream: &mut dyn Write = match &mut self.stream {
                Stream::Plain(s) => s,
                #[cfg(feature = "rustls")]
                Stream::Tls(s) => &mut **s,
                Stream::Broken => return false,
            };
            let r = if done < self.out.len() {
                stream.write(&self.out[done..]).and_then(|n| match n {
                    0 => Err(io::ErrorKind::WriteZero.into()),
                    n => {
                        done += n;
                        Ok(())
                    }
                })
            } else {
                stream.flush().map(|()| flushed = true)
            };
            match r {
                Ok(()) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail(Error::from_io(e));
                    return false;
                }
            }
        }
        self.out.clear();
        true
    }

    /// One read, fed straight into the core (no buffering: nothing plaintext survives a
    /// STARTTLS).
    fn read(&mut self, deadline: Instant) {
        match self.arm(Some(deadline)) {
            Ok(true) => {}
            Ok(false) => return self.timed_out(),
            Err(e) => return self.fail(Error::Io(e)),
        }
        let r = match &mut self.stream {
            Stream::Plain(s) => s.read(&mut self.buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.read(&mut self.buf),
            Stream::Broken => Ok(0),
        };
        let now = self.now();
        match r {
            Ok(0) => self.client.handle_eof(now),
            Ok(n) => {
                self.trace.received(&self.buf[..n]);
                self.client.handle_input(now, &self.buf[..n]);
            }
            // Timer granularity: the core ignores a timeout that has not passed yet.
            Err(e) if is_timeout(&e) => self.client.handle_timeout(now),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A TLS peer that closes without close_notify: an end of stream all the same.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.client.handle_eof(now),
            Err(e) => self.fail(Error::from_io(e)),
        }
    }

    #[cfg(feature = "rustls")]
    fn start_tls(&mut self, upgrade: smtp_proto::TlsUpgrade) {
        let deadline = self.origin + upgrade.deadline().as_duration();
        let (Stream::Plain(sock), Some(setup)) = (
            std::mem::replace(&mut self.stream, Stream::Broken),
            &self.tls,
        ) else {
            return self.fail(Error::TlsUnavailable);
        };
        match crate::tls::handshake(sock, setup, deadline) {
            Ok(s) => {
                self.stream = Stream::Tls(Box::new(s));
                let now = self.now();
                self.client.handle_tls_established(now, upgrade);
            }
            Err(Error::Timeout { .. }) => self.timed_out(),
            Err(e) => self.fail(e),
        }
    }

    #[cfg(not(feature = "rustls"))]
    fn start_tls(&mut self, _: smtp_proto::TlsUpgrade) {
        self.fail(Error::TlsUnavailable)
    }

    fn shutdown(&mut self) {
        #[cfg(feature = "rustls")]
        if let Stream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        self.stream = Stream::Broken;
    }
}
