//! The open stream of messages driven in memory: messages join while earlier ones are
//! in flight, and reports leave as they complete.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::command::{EhloName, ForwardPath, ReversePath};
use crate::config::{TlsMode, TlsPolicy};
use crate::output::TxnFailure;
use crate::report::MessageOutcome;

use super::tests::TestError;

const NOW: Instant = Instant::ZERO;
const EHLO: &[u8] = b"250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n";

/// The adapter's side: bodies by position in the stream, kept only until read.
#[derive(Default)]
struct Wire {
    server: VecDeque<&'static [u8]>,
    written: Vec<u8>,
    bodies: VecDeque<Vec<u8>>,
    /// The stream position of `bodies[0]`.
    body_base: usize,
    reports: Vec<(usize, Report)>,
}

impl Wire {
    /// Runs until the session waits for the server with nothing left to write (or the
    /// operation is done), or until it would read past the script: then the server
    /// closes if `eof`.
    fn run(&mut self, s: &mut Session<TestError>, eof: bool) -> bool {
        loop {
            while let Some(r) = s.poll_report() {
                self.reports.push(r);
            }
            match s.poll_io() {
                Io::Write { .. } => {
                    self.written.extend_from_slice(s.output());
                    s.handle_written();
                }
                Io::Read { .. } => match self.server.pop_front() {
                    Some(bytes) => s.handle_input(NOW, bytes),
                    None if eof => s.handle_eof(NOW),
                    None => {
                        while let Some(r) = s.poll_report() {
                            self.reports.push(r);
                        }
                        return false;
                    }
                },
                Io::StartTls(_) => panic!("TLS is disabled"),
                Io::ReadBody { index, .. } => {
                    let body = core::mem::take(&mut self.bodies[index - self.body_base]);
                    s.handle_body(NOW, &body, true);
                }
                Io::Close { .. } => self.written.extend_from_slice(s.output()),
                Io::Done => {
                    while let Some(r) = s.poll_report() {
                        self.reports.push(r);
                    }
                    return true;
                }
            }
        }
    }

    fn send(&mut self, s: &mut Session<TestError>, to: &str, body: &[u8]) -> usize {
        let envelope = Envelope::new(
            ReversePath::new("a@example.com").unwrap(),
            [ForwardPath::new(to).unwrap()],
        );
        let index = s.stream_send(NOW, envelope).unwrap();
        assert_eq!(index, self.body_base + self.bodies.len());
        self.bodies.push_back(body.to_vec());
        index
    }

    fn take_written(&mut self) -> String {
        String::from_utf8(core::mem::take(&mut self.written)).unwrap()
    }
}

fn streaming(max_open: usize) -> (Session<TestError>, Wire) {
    let mut c = Config::new(EhloName::new("client.example").unwrap());
    c.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    let mut s = Session::new(c, NOW);
    let mut w = Wire::default();
    w.server.extend([&b"220 mx\r\n"[..], EHLO]);
    assert!(w.run(&mut s, false));
    s.finish_connect().unwrap();
    w.take_written();
    s.stream(NOW, max_open).unwrap();
    (s, w)
}

fn accepted(r: &Report) -> bool {
    matches!(r.outcome, Some(MessageOutcome::Accepted(_)))
}

#[test]
fn a_message_joins_the_wire_before_the_replies_to_the_one_before_it() {
    let (mut s, mut w) = streaming(8);
    w.send(&mut s, "b@example.org", b"one\r\n");
    assert!(!w.run(&mut s, false), "waits for replies");
    assert_eq!(
        w.take_written(),
        "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nBDAT 5 LAST\r\none\r\n"
    );
    // Nothing answered yet: the second message still goes out at once (behind an RSET,
    // since the first one's outcome is open).
    w.send(&mut s, "c@example.org", b"two\r\n");
    assert!(!w.run(&mut s, false));
    assert_eq!(
        w.take_written(),
        "RSET\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.org>\r\nBDAT 5 LAST\r\ntwo\r\n"
    );
    assert_eq!(s.stream_pending(), 2);
    w.server
        .extend([&b"250 ok\r\n250 ok\r\n250 one\r\n250 ok\r\n250 ok\r\n250 ok\r\n"[..]]);
    assert!(!w.run(&mut s, false));
    assert_eq!(
        w.reports.len(),
        1,
        "the first report leaves as it completes"
    );
    assert!(accepted(&w.reports[0].1) && w.reports[0].0 == 0);
    w.server.extend([&b"250 two\r\n"[..]]);
    assert!(!w.run(&mut s, false));
    assert_eq!(w.reports.len(), 2);
    assert!(accepted(&w.reports[1].1) && w.reports[1].0 == 1);
    s.stream_end();
    assert!(w.run(&mut s, false), "ended and nothing owed: done");
    s.finish_stream().unwrap();
    // The session goes on after the stream.
    s.noop(NOW).unwrap();
}

