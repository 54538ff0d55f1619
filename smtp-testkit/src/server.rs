//! Loopback servers on real 127.0.0.1 sockets, each on its own std thread.
//!
//! - [`ScriptedServer`] plays a [`Plan`]'s turns (or replays a hand-written transcript)
//!   without knowing SMTP: it writes the server's bytes, reads and compares the client's,
//!   does a rustls server handshake on `TLS` (and before everything under
//!   `config: tls=implicit`), closes on `EOF`.
//! - [`StepServer`] runs a fixed list of [`Step`]s, checking each line the client sends
//!   against the expected one: the silent and trickling servers of the timeout tests, and
//!   short conversations whose replies a test picks.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::{ServerConnection, StreamOwned};
use smtp_proto::TlsMode;

use crate::plan::{Plan, Turn};
use crate::tls::TestCert;
use crate::transcript::{escape, unescape, Transcript};

/// How long the server waits for the adapter to connect, or for expected client bytes.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long a partly received group of `C:` bytes may stall before the server answers
/// anyway (see [`ScriptedServer`]).
const IDLE: Duration = Duration::from_millis(300);

/// A one-connection server that replays a transcript, or plays a [`Plan`]'s turns.
///
/// [`ScriptedServer::play`] is strict: before each line it writes, the client must have
/// sent exactly the bytes the plan expects by then, and nothing beyond them (the plan
/// already moved the commands an adapter can only send later, see [`crate::plan`]).
///
/// [`ScriptedServer::start`] replays a hand-written transcript as it stands. The core
/// may be handed QUIT with a message, so a transcript may show `.\r\nQUIT\r\n` in one
/// flight, before the reply to the message, while an adapter's `send` waits for that
/// reply before its caller can ask for `quit`. So it is lenient in one way only: when
/// part of an expected group of `C:` bytes has arrived (a correct prefix) and the client
/// then stays idle for 300 ms, it writes the next `S:` line and expects the rest of the
/// group later. Everything the client writes must still match the transcript's bytes
/// exactly and in order; nothing may be missing or extra at the end.
pub struct ScriptedServer {
    addr: SocketAddr,
    handle: JoinHandle<Result<(), String>>,
}

impl ScriptedServer {
    /// Listens on 127.0.0.1 (a free port) and replays `t` to the first connection.
    pub fn start(t: &Transcript) -> ScriptedServer {
        let mut turns = Vec::new();
        if t.config().tls == TlsMode::Implicit {
            turns.push(Turn::Tls);
        }
        for (_, line) in &t.lines {
            if let Some(rest) = line.strip_prefix("C:") {
                turns.push(Turn::Expect(unescape(
                    rest.strip_prefix(' ').unwrap_or(rest),
                )));
            } else if let Some(rest) = line.strip_prefix("S: ") {
                turns.push(Turn::Say(unescape(rest)));
            } else if line == "TLS" {
                turns.push(Turn::Tls);
            } else if line == "EOF" {
                turns.push(Turn::Eof);
            }
        }
        Self::spawn(t.name.clone(), turns, Settle::Lenient)
    }

    /// Listens on 127.0.0.1 (a free port) and plays `plan` to the first connection.
    pub fn play(name: &str, plan: &Plan) -> ScriptedServer {
        Self::spawn(name.to_string(), plan.turns.clone(), Settle::Full)
    }

    fn spawn(name: String, turns: Vec<Turn>, mode: Settle) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let handle = std::thread::spawn(move || {
            let tcp = accept_within(&listener, PATIENCE)?;
            Replay::new(name, tcp, mode).run(&turns)
        });
        ScriptedServer { addr, handle }
    }

    /// Where to connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the replay to end; `Err` describes the first mismatch.
    pub fn finish(self) -> Result<(), String> {
        match self.handle.join() {
            Ok(r) => r,
            Err(_) => Err("the scripted server panicked".into()),
        }
    }
}

fn accept_within(listener: &TcpListener, patience: Duration) -> Result<TcpStream, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                s.set_nodelay(true).map_err(|e| e.to_string())?;
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if start.elapsed() > patience {
                    return Err(format!("no client connected within {patience:?}"));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    Gone,
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
            Conn::Gone => unreachable!("connection used after close"),
        }
    }
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &mut **s,
            Conn::Gone => unreachable!("connection used after close"),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

