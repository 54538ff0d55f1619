//! What an adapter does with a transcript, worked out before it runs: its operations,
//! and the server's side of the conversation as the adapter will meet it.
//!
//! A transcript hands the core its application requests whenever it likes (often all
//! at the top); an adapter runs one operation at a time (connect, a batch of messages,
//! NOOP, RSET, QUIT) and starts the next only once the last has its result. So a QUIT
//! that a transcript pipelines behind RSET reaches the wire only after RSET's reply, and
//! the server must answer RSET first. [`plan`] finds this out by running the core's own
//! [`Session`] (what every adapter drives) on the transcript's server lines with a fake
//! clock, the operations issued as an adapter issues them. A group of server lines (one
//! `S:` line) is fed line by line while the client only reads: where an operation ends
//! part-way, the rest waits for the next operation's flight; where the client acts on
//! part of the group (writes, asks for content), planning starts again with that group
//! fed whole, since the server writes it at once. What the session writes becomes the
//! [`Turn`]s of the [`ScriptedServer`](crate::server::ScriptedServer): each flight the
//! client must send before the next server line.
//!
//! Checked while planning, so that the plan cannot drift from the transcript:
//! - every byte written is the transcript's: all `C:` bytes, in order, nothing else,
//!   except a `QUIT` of the test's own ([`Op::End`]) after a session the transcript
//!   leaves up, answered with [`BYE`] (or the client may close instead);
//! - before each `S:` line of the transcript is answered, the client has written nothing
//!   the transcript puts after that line (a server answers only what it has received).
//!
//! Timers: `T: +Ns` lines run on real time, a transcript second lasting [`SECOND`]
//! (the configuration's timeouts are scaled to match). A `T:` that fires the client's
//! timer becomes nothing: the server just waits for the client to give up. A `T:` that
//! must not fire becomes a pause of half its scaled length (at most [`MAX_PAUSE`]), so
//! that a client timing out early, or twice as late, still fails. `D:` lines are the
//! core harness's business.
//!
//! Skipped, each with its reason ([`NoPlan::Skip`]): what the adapters' API cannot ask
//! for (VRFY, `body-last-empty`, requests after `quit`), content that fills its last
//! chunk exactly (an adapter's reader sends an empty last chunk), a session that ends
//! while the client is idle between operations (an adapter reads only within one), the
//! server speaking or closing once the client is in the TLS handshake, and a transcript
//! marked `adapters: skip` that cannot be planned. A transcript the session does not
//! follow is [`NoPlan::Broken`]: a failure.

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use smtp_proto::session::{Io, Session, SessionError};
use smtp_proto::{Config, Envelope, Instant, TlsMode, TlsUpgrade, UsageError};

use crate::transcript::{escape, parse_send, unescape, Transcript};

/// How long a transcript second lasts on a real socket, for transcripts with `T:` lines.
pub const SECOND: Duration = Duration::from_millis(5);
/// The longest pause for a `T:` line whose timer must not fire.
pub const MAX_PAUSE: Duration = Duration::from_secs(1);
/// The reply the server gives to the test's own QUIT after a transcript that leaves the
/// session open.
pub const BYE: &[u8] = b"221 2.0.0 Bye\r\n";

/// One operation of an adapter's `Connection`, in the order the adapter runs them
/// (connecting comes first and is not listed).
#[derive(Clone, Debug)]
pub enum Op {
    /// `send_many` (or `send`, for one message): each envelope with its content.
    Send(Vec<(Envelope, Vec<u8>)>),
    /// `noop`.
    Noop,
    /// `rset`.
    Rset,
    /// The transcript's `quit`: the last operation.
    Quit,
    /// The test's own end of a session the transcript does not quit, the last operation:
    /// `quit`, which returns the error that ended the session if one did (an error that
    /// comes after an operation's results is reported by the next call).
    End {
        /// The session is still up: dropping the connection will do instead (the server
        /// takes a QUIT or a close).
        open: bool,
    },
}