#[test]
fn the_stream_takes_at_most_max_open_messages_until_a_report_leaves() {
    let (mut s, mut w) = streaming(2);
    w.send(&mut s, "b@example.org", b"one\r\n");
    w.send(&mut s, "c@example.org", b"two\r\n");
    assert_eq!(s.stream_room(), 0);
    let third = Envelope::new(
        ReversePath::new("a@example.com").unwrap(),
        [ForwardPath::new("d@example.org").unwrap()],
    );
    assert_eq!(
        s.stream_send(NOW, third),
        Err(TestError::Usage(UsageError::StreamFull))
    );
    w.server.extend([&b"250 ok\r\n250 ok\r\n250 one\r\n"[..]]);
    assert!(!w.run(&mut s, false));
    assert_eq!(w.reports.len(), 1);
    assert_eq!(s.stream_room(), 1);
    assert_eq!(w.send(&mut s, "d@example.org", b"three\r\n"), 2);
}

#[test]
fn a_session_cut_mid_stream_reports_written_messages_unknown_and_queued_ones_closed() {
    let mut c = Config::new(EhloName::new("client.example").unwrap());
    c.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    // A window of one command: the second message waits in the core, unwritten.
    c.window = 1;
    let mut s = Session::new(c, NOW);
    let mut w = Wire::default();
    w.server.extend([&b"220 mx\r\n"[..], EHLO]);
    assert!(w.run(&mut s, false));
    s.finish_connect().unwrap();
    s.stream(NOW, 4).unwrap();
    w.take_written();
    w.send(&mut s, "b@example.org", b"one\r\n");
    w.server.extend([&b"250 ok\r\n"[..], b"250 ok\r\n"]);
    assert!(!w.run(&mut s, false));
    w.send(&mut s, "c@example.org", b"two\r\n");
    assert!(!w.run(&mut s, false));
    let written = w.take_written();
    assert!(written.ends_with("BDAT 5 LAST\r\none\r\n"), "{written}");
    assert!(!written.contains("c@example.org"), "{written}");
    // The server goes away with the first message's last reply owed.
    assert!(w.run(&mut s, true), "the session's end ends the operation");
    assert_eq!(w.reports.len(), 2, "every message gets its report");
    assert_eq!(w.reports[0].1.outcome, Some(MessageOutcome::Unknown));
    assert_eq!(
        w.reports[1].1.outcome,
        Some(MessageOutcome::Failed(TxnFailure::SessionClosed))
    );
    assert_eq!(s.stream_room(), 0);
    assert!(matches!(s.finish_stream(), Err(TestError::Core(_))));
    let envelope = Envelope::new(
        ReversePath::new("a@example.com").unwrap(),
        [ForwardPath::new("d@example.org").unwrap()],
    );
    assert!(matches!(
        s.stream_send(NOW, envelope),
        Err(TestError::Core(_))
    ));
}

#[test]
fn stream_send_without_an_open_stream_is_refused() {
    let (mut s, mut w) = streaming(1);
    s.stream_end();
    assert!(w.run(&mut s, false));
    s.finish_stream().unwrap();
    let envelope = Envelope::new(
        ReversePath::new("a@example.com").unwrap(),
        [ForwardPath::new("d@example.org").unwrap()],
    );
    assert_eq!(
        s.stream_send(NOW, envelope),
        Err(TestError::Usage(UsageError::NoStream))
    );
}

/// A session whose window holds one command (RFC 2920 §3.1): later messages wait in
/// the core, unwritten, while one is on the wire.
fn one_at_a_time(ehlo: &'static [u8], max_open: usize) -> (Session<TestError>, Wire) {
    let mut c = Config::new(EhloName::new("client.example").unwrap());
    c.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    c.window = 1;
    let mut s = Session::new(c, NOW);
    let mut w = Wire::default();
    w.server.extend([&b"220 mx\r\n"[..], ehlo]);
    assert!(w.run(&mut s, false));
    s.finish_connect().unwrap();
    s.stream(NOW, max_open).unwrap();
    w.take_written();
    (s, w)
}

