//! The session driven in memory: the adapter's part played by [`Wire`], the server's by
//! scripted flights (one per read).

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::*;
use crate::command::{EhloName, ForwardPath, ReversePath, VrfyArg};
use crate::config::{TlsMode, TlsPolicy};
use crate::error::Stage;
use crate::output::TxnFailure;
use crate::report::MessageOutcome;

#[derive(Debug, PartialEq)]
pub(crate) enum TestError {
    Core(Error),
    Usage(UsageError),
    Cancelled,
    Io(&'static str),
}

impl SessionError for TestError {
    fn from_core(error: Error) -> Self {
        TestError::Core(error)
    }
    fn from_usage(error: UsageError) -> Self {
        TestError::Usage(error)
    }
    fn cancelled() -> Self {
        TestError::Cancelled
    }
    fn duplicate(&self) -> Self {
        match self {
            TestError::Core(e) => TestError::Core(e.clone()),
            TestError::Usage(e) => TestError::Usage(e.clone()),
            TestError::Cancelled => TestError::Cancelled,
            TestError::Io(e) => TestError::Io(e),
        }
    }
}

/// The adapter's side: what was written, what the server says next, the messages.
#[derive(Default)]
struct Wire {
    server: VecDeque<&'static [u8]>,
    written: Vec<u8>,
    bodies: Vec<Vec<u8>>,
    /// Reading message content fails.
    body_fails: bool,
    closed: bool,
    /// How many times each instruction was handed out.
    writes: usize,
    reads: usize,
}

const NOW: Instant = Instant::ZERO;

impl Wire {
    fn new(server: &[&'static [u8]]) -> Self {
        Wire {
            server: server.iter().copied().collect(),
            ..Wire::default()
        }
    }

    /// Runs the operation under way until `Done`, or stops before the first read if
    /// `stop_at_read` (an operation whose future is dropped there).
    fn run(&mut self, s: &mut Session<TestError>, stop_at_read: bool) {
        loop {
            match s.poll_io() {
                Io::Write { .. } => {
                    self.writes += 1;
                    self.written.extend_from_slice(s.output());
                    s.handle_written();
                }
                Io::Read { .. } if stop_at_read => return,
                Io::Read { .. } => {
                    self.reads += 1;
                    match self.server.pop_front() {
                        Some(bytes) => s.handle_input(NOW, bytes),
                        None => s.handle_eof(NOW),
                    }
                }
                Io::StartTls(_) => panic!("TLS is disabled"),
                Io::ReadBody { index, max_chunk } => {
                    if self.body_fails {
                        s.handle_failure(NOW, TestError::Io("disk on fire"));
                        continue;
                    }
                    let body = &mut self.bodies[index];
                    let chunk: Vec<u8> = body.drain(..max_chunk.min(body.len())).collect();
                    s.handle_body(NOW, &chunk, body.is_empty());
                }
                Io::Close { .. } => {
                    self.written.extend_from_slice(s.output());
                    self.closed = true;
                }
                Io::Done => return,
            }
        }
    }

    /// Runs to the next read and feeds it the next flight: a test acts between reads.
    fn read_one(&mut self, s: &mut Session<TestError>) {
        self.run(s, true);
        self.reads += 1;
        s.handle_input(NOW, self.server.pop_front().expect("a flight"));
    }

    /// What was written since the last call.
    fn take_written(&mut self) -> String {
        String::from_utf8(core::mem::take(&mut self.written)).unwrap()
    }
}

fn config() -> Config {
    let mut c = Config::new(EhloName::new("client.example").unwrap());
    c.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    c
}

/// Alice's password, on cleartext (a test server on loopback).
fn auth_config() -> Config {
    let mut c = config();
    c.credentials = Some(crate::Credentials::password("alice", "secret").unwrap());
    c.allow_plaintext_auth = true;
    c
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        ReversePath::new("a@example.com").unwrap(),
        to.iter().map(|t| ForwardPath::new(t).unwrap()),
    )
}

/// A session set up over `ehlo`, then the rest of the script.
fn connected(ehlo: &'static [u8], rest: &[&'static [u8]]) -> (Session<TestError>, Wire) {
    let mut s = Session::new(config(), NOW);
    let mut w = Wire::new(&[b"220 mx.example.org\r\n", ehlo]);
    w.run(&mut s, false);
    s.finish_connect().unwrap();
    assert_eq!(w.take_written(), "EHLO client.example\r\n");
    w.server.extend(rest);
    (s, w)
}

