//! A message's envelope handed to its attempt by move and back with the report: an
//! open stream's session gives it back ([`Session::poll_report_and_envelope`]), and the
//! pool narrows it for a retry ([`Pool::retry_envelope`]). Driven end to end in memory:
//! pool, session and a scripted server.

use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::command::{EhloName, ForwardPath, ReversePath};
use crate::config::{Config, TlsMode, TlsPolicy};
use crate::output::TxnFailure;
use crate::report::{MessageOutcome, RecipientStatus};
use crate::session::tests::TestError;
use crate::session::{Io, Session};

const T0: Instant = Instant::ZERO;

fn envelope(n: usize) -> Envelope {
    let to = (0..n).map(|i| ForwardPath::new(&alloc::format!("r{i}@example.net")).unwrap());
    Envelope::new(ReversePath::new("a@example.org").unwrap(), to)
}

/// A session streaming to a server that offers PIPELINING (no CHUNKING: the end of
/// data waits for the 354).
fn streaming() -> Session<TestError> {
    let mut c = Config::new(EhloName::new("client.example").unwrap());
    c.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    let mut s = Session::new(c, T0);
    let mut server = Vec::from([&b"220 mx\r\n"[..], b"250-mx\r\n250 PIPELINING\r\n"]);
    run(&mut s, &mut server, &mut String::new(), &mut Vec::new());
    s.finish_connect().unwrap();
    s.stream(T0, 8).unwrap();
    s
}

/// Runs the session over `server`'s replies (then the server closes), keeping what
/// was written and each report with its envelope, until it waits with nothing left
/// of the script.
fn run(
    s: &mut Session<TestError>,
    server: &mut Vec<&[u8]>,
    written: &mut String,
    reports: &mut Vec<(Report, Option<Envelope>)>,
) {
    loop {
        let io = s.poll_io();
        while let Some((_, report, envelope)) = s.poll_report_and_envelope() {
            reports.push((report, envelope));
        }
        match io {
            Io::Write { .. } | Io::Close { .. } => {
                written.push_str(core::str::from_utf8(s.output()).unwrap());
                s.handle_written();
            }
            Io::Read { .. } if server.is_empty() => return,
            Io::Read { .. } => s.handle_input(T0, server.remove(0)),
            Io::ReadBody { .. } => s.handle_body(T0, b"hi\r\n", true),
            Io::StartTls(_) => panic!("TLS is disabled"),
            Io::Done => return,
        }
    }
}

/// A pool with one connection open, and a message submitted and handed to it.
fn pool_with_one_message(config: PoolConfig) -> (Pool, MessageId) {
    let mut p = Pool::new(config);
    let m = p.submit(T0).unwrap();
    assert_eq!(p.poll_action(T0), Some(Action::Open(ConnId(0))));
    p.handle_opened(T0, ConnId(0));
    assert_eq!(
        p.poll_action(T0),
        Some(Action::Send {
            conn: ConnId(0),
            msg: m
        })
    );
    (p, m)
}

/// The message's next attempt, once its backoff is over.
fn resent(p: &mut Pool, m: MessageId) -> Instant {
    assert_eq!(p.poll_action(T0), None, "after the backoff");
    let later = p.poll_timeout().unwrap();
    assert_eq!(
        p.poll_action(later),
        Some(Action::Send {
            conn: ConnId(0),
            msg: m
        })
    );
    later
}