struct Replay {
    name: String,
    conn: Conn,
    /// Expected client bytes not yet received.
    want: Vec<u8>,
    /// How `C:` bytes are awaited before the server writes.
    mode: Settle,
    /// The transcript is over: the client may close instead of quitting.
    may_close: bool,
    /// It did.
    left: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Settle {
    /// Every expected byte must arrive, and nothing more before the server writes.
    Full,
    /// A correct prefix followed by an idle pause will do (see [`ScriptedServer`]).
    Lenient,
}

impl Replay {
    fn new(name: String, tcp: TcpStream, mode: Settle) -> Self {
        Replay {
            name,
            conn: Conn::Plain(tcp),
            want: Vec::new(),
            mode,
            may_close: false,
            left: false,
        }
    }

    fn run(mut self, turns: &[Turn]) -> Result<(), String> {
        let mut discard = false;
        for (i, turn) in turns.iter().enumerate() {
            let at = format!("{} (server turn {i}: {})", self.name, turn_name(turn));
            match turn {
                Turn::Expect(bytes) => {
                    self.want.extend(bytes);
                    if self.mode == Settle::Full {
                        self.settle(Settle::Full, &at)?;
                        if self.left {
                            return Ok(());
                        }
                    }
                }
                Turn::MayClose => self.may_close = true,
                Turn::Say(bytes) => {
                    match self.mode {
                        Settle::Lenient => self.settle(Settle::Lenient, &at)?,
                        Settle::Full => self.nothing_ahead(&at)?,
                    }
                    let io = self.conn.io();
                    io.write_all(bytes)
                        .and_then(|()| io.flush())
                        .map_err(|e| format!("{at}: writing S: bytes: {e}"))?;
                }
                Turn::SayLate(bytes) => {
                    let io = self.conn.io();
                    let _ = io.write_all(bytes).and_then(|()| io.flush());
                }
                Turn::Tls => {
                    self.settle(Settle::Full, &at)?;
                    self.tls(&at)?;
                }
                Turn::Pause(d) => std::thread::sleep(*d),
                Turn::Discard => discard = true,
                Turn::Eof => {
                    self.settle(Settle::Full, &at)?;
                    let _ = self.conn.tcp().shutdown(Shutdown::Both);
                    self.conn = Conn::Gone;
                    return Ok(());
                }
            }
        }
        let at = format!("{}:end", self.name);
        self.settle(Settle::Full, &at)?;
        self.expect_close(&at, discard)
    }

    /// Before the server writes, the client must not have sent what it may only send
    /// once it has read that (a server answers only what it has received).
    fn nothing_ahead(&mut self, at: &str) -> Result<(), String> {
        self.conn
            .tcp()
            .set_read_timeout(Some(Duration::from_millis(1)))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        match self.conn.io().read(&mut buf) {
            Ok(n) if n > 0 => Err(format!(
                "{at}: the client sent bytes before the server's reply that allows them:\n{}",
                escape(&buf[..n])
            )),
            // Closed: what comes next says whether it may.
            Ok(_) => Ok(()),
            Err(e) if is_timeout(&e) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
            Err(e) => Err(format!("{at}: read: {e}")),
        }
    }