#[test]
fn a_batch_of_three_folds_interleaved_events_into_its_reports() {
    let (mut s, mut w) = connected(
        b"250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
        &[
            b"250 ok\r\n250 ok\r\n250 queued 1\r\n",
            // The second message's events come with the third's first ones.
            b"250 ok\r\n250 ok\r\n550 no such user\r\n554 no valid recipients\r\n250 ok\r\n",
            b"250 ok\r\n250 ok\r\n250 queued 3\r\n",
        ],
    );
    w.bodies = vec![
        b"one\r\n".to_vec(),
        b"two\r\n".to_vec(),
        b"three\r\n".to_vec(),
    ];
    let envelopes = vec![
        envelope(&["b@example.org"]),
        envelope(&["c@example.org"]),
        envelope(&["d@example.org"]),
    ];
    s.send(NOW, envelopes).unwrap();
    w.run(&mut s, false);
    let reports = s.finish_send().unwrap();
    assert_eq!(w.reads, 5, "one read per flight");
    let written = w.take_written();
    assert!(
        written.starts_with("MAIL FROM:<a@example.com>\r\n"),
        "{written}"
    );
    assert!(written.contains("BDAT 7 LAST\r\nthree\r\n"), "{written}");
    let outcomes: Vec<_> = reports.iter().map(|r| r.outcome.clone()).collect();
    assert!(matches!(outcomes[0], Some(MessageOutcome::Accepted(_))));
    assert_eq!(
        outcomes[1],
        Some(MessageOutcome::Failed(TxnFailure::NoRecipients))
    );
    assert!(
        matches!(&outcomes[2], Some(MessageOutcome::Accepted(r)) if r.first_line() == b"queued 3")
    );
    assert_eq!(
        reports.iter().map(|r| r.txn.get()).collect::<Vec<_>>(),
        [0, 1, 2]
    );
}

/// RFC 2033 §4.3: a chunk refused with BDAT LAST on the wire; the session is cut before
/// the LAST's single reply. The refusal is known, so every accepted recipient gets it as
/// its outcome, and the caller gets the report rather than the error.
#[test]
fn lmtp_a_refused_chunk_cut_before_the_last_reply_fails_every_accepted_recipient() {
    let mut c = config();
    c.lmtp = true;
    c.body_chunk = 8;
    let mut s = Session::new(c, NOW);
    let mut w = Wire::new(&[
        b"220 lmtp.example.org\r\n",
        b"250-lmtp.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
    ]);
    w.run(&mut s, false);
    s.finish_connect().unwrap();
    w.server.extend([
        &b"250 ok\r\n250 ok\r\n250 ok\r\n"[..],
        b"552 5.3.4 too big\r\n",
    ]);
    w.bodies = vec![b"abcdefghijklmnop".to_vec()];
    s.send(NOW, vec![envelope(&["r0@example.org", "r1@example.org"])])
        .unwrap();
    w.run(&mut s, false);
    let written = w.take_written();
    assert!(
        written.ends_with("BDAT 8\r\nabcdefghBDAT 8 LAST\r\nijklmnop"),
        "{written}"
    );
    let report = s.finish_send().unwrap().remove(0);
    assert_eq!(report.deliveries.len(), 2);
    for delivery in &report.deliveries {
        assert!(
            matches!(
                delivery,
                Some(MessageOutcome::Failed(TxnFailure::Rejected {
                    stage: Stage::DataBlock,
                    reply,
                })) if reply.code().get() == 552
            ),
            "{:?}",
            report.deliveries
        );
    }
}