/// One step of the scripted server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The client must have sent exactly these bytes, and nothing beyond them, before
    /// the next turn.
    Expect(Vec<u8>),
    /// Write these bytes.
    Say(Vec<u8>),
    /// Write these bytes if the client still listens (it has closed its session).
    SayLate(Vec<u8>),
    /// The server's TLS handshake.
    Tls,
    /// Wait this long (a timer that must not fire).
    Pause(Duration),
    /// Close the connection: the script ends.
    Eof,
    /// The client's TLS handshake is never answered: read and discard until it closes.
    Discard,
    /// The transcript is over: from here the client may close the connection instead of
    /// going on (quitting).
    MayClose,
}

/// A transcript, planned for an adapter.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The adapter's operations after connecting.
    pub ops: Vec<Op>,
    /// The server's side.
    pub turns: Vec<Turn>,
}

/// Why a transcript is not replayed.
#[derive(Clone, Debug)]
pub enum NoPlan {
    /// It cannot be, for a reason given by name (a test skips it and says why).
    Skip(String),
    /// The planner could not follow it: a failure, never a skip.
    Broken(String),
}

impl std::fmt::Display for NoPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoPlan::Skip(why) => write!(f, "skipped: {why}"),
            NoPlan::Broken(why) => write!(f, "cannot be planned: {why}"),
        }
    }
}

/// What the transcript's server does, in order (`C:` lines count the bytes before each).
#[derive(Debug)]
enum Act {
    Client(Vec<u8>),
    Reply { line: usize, bytes: Vec<u8> },
    Tls,
    Eof,
    Wait(u64),
}

/// The session's error in the plan: only that there is one matters (the transcript's
/// `E:` lines judge the adapter's).
#[derive(Clone, Copy, Debug)]
struct SimError;

impl SessionError for SimError {
    fn from_core(_: smtp_proto::Error) -> Self {
        SimError
    }
    fn from_usage(_: UsageError) -> Self {
        SimError
    }
    fn cancelled() -> Self {
        SimError
    }
    fn duplicate(&self) -> Self {
        SimError
    }
}

/// The transcript's operations, as an adapter runs them; `Skip` names what an adapter's
/// API cannot ask for.
fn operations(t: &Transcript) -> Result<Vec<Op>, NoPlan> {
    let mut ops: Vec<Op> = Vec::new();
    // Whether the last application line was a `send:` (or its content): consecutive
    // messages go in one batch, as the core pipelines them.
    let mut in_batch = false;
    for (n, line) in &t.lines {
        let word = line.split([':', ' ']).next().unwrap_or("");
        if matches!(ops.last(), Some(Op::Quit)) && word != "body" && is_request(word) {
            return Err(NoPlan::Skip(format!(
                "line {n}: {word} after quit (an adapter's quit() ends the connection)"
            )));
        }
        match word {
            "adapters" => continue,
            "vrfy" => {
                return Err(NoPlan::Skip(format!(
                    "line {n}: VRFY (the adapters' Connection has no vrfy call)"
                )))
            }
            "body-last-empty" => {
                return Err(NoPlan::Skip(format!(
                    "line {n}: body-last-empty (an adapter's body reader marks the last \
                     chunk itself: an empty last chunk follows only content that fills \
                     its chunks exactly)"
                )))
            }
            "send" => {
                let envelope = parse_send(line.strip_prefix("send: ").unwrap_or(""));
                match ops.last_mut() {
                    Some(Op::Send(batch)) if in_batch => batch.push((envelope, Vec::new())),
                    _ => ops.push(Op::Send(vec![(envelope, Vec::new())])),
                }
                in_batch = true;
                continue;
            }
            "body" => {
                let b = line.strip_prefix("body:").unwrap_or("");
                match ops.last_mut() {
                    Some(Op::Send(batch)) if in_batch => {
                        let last = batch.last_mut().expect("a batch has a message");
                        last.1.extend(unescape(b.strip_prefix(' ').unwrap_or(b)));
                    }
                    _ => return Err(NoPlan::Broken(format!("line {n}: body before send"))),
                }
                continue;
            }
            "noop" => ops.push(Op::Noop),
            "rset" => ops.push(Op::Rset),
            "quit" => ops.push(Op::Quit),
            "config" => continue,
            _ => {}
        }
        in_batch = false;
    }
    if !matches!(ops.last(), Some(Op::Quit)) {
        ops.push(Op::End { open: false });
    }
    Ok(ops)
}