    /// Reads expected bytes (never more than expected, so a TLS ClientHello is never
    /// swallowed) and checks them.
    fn settle(&mut self, mode: Settle, at: &str) -> Result<(), String> {
        let mut got = Vec::new();
        let start = Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < self.want.len() {
            let idle_ok = mode == Settle::Lenient && !got.is_empty();
            let timeout = if idle_ok {
                IDLE
            } else {
                Duration::from_millis(200)
            };
            self.conn
                .tcp()
                .set_read_timeout(Some(timeout))
                .map_err(|e| e.to_string())?;
            let room = (self.want.len() - got.len()).min(buf.len());
            let read = self.conn.io().read(&mut buf[..room]);
            let closed = match &read {
                Ok(0) => true,
                Err(e) => matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ),
                Ok(_) => false,
            };
            if closed && self.may_close && got.is_empty() {
                self.left = true;
                return Ok(());
            }
            match read {
                Ok(0) => {
                    return Err(format!(
                        "{at}: client closed the connection; still expected\n{}\n--- received\n{}",
                        escape(&self.want[got.len()..]),
                        escape(&got)
                    ))
                }
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got[..] != self.want[..got.len()] {
                        return Err(format!(
                            "{at}: client bytes differ\n--- expected\n{}\n--- got\n{}",
                            escape(&self.want),
                            escape(&got)
                        ));
                    }
                }
                Err(e) if is_timeout(&e) => {
                    if idle_ok {
                        break;
                    }
                    if start.elapsed() > PATIENCE {
                        return Err(format!(
                            "{at}: client did not send (waited {PATIENCE:?})\n--- expected\n{}\n--- got\n{}",
                            escape(&self.want),
                            escape(&got)
                        ));
                    }
                }
                Err(e) => return Err(format!("{at}: read: {e}")),
            }
        }
        self.want.drain(..got.len());
        Ok(())
    }

    fn tls(&mut self, at: &str) -> Result<(), String> {
        let tcp = match std::mem::replace(&mut self.conn, Conn::Gone) {
            Conn::Plain(t) => t,
            _ => return Err(format!("{at}: TLS on a connection that is already TLS")),
        };
        tcp.set_read_timeout(Some(PATIENCE))
            .map_err(|e| e.to_string())?;
        let server = ServerConnection::new(TestCert::get().server_config())
            .map_err(|e| format!("{at}: {e}"))?;
        let mut s = StreamOwned::new(server, tcp);
        while s.conn.is_handshaking() {
            s.conn
                .complete_io(&mut s.sock)
                .map_err(|e| format!("{at}: server TLS handshake: {e}"))?;
        }
        self.conn = Conn::Tls(Box::new(s));
        Ok(())
    }

    /// After the transcript, the client must close without writing anything more
    /// (`discard`: but for the handshake the server never answered).
    fn expect_close(&mut self, at: &str, discard: bool) -> Result<(), String> {
        self.conn
            .tcp()
            .set_read_timeout(Some(PATIENCE))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        match self.conn.io().read(&mut buf) {
            Ok(0) => Ok(()),
            Ok(_) if discard => self.expect_close(at, discard),
            Ok(n) => Err(format!(
                "{at}: client bytes not in the transcript:\n{}",
                escape(&buf[..n])
            )),
            // A client that drops a TLS connection without close_notify, or resets it.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
            Err(e) if is_timeout(&e) => Err(format!(
                "{at}: client did not close the connection within {PATIENCE:?}"
            )),
            Err(e) => Err(format!("{at}: read at the end: {e}")),
        }
    }
}

fn turn_name(t: &Turn) -> &'static str {
    match t {
        Turn::Expect(_) => "expect",
        Turn::Say(_) => "say",
        Turn::SayLate(_) => "say late",
        Turn::Tls => "TLS",
        Turn::Pause(_) => "pause",
        Turn::Discard => "discard",
        Turn::MayClose => "may close",
        Turn::Eof => "EOF",
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// One step of a [`StepServer`].
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes at once.
    Send(Vec<u8>),
    /// Read the client's next line (up to and including LF) and check it.
    Expect(Expected),
    /// Write these bytes one at a time, pausing this long before each.
    Trickle(Vec<u8>, Duration),
    /// Keep the connection open, reading and discarding, until the client closes it.
    Hold,
    /// Keep the connection open without reading for this long (the client's writes
    /// block once the socket buffers are full).
    Stall(Duration),
}

/// What the client's next line must be, for [`Step::Expect`].
#[derive(Clone, Debug)]
pub enum Expected {
    /// Exactly these bytes, CRLF included.
    Line(Vec<u8>),
    /// A line starting with these bytes (a command whose argument the test does not
    /// fix, such as EHLO's host name or an AUTH payload), ending with CRLF.
    Prefix(Vec<u8>),
}

impl Step {
    /// The client's next line is exactly `line` (CRLF included).
    pub fn expect(line: &str) -> Step {
        Step::Expect(Expected::Line(line.as_bytes().to_vec()))
    }

    /// The client's next line starts with `prefix` and ends with CRLF.
    pub fn expect_prefix(prefix: &str) -> Step {
        Step::Expect(Expected::Prefix(prefix.as_bytes().to_vec()))
    }
}