#[test]
fn a_failed_transaction_ends_the_operation_and_the_session_goes_on() {
    let (mut s, mut w) = connected(
        b"250-mx.example.org\r\n250 PIPELINING\r\n",
        &[
            b"250 ok\r\n550 no\r\n554 no valid recipients\r\n",
            b"250 still here\r\n",
        ],
    );
    s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
    w.bodies = vec![b"x\r\n".to_vec()];
    w.run(&mut s, false);
    let report = s.finish_send().unwrap().remove(0);
    assert_eq!(
        report.outcome,
        Some(MessageOutcome::Failed(TxnFailure::NoRecipients))
    );
    assert!(report.reached_server());
    assert_eq!(w.reads, 3, "no read after the outcome");
    w.take_written();
    s.noop(NOW).unwrap();
    w.run(&mut s, false);
    assert_eq!(s.finish_command().unwrap().first_line(), b"still here");
    assert_eq!(w.take_written(), "NOOP\r\n");
    // A later batch (ids 1 and 2) finds its reports too; RSET goes before its MAIL.
    w.server.extend([
        &b"250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n"[..],
        b"250 queued 1\r\n250 ok\r\n550 no\r\n554 no valid recipients\r\n",
    ]);
    w.bodies = vec![b"y\r\n".to_vec(), b"z\r\n".to_vec()];
    let envelopes = vec![envelope(&["c@example.org"]), envelope(&["d@example.org"])];
    s.send(NOW, envelopes).unwrap();
    w.run(&mut s, false);
    let reports = s.finish_send().unwrap();
    let written = w.take_written();
    assert!(written.starts_with("RSET\r\nMAIL"), "{written}");
    assert_eq!(reports[0].txn.get(), 1, "{written}");
    assert!(reports[0].all_delivered(), "{reports:?} {written}");
    assert_eq!(
        reports[1].outcome,
        Some(MessageOutcome::Failed(TxnFailure::NoRecipients)),
        "{written}"
    );
}

#[test]
fn content_is_written_every_64_kib() {
    let (mut s, mut w) = connected(
        b"250 mx.example.org\r\n",
        &[
            b"250 ok\r\n",
            b"250 ok\r\n",
            b"354 go\r\n",
            b"250 queued\r\n",
        ],
    );
    s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
    w.bodies = vec![vec![b'x'; 5 * FLUSH_AT / 2]];
    let before = w.writes;
    w.run(&mut s, false);
    assert!(s.finish_send().unwrap()[0].all_delivered());
    // MAIL, RCPT, DATA; then the content in at least three writes.
    assert!(w.writes - before >= 3 + 3, "{} writes", w.writes - before);
}

#[test]
fn a_dropped_operation_poisons_the_session() {
    let (mut s, mut w) = connected(b"250 mx.example.org\r\n", &[]);
    s.noop(NOW).unwrap();
    w.run(&mut s, true);
    // No finish_command: the operation's future was dropped.
    assert_eq!(s.noop(NOW), Err(TestError::Cancelled));
    assert_eq!(s.quit(NOW), Err(TestError::Cancelled));
    assert_eq!(w.take_written(), "NOOP\r\n");
}

#[test]
fn a_session_dying_after_the_data_is_ok_with_an_unknown_outcome() {
    let (mut s, mut w) = connected(
        b"250 mx.example.org\r\n",
        &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"],
    );
    s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
    w.bodies = vec![b"x\r\n".to_vec()];
    w.run(&mut s, false); // EOF while the final reply is owed
    let report = s.finish_send().unwrap().remove(0);
    assert_eq!(report.outcome, Some(MessageOutcome::Unknown));
    assert!(w.closed);
    // The error comes with the next call, and every one after.
    let ended = TestError::Core(Error::ConnectionClosed {
        stage: Some(crate::Stage::DataEnd),
    });
    assert_eq!(s.noop(NOW), Err(ended.duplicate()));
    assert_eq!(s.quit(NOW), Err(ended));
}

#[test]
fn a_session_dying_before_the_data_is_the_error_and_the_cause_is_kept() {
    let (mut s, mut w) = connected(
        b"250 mx.example.org\r\n",
        &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"],
    );
    s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
    w.bodies = vec![b"x\r\n".to_vec()];
    w.body_fails = true;
    w.run(&mut s, false);
    assert_eq!(s.finish_send(), Err(TestError::Io("disk on fire")));
    // DATA cannot be aborted: no end marker went out.
    assert!(!w.take_written().contains(".\r\n"));
    assert_eq!(s.noop(NOW), Err(TestError::Io("disk on fire")));
}

#[test]
fn misuse_is_refused_before_anything_is_queued_and_quit_closes() {
    let (mut s, mut w) = connected(b"250 mx.example.org\r\n", &[b"221 bye\r\n"]);
    let refused = s.send(NOW, vec![envelope(&["b@example.org"]), envelope(&[])]);
    assert_eq!(refused, Err(TestError::Usage(UsageError::NoRecipients)));
    // An empty batch is done at once.
    s.send(NOW, Vec::new()).unwrap();
    w.run(&mut s, false);
    assert_eq!(s.finish_send(), Ok(Vec::new()));
    s.quit(NOW).unwrap();
    w.run(&mut s, false);
    assert_eq!(s.finish_quit(), Ok(()));
    assert_eq!(w.take_written(), "QUIT\r\n");
    assert!(w.closed);
}