fn is_request(word: &str) -> bool {
    matches!(word, "send" | "noop" | "rset" | "vrfy" | "quit")
}

fn acts(t: &Transcript) -> VecDeque<Act> {
    let mut acts = VecDeque::new();
    for (n, line) in &t.lines {
        if let Some(rest) = line.strip_prefix("C:") {
            acts.push_back(Act::Client(unescape(
                rest.strip_prefix(' ').unwrap_or(rest),
            )));
        } else if let Some(rest) = line.strip_prefix("S: ") {
            acts.push_back(Act::Reply {
                line: *n,
                bytes: unescape(rest),
            });
        } else if let Some(rest) = line.strip_prefix("T: +") {
            let secs = rest.trim_end_matches('s').parse().expect("T: +Ns");
            acts.push_back(Act::Wait(secs));
        } else if line == "TLS" {
            acts.push_back(Act::Tls);
        } else if line == "EOF" {
            acts.push_back(Act::Eof);
        }
    }
    acts
}

/// Splits server bytes after each LF (the last piece may be unterminated).
fn lines(bytes: &[u8]) -> VecDeque<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The configuration an adapter runs a transcript with: the transcript's, its timeouts
/// scaled to [`SECOND`] when it has `T:` lines.
pub fn adapter_config(t: &Transcript) -> Config {
    let mut config = t.config();
    if has_timers(t) {
        let scale = |d: &mut Duration| *d = SECOND * u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        let to = &mut config.timeouts;
        for d in [
            &mut to.greeting,
            &mut to.mail,
            &mut to.rcpt,
            &mut to.data_init,
            &mut to.data_block,
            &mut to.data_end,
            &mut to.tls_handshake,
            &mut to.command,
        ] {
            scale(d);
        }
    }
    config
}

fn has_timers(t: &Transcript) -> bool {
    t.lines.iter().any(|(_, l)| l.starts_with("T:"))
}

/// Plans `t` for an adapter (see the module documentation). A transcript marked
/// `adapters: skip REASON` is planned all the same, and skipped with its reason only if
/// that fails.
pub fn plan(t: &Transcript) -> Result<Plan, NoPlan> {
    let marked = t.lines.iter().find(|(_, l)| l.starts_with("adapters:"));
    match (plan_ops(t), marked) {
        (Err(NoPlan::Skip(why) | NoPlan::Broken(why)), Some((n, line))) => {
            let first = why.lines().next().unwrap_or_default();
            Err(NoPlan::Skip(format!("line {n}: {line} (planner: {first})")))
        }
        (result, _) => result,
    }
}