#[test]
fn a_message_cut_off_before_its_data_was_accepted_is_retried_with_its_whole_envelope_handed_back() {
    let (mut p, m) = pool_with_one_message(PoolConfig::default());
    let mut s = streaming();
    // The attempt takes the envelope itself: the pool keeps no copy.
    s.stream_try_send(T0, envelope(2)).unwrap();
    let (mut written, mut reports) = (String::new(), Vec::new());
    // MAIL and both RCPTs accepted, then the server is gone before its 354.
    let mut server = Vec::from([&b"250 ok\r\n250 ok\r\n250 ok\r\n"[..]]);
    run(&mut s, &mut server, &mut written, &mut reports);
    assert!(written.ends_with("DATA\r\n"), "{written}");
    s.handle_eof(T0);
    run(&mut s, &mut server, &mut written, &mut reports);
    let [(report, Some(mut env))] = <[_; 1]>::try_from(reports).unwrap() else {
        panic!("no envelope came back");
    };
    let never = Some(MessageOutcome::Failed(TxnFailure::SessionClosed));
    assert_eq!(report.outcome, never);
    assert!(may_resend(&report));
    let kept = p.handle_report_of(T0, ConnId(0), m, report, 7);
    assert!(
        kept.is_some(),
        "sent again whole: the report stands as the latest"
    );
    p.retry_envelope(m, &mut env);
    // The session is over: its connection goes, and another takes the message.
    p.handle_closed(T0, ConnId(0));
    assert_eq!(p.poll_action(T0), None, "after the backoff");
    let later = p.poll_timeout().unwrap();
    assert_eq!(p.poll_action(later), Some(Action::Open(ConnId(1))));
    p.handle_opened(later, ConnId(1));
    assert_eq!(
        p.poll_action(later),
        Some(Action::Send {
            conn: ConnId(1),
            msg: m
        })
    );
    assert_eq!(
        env,
        envelope(2),
        "every recipient, as the first attempt had them"
    );
}

#[test]
fn recipients_refused_for_now_are_retried_alone_in_the_envelope_handed_back() {
    let (mut p, m) = pool_with_one_message(PoolConfig {
        retry_transient_recipients: true,
        ..PoolConfig::default()
    });
    let mut s = streaming();
    s.stream_try_send(T0, envelope(3)).unwrap();
    let (mut written, mut reports) = (String::new(), Vec::new());
    let mut server = Vec::from([
        &b"250 ok\r\n250 ok\r\n450 later\r\n550 never\r\n"[..],
        b"354 go\r\n",
        b"250 queued\r\n",
    ]);
    run(&mut s, &mut server, &mut written, &mut reports);
    let [(report, Some(mut env))] = <[_; 1]>::try_from(reports).unwrap() else {
        panic!("no envelope came back");
    };
    assert!(matches!(report.outcome, Some(MessageOutcome::Accepted(_))));
    assert_eq!(
        p.handle_report_of(T0, ConnId(0), m, report, 7),
        None,
        "merged later"
    );
    p.retry_envelope(m, &mut env);
    let later = resent(&mut p, m);
    let mut only = envelope(3);
    only.recipients.remove(2);
    only.recipients.remove(0);
    assert_eq!(env, only, "only the one refused for now");
    // The second attempt, on the same session, carries it alone.
    s.stream_try_send(later, env).unwrap();
    let (mut written, mut reports) = (String::new(), Vec::new());
    let mut server = Vec::from([
        &b"250 ok\r\n250 ok\r\n"[..],
        b"354 go\r\n",
        b"250 queued\r\n",
    ]);
    run(&mut s, &mut server, &mut written, &mut reports);
    assert!(
        written.contains("RCPT TO:<r1@example.net>\r\n"),
        "{written}"
    );
    assert_eq!(written.matches("RCPT TO").count(), 1, "{written}");
    // Every recipient of it accepted: nothing to send again, no envelope back.
    let [(report, None)] = <[_; 1]>::try_from(reports).unwrap() else {
        panic!("an envelope came back for a message all its recipients took");
    };
    assert_eq!(p.handle_report_of(later, ConnId(0), m, report, 7), None);
    assert_eq!(
        p.poll_action(later),
        Some(Action::Done {
            msg: m,
            end: End::Report,
            attempts: 2
        })
    );
    let merged = p.take_report(m).unwrap();
    let accepted = |r: &RecipientStatus| matches!(r, RecipientStatus::Accepted(_));
    assert!(accepted(&merged.recipients[0]) && accepted(&merged.recipients[1]));
    assert!(!accepted(&merged.recipients[2]) && !merged.recipients[2].is_transient());
}

#[test]
fn a_message_the_session_refuses_gets_its_envelope_back_with_the_error() {
    let mut s = streaming();
    s.stream_end();
    let (_, env) = s.stream_try_send(T0, envelope(2)).unwrap_err();
    assert_eq!(env, envelope(2));
}