#[test]
fn a_utf8_vrfy_is_refused_without_smtputf8_and_the_session_goes_on() {
    let (mut s, mut w) = connected(b"250 mx.example.org\r\n", &[b"252 2.5.2 maybe\r\n"]);
    let reads = w.reads;
    s.vrfy(NOW, VrfyArg::new("José").unwrap()).unwrap();
    w.run(&mut s, false);
    assert_eq!(
        s.finish_command(),
        Err(TestError::Usage(UsageError::Refused(
            crate::TxnError::NeedsSmtpUtf8
        )))
    );
    assert_eq!((w.take_written(), w.reads), (String::new(), reads));
    s.vrfy(NOW, VrfyArg::new("postmaster").unwrap()).unwrap();
    w.run(&mut s, false);
    assert_eq!(s.finish_command().unwrap().code().get(), 252);
    assert_eq!(w.take_written(), "VRFY postmaster\r\n");
}

#[test]
fn a_utf8_vrfy_carries_the_smtputf8_parameter_when_offered() {
    let (mut s, mut w) = connected(
        b"250-mx.example.org\r\n250 SMTPUTF8\r\n",
        &[b"250 Jos\xc3\xa9 <jose@example.org>\r\n"],
    );
    s.vrfy(NOW, VrfyArg::new("José").unwrap()).unwrap();
    w.run(&mut s, false);
    assert_eq!(s.finish_command().unwrap().code().get(), 250);
    assert_eq!(w.take_written(), "VRFY José SMTPUTF8\r\n");
}

#[test]
fn an_invalid_config_fails_the_first_operation_before_anything_is_written() {
    for tls in [TlsMode::Implicit, TlsMode::StartTls(TlsPolicy::Disabled)] {
        let mut c = config();
        c.tls = tls;
        c.window = 0;
        let mut s: Session<TestError> = Session::new(c, NOW);
        assert!(matches!(s.poll_io(), Io::Close { .. }), "{tls:?}");
        assert!(s.output().is_empty());
        assert!(matches!(s.poll_io(), Io::Done));
        let invalid = TestError::Usage(UsageError::InvalidConfig(crate::ConfigError::ZeroWindow));
        assert_eq!(s.finish_connect(), Err(invalid.duplicate()));
        assert_eq!(s.noop(NOW), Err(invalid));
    }
}

#[test]
fn a_timeout_ends_the_session_with_its_stage() {
    let mut s: Session<TestError> = Session::new(config(), NOW);
    assert!(
        matches!(s.poll_io(), Io::Read { deadline: Some(d) } if d == NOW + Duration::from_secs(300))
    );
    s.handle_timeout(NOW + Duration::from_secs(301));
    assert!(matches!(s.poll_io(), Io::Close { .. }));
    assert!(matches!(s.poll_io(), Io::Done));
    assert_eq!(
        s.finish_connect().map_err(|e| e.duplicate()),
        Err(TestError::Core(Error::Timeout {
            stage: crate::Stage::Greeting
        }))
    );
}

#[test]
fn the_log_sees_both_sides_and_never_the_auth_payload() {
    use core::sync::atomic::{AtomicUsize, Ordering};
    static LINES: AtomicUsize = AtomicUsize::new(0);
    let mut s: Session<TestError> = Session::new(auth_config(), NOW);
    s.set_log(Log {
        line: |l| {
            let l = l.to_string();
            // PLAIN's initial response, \0alice\0secret in base64.
            assert!(!l.contains("AGFsaWNl"), "{l}");
            LINES.fetch_add(1, Ordering::Relaxed);
        },
        lines: || true,
        content: || true,
        content_lines: || true,
    });
    let mut w = Wire::new(&[
        b"220 mx\r\n",
        b"250-mx\r\n250 AUTH PLAIN\r\n",
        b"235 ok\r\n",
    ]);
    w.run(&mut s, false);
    s.finish_connect().unwrap();
    assert!(w.take_written().contains("AUTH PLAIN AGFsaWNl"));
    // 220, EHLO, two EHLO reply lines, AUTH, 235.
    assert_eq!(LINES.load(Ordering::Relaxed), 6);
}