fn plan_ops(t: &Transcript) -> Result<Plan, NoPlan> {
    let mut ops = operations(t)?;
    let mut whole = HashSet::new();
    loop {
        let mut sim = Sim::new(t, whole.clone());
        match sim.run(&mut ops) {
            Ok(()) => {
                return Ok(Plan {
                    ops,
                    turns: sim.turns,
                })
            }
            // Each round settles one more group, so this ends.
            Err(_) if sim.restart.is_some_and(|key| whole.insert(key)) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The core's session run as an adapter runs it, recording the server's turns.
struct Sim {
    session: Session<SimError>,
    now: Instant,
    acts: VecDeque<Act>,
    /// The rest of a server line group whose first lines ended an operation.
    held: VecDeque<Vec<u8>>,
    /// Every `C:` byte of the transcript, and how many of them precede the acts taken.
    want: Vec<u8>,
    want_before: usize,
    /// What the client wrote for the transcript's operations.
    wrote: Vec<u8>,
    /// What it wrote for the test's own QUIT.
    wrote_added: Vec<u8>,
    in_added: bool,
    /// Groups of server lines fed whole: the client acts on them before reading on.
    whole: HashSet<(usize, usize)>,
    /// The group being fed line by line (its `S:` line, its first line), and the group
    /// found to need feeding whole: the plan starts again.
    probing: Option<(usize, usize)>,
    restart: Option<(usize, usize)>,
    /// The group the held lines are the rest of.
    held_at: (usize, usize),
    /// A message whose content filled its last chunk exactly.
    exact_fill: Option<usize>,
    /// The line of the transcript's `E: closed`, if the session ends in it.
    closes: Option<usize>,
    implicit_tls: bool,
    turns: Vec<Turn>,
}

impl Sim {
    fn new(t: &Transcript, whole: HashSet<(usize, usize)>) -> Sim {
        let config = t.config();
        let acts = acts(t);
        let want = acts
            .iter()
            .filter_map(|a| match a {
                Act::Client(b) => Some(&b[..]),
                _ => None,
            })
            .collect::<Vec<_>>()
            .concat();
        Sim {
            implicit_tls: config.tls == TlsMode::Implicit,
            session: Session::new(config, Instant::ZERO),
            now: Instant::ZERO,
            acts,
            held: VecDeque::new(),
            want,
            want_before: 0,
            wrote: Vec::new(),
            wrote_added: Vec::new(),
            in_added: false,
            whole,
            probing: None,
            restart: None,
            held_at: (0, 0),
            exact_fill: None,
            closes: t
                .lines
                .iter()
                .find(|(_, l)| l.starts_with("E: closed"))
                .map(|(n, _)| *n),
            turns: Vec::new(),
        }
    }

    fn push(&mut self, turn: Turn) {
        match (self.turns.last_mut(), turn) {
            (Some(Turn::Expect(a)), Turn::Expect(b)) => a.extend(b),
            (Some(Turn::Say(a)), Turn::Say(b)) => a.extend(b),
            (Some(Turn::SayLate(a)), Turn::SayLate(b)) => a.extend(b),
            (_, turn) => self.turns.push(turn),
        }
    }

    /// Runs the operations as the adapters' loopback tests do: connect, then each
    /// operation until one fails.
    fn run(&mut self, ops: &mut [Op]) -> Result<(), NoPlan> {
        self.drive(&[])?;
        if self.session.finish_connect().is_ok() {
            for op in ops {
                let now = self.now;
                let ok = match op {
                    Op::Send(batch) => {
                        let envelopes = batch.iter().map(|(e, _)| e.clone()).collect();
                        let bodies: Vec<&[u8]> = batch.iter().map(|(_, b)| &b[..]).collect();
                        self.session.send(now, envelopes).is_ok() && {
                            self.drive(&bodies)?;
                            self.session.finish_send().is_ok()
                        }
                    }
                    Op::Noop | Op::Rset => {
                        let started = match op {
                            Op::Noop => self.session.noop(now),
                            _ => self.session.rset(now),
                        };
                        started.is_ok() && {
                            self.drive(&[])?;
                            self.session.finish_command().is_ok()
                        }
                    }
                    Op::Quit => {
                        self.session.quit(now).is_ok() && {
                            self.drive(&[])?;
                            self.session.finish_quit().is_ok()
                        }
                    }
                    Op::End { open } => {
                        *open = !self.session.client().is_closed();
                        if let Some(n) = self.closes.filter(|_| *open) {
                            return Err(NoPlan::Skip(format!(
                                "line {n}: the session ends while the client is idle after \
                                 its last operation (an adapter reads only within an \
                                 operation: it would meet this as the reply to its next \
                                 command)"
                            )));
                        }
                        self.in_added = true;
                        if *open {
                            self.push(Turn::MayClose);
                        }
                        self.session.quit(now).is_ok() && {
                            self.drive(&[])?;
                            self.session.finish_quit().is_ok()
                        }
                    }
                };
                if !ok {
                    break;
                }
            }
        }
        self.finish()
    }

    /// What is left of the transcript once the client is done: the server's later lines
    /// go out to a client that has closed, and every `C:` byte must have been written.
    fn finish(&mut self) -> Result<(), NoPlan> {
        let closed = self.session.client().is_closed();
        for line in std::mem::take(&mut self.held) {
            self.push(Turn::SayLate(line));
        }
        while let Some(act) = self.acts.pop_front() {
            match act {
                Act::Client(b) => self.want_before += b.len(),
                Act::Reply { bytes, .. } if closed => self.push(Turn::SayLate(bytes)),
                Act::Reply { line, .. } => {
                    return Err(self.broken(format!(
                        "line {line}: a server line after the adapter's last operation"
                    )))
                }
                Act::Eof => {
                    self.push(Turn::Eof);
                    break;
                }
                Act::Tls | Act::Wait(_) => {}
            }
        }
        if self.wrote != self.want {
            return Err(self.broken(format!(
                "the adapter's session writes other bytes than the transcript\n\
                 --- transcript\n{}\n--- adapter\n{}",
                escape(&self.want),
                escape(&self.wrote)
            )));
        }
        if !self.wrote_added.is_empty() && self.wrote_added != b"QUIT\r\n" {
            return Err(self.broken(format!(
                "the test's own quit() writes {}",
                escape(&self.wrote_added)
            )));
        }
        Ok(())
    }

    /// Performs the session's instructions until the operation is over.
    fn drive(&mut self, bodies: &[&[u8]]) -> Result<(), NoPlan> {
        let mut offsets = vec![0usize; bodies.len()];
        loop {
            let io = self.session.poll_io();
            if matches!(io, Io::Write { .. } | Io::ReadBody { .. }) && !self.held.is_empty() {
                if let Some(key) = self.probing {
                    // The client acts on part of a group of server lines: an adapter
                    // would have had the whole group (the server writes it at once).
                    self.restart = Some(key);
                    return Err(NoPlan::Broken("replanned".into()));
                }
            }
            if !matches!(io, Io::Read { .. }) {
                self.probing = None;
            }
            match io {
                Io::Write { .. } => self.write(),
                Io::Close { .. } => {
                    self.write();
                    for line in std::mem::take(&mut self.held) {
                        self.push(Turn::SayLate(line));
                    }
                }
                Io::Read { .. } => self.read()?,
                Io::ReadBody { index, max_chunk } => {
                    // As the adapters' readers do: fill the chunk; the content ends in it
                    // when the reader runs dry before it is full.
                    let body = bodies[index];
                    let off = offsets[index];
                    let end = body.len().min(off + max_chunk);
                    offsets[index] = end;
                    let last = body.len() - off < max_chunk;
                    if !last && end == body.len() {
                        self.exact_fill = Some(index);
                    }
                    self.session.handle_body(self.now, &body[off..end], last);
                }
                Io::StartTls(upgrade) => self.start_tls(upgrade)?,
                Io::Done => return Ok(()),
            }
        }
    }

    /// The handshake, as the transcript's server goes on after the reply to STARTTLS
    /// (or first thing, under implicit TLS).
    fn start_tls(&mut self, upgrade: TlsUpgrade) -> Result<(), NoPlan> {
        // Whatever came with the reply to STARTTLS arrived before the handshake (the core
        // must notice it: response injection).
        while let Some(line) = self.held.pop_front() {
            self.feed(line);
        }
        if self.session.client().is_closed() {
            return Ok(());
        }
        if std::mem::take(&mut self.implicit_tls) {
            self.push(Turn::Tls);
            self.session.handle_tls_established(self.now, upgrade);
            return Ok(());
        }
        loop {
            match self.next_act() {
                Some(Act::Tls) => {
                    self.push(Turn::Tls);
                    self.session.handle_tls_established(self.now, upgrade);
                }
                Some(Act::Eof) => {
                    return Err(NoPlan::Skip(
                        "the server closes in the TLS handshake: every adapter ends with \
                         its TLS stream's I/O error (an end of file in the handshake), not \
                         the core's connection-closed"
                            .into(),
                    ))
                }
                Some(Act::Wait(secs)) => {
                    let later = self.now + Duration::from_secs(secs);
                    self.now = later;
                    if upgrade.deadline() > later {
                        self.pause(secs);
                        continue;
                    }
                    self.push(Turn::Discard);
                    self.session.handle_timeout(self.now);
                }
                Some(Act::Reply { line, .. }) => {
                    return Err(NoPlan::Skip(format!(
                        "line {line}: the server speaks after its reply to STARTTLS, when \
                         an adapter is in the TLS handshake (the bytes reach rustls, not \
                         the core)"
                    )))
                }
                other => return Err(self.broken(format!("the client starts TLS; then {other:?}"))),
            }
            return Ok(());
        }
    }

    /// The planner cannot follow the transcript: says where it got to.
    fn broken(&self, msg: String) -> NoPlan {
        if let Some(index) = self.exact_fill {
            return NoPlan::Skip(format!(
                "message {index} of a batch fills its last chunk exactly: an adapter's \
                 reader learns that it ended only from its next read, so the last chunk \
                 is an empty one the transcript does not have"
            ));
        }
        let mut msg = msg;
        msg.push_str("\n--- the server's turns so far");
        for turn in &self.turns {
            let _ = match turn {
                Turn::Expect(b) => write!(msg, "\nexpect {}", escape(b)),
                Turn::Say(b) | Turn::SayLate(b) => write!(msg, "\nsay {}", escape(b)),
                other => write!(msg, "\n{other:?}"),
            };
        }
        NoPlan::Broken(msg)
    }

    fn pause(&mut self, secs: u64) {
        let pause = (SECOND * u32::try_from(secs).unwrap_or(u32::MAX)) / 2;
        self.push(Turn::Pause(pause.min(MAX_PAUSE)));
    }

    fn write(&mut self) {
        let out = self.session.output().to_vec();
        if out.is_empty() {
            return;
        }
        if self.in_added {
            self.wrote_added.extend(&out);
        } else {
            self.wrote.extend(&out);
        }
        self.push(Turn::Expect(out));
        self.session.handle_written();
    }

    fn feed(&mut self, line: Vec<u8>) {
        self.session.handle_input(self.now, &line);
        self.push(Turn::Say(line));
    }

    /// Feeds a group of server lines (what the server writes at once): whole, or line
    /// by line while the client only reads, so that an operation that ends part-way
    /// leaves the rest for the next (see [`plan`]).
    fn take_group(&mut self, key: (usize, usize), mut group: VecDeque<Vec<u8>>) {
        if group.len() < 2 || self.whole.contains(&key) {
            self.feed(group.into_iter().flatten().collect());
            return;
        }
        let first = group.pop_front().unwrap_or_default();
        self.held = group;
        self.held_at = (key.0, key.1 + 1);
        self.probing = Some(key);
        self.feed(first);
    }

    /// The next server act, `C:` bytes counted on the way.
    fn next_act(&mut self) -> Option<Act> {
        loop {
            match self.acts.pop_front()? {
                Act::Client(b) => self.want_before += b.len(),
                act => return Some(act),
            }
        }
    }

    /// The client waits for the server: the next line, or what the transcript does next.
    fn read(&mut self) -> Result<(), NoPlan> {
        if !self.held.is_empty() {
            if self.probing.is_some() {
                let line = self.held.pop_front().unwrap_or_default();
                self.held_at.1 += 1;
                self.feed(line);
            } else {
                let group = std::mem::take(&mut self.held);
                self.take_group(self.held_at, group);
            }
            return Ok(());
        }
        match self.next_act() {
            Some(Act::Reply { line, bytes }) => {
                let before = &self.want[..self.want_before];
                if !before.starts_with(&self.wrote) {
                    let mut msg = format!(
                        "line {line}: before this server line, the adapter's client has \
                         written other bytes than the transcript's C: lines\n\
                         --- transcript\n{}\n",
                        escape(before)
                    );
                    let _ = write!(msg, "--- adapter\n{}", escape(&self.wrote));
                    return Err(self.broken(msg));
                }
                self.take_group((line, 0), lines(&bytes));
            }
            Some(Act::Wait(secs)) => {
                let later = self.now + Duration::from_secs(secs);
                let fires = self.session.client().deadline().is_some_and(|d| d <= later);
                self.now = later;
                if fires {
                    self.session.handle_timeout(self.now);
                } else {
                    self.pause(secs);
                }
            }
            Some(Act::Eof) => {
                self.push(Turn::Eof);
                self.session.handle_eof(self.now);
            }
            Some(Act::Tls) => {
                return Err(self.broken("the transcript has TLS where the client reads".into()))
            }
            Some(Act::Client(_)) => unreachable!("next_act skips C: lines"),
            None if self.in_added => {
                self.session.handle_input(self.now, BYE);
                self.push(Turn::Say(BYE.to_vec()));
            }
            None => {
                return Err(self.broken(
                    "the transcript ends while the adapter's operation waits for a reply".into(),
                ))
            }
        }
        Ok(())
    }
}