/// A one-connection server running fixed [`Step`]s: the timeout tests' silent and
/// trickling servers, and short conversations whose replies a test chooses.
///
/// It checks what the client sends ([`Step::Expect`]) and keeps its own errors: a line
/// other than the expected one, the client closing before an expected line, no client
/// within a minute, an I/O error. [`StepServer::finish`] returns them; dropping a server
/// whose steps already failed panics, so that no test passes over a server that went
/// wrong. The client going away while the server writes or holds is not an error: the
/// timeout tests end that way.
pub struct StepServer {
    addr: SocketAddr,
    handle: Option<JoinHandle<Result<(), String>>>,
}

impl StepServer {
    /// Listens on 127.0.0.1 and runs `steps` on the first connection.
    pub fn start(steps: Vec<Step>) -> StepServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let handle = std::thread::spawn(move || {
            let mut s = accept_within(&listener, Duration::from_secs(60))?;
            run_steps(&mut s, &steps)
        });
        StepServer {
            addr,
            handle: Some(handle),
        }
    }

    /// A server that accepts and never says anything.
    pub fn silent() -> StepServer {
        StepServer::start(vec![Step::Hold])
    }

    /// A server that sends `bytes` one byte a second, then holds the connection.
    pub fn trickle(bytes: &[u8]) -> StepServer {
        StepServer::start(vec![
            Step::Trickle(bytes.to_vec(), Duration::from_secs(1)),
            Step::Hold,
        ])
    }

    /// Where to connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the steps to end (a [`Step::Hold`] ends when the client closes);
    /// `Err` says what went wrong first.
    pub fn finish(mut self) -> Result<(), String> {
        let handle = self.handle.take().expect("joined once");
        match handle.join() {
            Ok(r) => r,
            Err(_) => Err("the step server panicked".into()),
        }
    }
}

impl Drop for StepServer {
    /// Panics if the steps have already failed (without waiting for steps still running:
    /// a hold or a stall may outlast the test).
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        if !handle.is_finished() || std::thread::panicking() {
            return;
        }
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("step server: {e}"),
            Err(_) => panic!("the step server panicked"),
        }
    }
}

/// Whether an I/O error means the client went away (a reset or a closed pipe), which
/// ends a conversation without failing it.
fn client_left(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

/// Reads one line (up to and including LF) and checks it.
fn expect_line(s: &mut TcpStream, want: &Expected, give_up: Instant) -> Result<(), String> {
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while got.last() != Some(&b'\n') {
        match s.read(&mut byte) {
            Ok(0) => {
                return Err(format!(
                    "the client closed the connection before sending {} (sent {:?})",
                    describe(want),
                    escape(&got)
                ))
            }
            Ok(_) => got.push(byte[0]),
            Err(e) if is_timeout(&e) && Instant::now() < give_up => {}
            Err(e) => return Err(format!("reading {}: {e}", describe(want))),
        }
    }
    let ok = match want {
        Expected::Line(line) => got == *line,
        Expected::Prefix(prefix) => got.starts_with(prefix) && got.ends_with(b"\r\n"),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the client sent {:?}, expected {}",
            escape(&got),
            describe(want)
        ))
    }
}

fn describe(want: &Expected) -> String {
    match want {
        Expected::Line(line) => format!("{:?}", escape(line)),
        Expected::Prefix(prefix) => format!("a line starting {:?}", escape(prefix)),
    }
}

fn run_steps(s: &mut TcpStream, steps: &[Step]) -> Result<(), String> {
    let give_up = Instant::now() + Duration::from_secs(60);
    for step in steps {
        let written = match step {
            Step::Send(b) => s.write_all(b),
            Step::Expect(want) => {
                expect_line(s, want, give_up)?;
                Ok(())
            }
            Step::Trickle(b, pause) => b.iter().try_for_each(|&c| {
                std::thread::sleep(*pause);
                s.write_all(&[c])
            }),
            Step::Stall(d) => {
                std::thread::sleep(*d);
                Ok(())
            }
            Step::Hold => return hold(s, give_up),
        };
        match written {
            Ok(()) => {}
            Err(e) if client_left(&e) => return Ok(()),
            Err(e) => return Err(format!("writing: {e}")),
        }
    }
    Ok(())
}

/// Reads and discards until the client closes (or a minute has passed).
fn hold(s: &mut TcpStream, give_up: Instant) -> Result<(), String> {
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    while Instant::now() < give_up {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(e) if client_left(&e) => return Ok(()),
            Err(e) => return Err(format!("holding: {e}")),
        }
    }
    Ok(())
}