#[test]
fn a_message_withdrawn_before_it_is_written_never_reaches_the_wire_and_the_others_complete() {
    let (mut s, mut w) = one_at_a_time(EHLO, 4);
    w.send(&mut s, "b@example.org", b"one\r\n");
    w.server.extend([&b"250 ok\r\n"[..], b"250 ok\r\n"]);
    assert!(!w.run(&mut s, false));
    w.send(&mut s, "c@example.org", b"two\r\n");
    w.send(&mut s, "d@example.org", b"three\r\n");
    assert!(!w.run(&mut s, false));
    assert_eq!(s.stream_room(), 1);
    assert!(!s.stream_withdraw(0), "its commands are out: it completes");
    assert!(s.stream_withdraw(1), "waiting behind the window");
    assert!(!s.stream_withdraw(1), "once only");
    assert!(!s.stream_withdraw(7), "no such message");
    assert_eq!(
        s.stream_room(),
        2,
        "the withdrawn message gave its room back"
    );
    assert_eq!(s.stream_pending(), 2);
    w.server.extend([
        &b"250 one\r\n"[..],
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"250 three\r\n",
    ]);
    assert!(!w.run(&mut s, false));
    let written = w.take_written();
    assert!(!written.contains("c@example.org"), "{written}");
    assert!(!written.contains("two"), "{written}");
    assert!(written.contains("RCPT TO:<d@example.org>"), "{written}");
    let positions: Vec<_> = w.reports.iter().map(|(i, _)| *i).collect();
    assert_eq!(positions, [0, 2], "no report for the withdrawn message");
    assert!(w.reports.iter().all(|(_, r)| accepted(r)));
    s.stream_end();
    assert!(w.run(&mut s, false));
    s.finish_stream().unwrap();
}

#[test]
fn a_message_whose_mail_waits_for_the_rset_before_it_is_withdrawn_and_the_session_goes_on() {
    // No PIPELINING: after a failed transaction the next one's RSET goes out alone and
    // its MAIL waits for the reply (RFC 2920 §3). The RSET ends the earlier one; the
    // message itself is not on the wire yet.
    let (mut s, mut w) = one_at_a_time(b"250 mx.example.org\r\n", 2);
    w.send(&mut s, "b@example.org", b"one\r\n");
    w.server
        .extend([&b"250 ok\r\n"[..], b"550 no such user\r\n"]);
    assert!(!w.run(&mut s, false));
    w.send(&mut s, "c@example.org", b"two\r\n");
    assert!(!w.run(&mut s, false));
    assert_eq!(
        w.take_written(),
        "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nRSET\r\n"
    );
    assert!(s.stream_withdraw(1));
    s.stream_end();
    assert!(
        w.run(&mut s, false),
        "no report is owed: the stream is over"
    );
    assert_eq!(w.reports.len(), 1);
    assert_eq!(
        w.reports[0].1.outcome,
        Some(MessageOutcome::Failed(TxnFailure::NoRecipients))
    );
    s.finish_stream().unwrap();
    // The session goes on: the RSET is answered, then the next command goes out, and
    // no MAIL for the withdrawn message before it.
    s.noop(NOW).unwrap();
    w.server.extend([&b"250 reset\r\n"[..], b"250 noop\r\n"]);
    assert!(w.run(&mut s, false));
    assert_eq!(w.take_written(), "NOOP\r\n");
    assert_eq!(s.finish_command().unwrap().code().get(), 250);
}

#[test]
fn a_message_cannot_be_withdrawn_once_the_session_ended_and_keeps_its_report() {
    let (mut s, mut w) = one_at_a_time(EHLO, 4);
    w.send(&mut s, "b@example.org", b"one\r\n");
    w.send(&mut s, "c@example.org", b"two\r\n");
    assert!(!w.run(&mut s, false));
    s.handle_eof(NOW);
    assert!(!s.stream_withdraw(1), "the session is over");
    assert!(w.run(&mut s, false));
    assert_eq!(w.reports.len(), 2);
    assert_eq!(
        w.reports[1].1.outcome,
        Some(MessageOutcome::Failed(TxnFailure::SessionClosed))
    );
}