/// A log that does not take message content gets no summary of it: counting a chunk's
/// lines is a pass over every message, for nobody. Commands and replies are logged
/// the same either way.
#[test]
fn content_is_summarised_only_for_a_log_that_takes_it() {
    use core::sync::atomic::{AtomicUsize, Ordering};
    static SUMMARIES: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
    static OTHERS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
    fn count(i: usize, line: Line<'_>) {
        let counter = match line {
            Line::ContentSummary { .. } => &SUMMARIES[i],
            _ => &OTHERS[i],
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    let logs = [
        Log {
            line: |l| count(0, l),
            lines: || true,
            content: || true,
            content_lines: || false,
        },
        Log {
            line: |l| count(1, l),
            lines: || true,
            content: || false,
            content_lines: || false,
        },
    ];
    for log in logs {
        let (mut s, mut w) = connected(
            b"250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
            &[b"250 ok\r\n250 ok\r\n250 queued\r\n"],
        );
        s.set_log(log);
        w.bodies = vec![b"Hi\r\n".to_vec()];
        s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
        w.run(&mut s, false);
        assert!(s.finish_send().unwrap()[0].all_delivered());
    }
    assert_eq!(SUMMARIES[0].load(Ordering::Relaxed), 1);
    assert_eq!(SUMMARIES[1].load(Ordering::Relaxed), 0);
    let others = OTHERS.each_ref().map(|o| o.load(Ordering::Relaxed));
    assert!(others[0] > 0 && others[0] == others[1], "{others:?}");
}

/// A log that takes no lines now costs nothing: its `line` is never called (nor are
/// `content` and `content_lines` asked), and the transcript copies no byte, through
/// AUTH, a server line split across reads, BDAT content and the end of the session.
#[test]
fn a_log_that_takes_no_lines_is_never_called_and_the_transcript_copies_nothing() {
    use core::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    fn called() -> bool {
        CALLS.fetch_add(1, Ordering::Relaxed);
        true
    }
    let mut s: Session<TestError> = Session::new(auth_config(), NOW);
    s.set_log(Log {
        line: |_| {
            called();
        },
        lines: || false,
        content: called,
        content_lines: called,
    });
    let mut w = Wire::new(&[
        b"220 mx\r\n",
        b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH LOGIN\r\n",
        b"334 VXNlcm5hbWU6\r\n",
        b"334 UGFzc3dvcmQ6\r\n",
        b"23",
        b"5 ok\r\n",
    ]);
    w.run(&mut s, false);
    s.finish_connect().unwrap();
    w.server
        .extend([&b"250 ok\r\n250 ok\r\n250 que"[..], b"ued\r\n"]);
    w.bodies = vec![b"Hi\r\n".to_vec()];
    s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
    w.run(&mut s, false);
    assert!(s.finish_send().unwrap()[0].all_delivered());
    s.quit(NOW).unwrap();
    w.server.push_back(b"221 bye\r\n");
    w.run(&mut s, false);
    s.finish_quit().unwrap();
    let written = w.take_written();
    assert!(written.contains("AUTH LOGIN\r\n") && written.contains("BDAT 4 LAST\r\nHi\r\n"));
    assert_eq!(CALLS.load(Ordering::Relaxed), 0);
    assert_eq!(s.transcript.copied(), 0);
}

/// The lines of a log switched on mid-session, as one switched on from the start would
/// have logged them: not the end of the server line it came in on, and content after
/// DATA (whose line it missed) as content, though it looks like a BDAT command.
#[test]
fn a_log_switched_on_mid_session_logs_what_follows_exactly() {
    extern crate std;
    use core::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    static ON: AtomicBool = AtomicBool::new(false);
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let (mut s, mut w) = connected(
        b"250-mx.example.org\r\n250 PIPELINING\r\n",
        &[
            b"250 ok\r\n250 o",
            b"k\r\n354 go\r\n",
            b"250 queued\r\n",
            b"250 ok\r\n",
        ],
    );
    s.set_log(Log {
        line: |l| LOG.lock().unwrap().push(l.to_string()),
        lines: || ON.load(Ordering::Relaxed),
        content: || true,
        content_lines: || false,
    });
    w.bodies = vec![b"BDAT 1\r\n".to_vec()];
    s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
    w.read_one(&mut s);
    assert_eq!(
        w.take_written(),
        "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
    );
    ON.store(true, Ordering::Relaxed);
    w.run(&mut s, false);
    assert!(s.finish_send().unwrap()[0].all_delivered());
    s.noop(NOW).unwrap();
    w.run(&mut s, false);
    assert_eq!(s.finish_command().unwrap().code().get(), 250);
    assert_eq!(
        *LOG.lock().unwrap(),
        [
            "S: 354 go",
            "C: <message data: 2 lines, 11 octets>",
            "S: 250 queued",
            "C: NOOP",
            "S: 250 ok",
        ]
    );
}

/// RFC 4954 §4: a log switched on between the AUTH command and its 235 never saw the
/// AUTH line, yet the client's responses are redacted (the client says AUTH is under
/// way), and commands after 235 are logged again, BDAT commands too (RFC 3030 §2).
#[test]
fn a_log_switched_on_mid_auth_never_logs_a_response() {
    extern crate std;
    use core::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    static ON: AtomicBool = AtomicBool::new(false);
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut s: Session<TestError> = Session::new(auth_config(), NOW);
    s.set_log(Log {
        line: |l| LOG.lock().unwrap().push(l.to_string()),
        lines: || ON.load(Ordering::Relaxed),
        content: || true,
        content_lines: || true,
    });
    let mut w = Wire::new(&[
        b"220 mx\r\n",
        b"250-mx\r\n250-CHUNKING\r\n250 AUTH LOGIN\r\n",
        b"334 VXNlcm5hbWU6\r\n",
        b"334 UGFzc3dvcmQ6\r\n",
        b"235 ok\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"250 queued\r\n",
    ]);
    w.read_one(&mut s);
    w.read_one(&mut s);
    w.run(&mut s, true);
    assert_eq!(w.take_written(), "EHLO client.example\r\nAUTH LOGIN\r\n");
    ON.store(true, Ordering::Relaxed);
    w.run(&mut s, false);
    s.finish_connect().unwrap();
    assert_eq!(s.client().auth_mechanism().unwrap().as_str(), "LOGIN");
    // LOGIN's responses: the user name and the password, in base64.
    assert_eq!(w.take_written(), "YWxpY2U=\r\nc2VjcmV0\r\n");
    s.noop(NOW).unwrap();
    w.run(&mut s, false);
    assert_eq!(s.finish_command().unwrap().code().get(), 250);
    w.bodies = vec![b"Hi\r\n".to_vec()];
    s.send(NOW, vec![envelope(&["b@example.org"])]).unwrap();
    w.run(&mut s, false);
    assert!(s.finish_send().unwrap()[0].all_delivered());
    assert_eq!(
        *LOG.lock().unwrap(),
        [
            "S: 334 VXNlcm5hbWU6",
            "C: <redacted>",
            "S: 334 UGFzc3dvcmQ6",
            "C: <redacted>",
            "S: 235 ok",
            "C: NOOP",
            "S: 250 ok",
            "C: MAIL FROM:<a@example.com>",
            "S: 250 ok",
            "C: RCPT TO:<b@example.org>",
            "S: 250 ok",
            "C: BDAT 4 LAST",
            "C: Hi",
            "C: <message data: 1 lines, 4 octets>",
            "S: 250 queued",
        ]
    );
}

#[test]
fn implicit_tls_is_the_first_instruction_and_its_timeout_and_failure_end_the_session() {
    let mut implicit = config();
    implicit.tls = TlsMode::Implicit;
    implicit.timeouts.tls_handshake = Duration::from_secs(10);
    let handshake = |s: &mut Session<TestError>| match s.poll_io() {
        Io::StartTls(up) => up,
        other => panic!("{other:?}"),
    };
    // Done: the greeting is read next, over TLS.
    let mut s = Session::new(implicit.clone(), NOW);
    let up = handshake(&mut s);
    assert_eq!(up.deadline(), NOW + Duration::from_secs(10));
    s.handle_tls_established(NOW, up);
    let mut w = Wire::new(&[b"220 mx\r\n", b"250 mx\r\n"]);
    w.run(&mut s, false);
    assert_eq!(s.finish_connect(), Ok(()));
    assert!(s.client().is_encrypted());
    // Timed out.
    let mut s = Session::new(implicit.clone(), NOW);
    let _ = handshake(&mut s);
    s.handle_timeout(NOW + Duration::from_secs(10));
    assert!(matches!(s.poll_io(), Io::Close { .. }));
    let timeout = Error::Timeout {
        stage: crate::Stage::TlsHandshake,
    };
    assert_eq!(s.finish_connect(), Err(TestError::Core(timeout)));
    // Failed.
    let mut s = Session::new(implicit, NOW);
    let _ = handshake(&mut s);
    s.handle_failure(NOW, TestError::Io("bad certificate"));
    assert!(matches!(s.poll_io(), Io::Close { .. }));
    assert_eq!(s.finish_connect(), Err(TestError::Io("bad certificate")));
}
