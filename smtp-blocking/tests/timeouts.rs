//! Deadlines over real sockets: a silent server, servers that trickle a byte a second
//! (a per-read timeout would never fire; the core's deadline covers the whole reply),
//! a TLS handshake that never completes, and a server that stops reading.
//!
//! Each test asserts the error kind and stage, and that it came after the deadline and
//! before the deadline plus a generous margin (a bound, not a speed test).

use std::time::{Duration, Instant};

use smtp_blocking::{
    Builder, Envelope, Error, ForwardPath, ReversePath, Stage, Timeouts, TlsPolicy,
};
use smtp_testkit::server::{Step, StepServer};
use smtp_testkit::tls::TestCert;

const MARGIN: Duration = Duration::from_millis(1500);

fn builder(server: &StepServer, deadline: Duration) -> Builder {
    Builder::new("127.0.0.1")
        .port(server.addr().port())
        .starttls(TlsPolicy::Disabled)
        .tls_config(TestCert::get().client_config())
        .timeouts(Timeouts::all(deadline))
}

fn assert_timeout<T: std::fmt::Debug>(
    r: Result<T, Error>,
    stage: Stage,
    start: Instant,
    deadline: Duration,
) {
    let took = start.elapsed();
    match r {
        Err(Error::Timeout { stage: s }) => assert_eq!(s, stage),
        other => panic!("expected a timeout at {stage}, got {other:?}"),
    }
    assert!(took >= deadline, "timed out early: {took:?} < {deadline:?}");
    assert!(
        took < deadline + MARGIN,
        "took {took:?} for a {deadline:?} deadline"
    );
}

fn line(s: &str) -> Step {
    Step::Send(s.as_bytes().to_vec())
}

#[test]
fn a_silent_server_times_out_at_the_greeting() {
    let server = StepServer::silent();
    let d = Duration::from_secs(1);
    let start = Instant::now();
    assert_timeout(builder(&server, d).connect(), Stage::Greeting, start, d);
}

#[test]
fn a_greeting_trickled_a_byte_a_second_times_out() {
    let server = StepServer::trickle(b"220 slow.example ESMTP at a byte a second\r\n");
    let d = Duration::from_secs(2);
    let start = Instant::now();
    assert_timeout(builder(&server, d).connect(), Stage::Greeting, start, d);
}

#[test]
fn a_mail_reply_trickled_a_byte_a_second_times_out_at_mail() {
    let server = StepServer::start(vec![
        line("220 mx.example ESMTP\r\n"),
        Step::expect("EHLO localhost\r\n"),
        line("250 mx.example\r\n"),
        Step::expect("MAIL FROM:<a@example.org>\r\n"),
        Step::Trickle(b"250 2.1.0 Ok, slowly\r\n".to_vec(), Duration::from_secs(1)),
        Step::Hold,
    ]);
    let d = Duration::from_secs(2);
    let mut conn = builder(&server, d).connect().unwrap();
    let env = Envelope::new(
        ReversePath::new("a@example.org").unwrap(),
        [ForwardPath::new("b@example.net").unwrap()],
    );
    let start = Instant::now();
    assert_timeout(conn.send_bytes(env, b"x\r\n"), Stage::Mail, start, d);
    // The session is dead; quit says why.
    assert!(matches!(
        conn.quit(),
        Err(Error::Timeout { stage: Stage::Mail })
    ));
}

#[test]
fn an_implicit_tls_handshake_that_never_completes_times_out() {
    let server = StepServer::silent();
    let d = Duration::from_secs(1);
    let start = Instant::now();
    let r = builder(&server, d).implicit_tls().connect();
    assert_timeout(r, Stage::TlsHandshake, start, d);
}

#[test]
fn a_starttls_handshake_that_never_completes_times_out() {
    let server = StepServer::start(vec![
        line("220 mx.example ESMTP\r\n"),
        Step::expect("EHLO localhost\r\n"),
        line("250-mx.example\r\n250 STARTTLS\r\n"),
        Step::expect("STARTTLS\r\n"),
        line("220 Go ahead\r\n"),
        Step::Hold,
    ]);
    let d = Duration::from_secs(1);
    let start = Instant::now();
    let r = builder(&server, d).starttls(TlsPolicy::Required).connect();
    // The deadline starts at the 220, a little after `start`.
    assert_timeout(r, Stage::TlsHandshake, start, d);
}

#[test]
fn a_server_that_stops_reading_times_out_the_content_write() {
    let server = StepServer::start(vec![
        line("220 mx.example ESMTP\r\n"),
        Step::expect("EHLO localhost\r\n"),
        line("250 mx.example\r\n"),
        Step::expect("MAIL FROM:<a@example.org>\r\n"),
        line("250 2.1.0 Ok\r\n"),
        Step::expect("RCPT TO:<b@example.net>\r\n"),
        line("250 2.1.5 Ok\r\n"),
        Step::expect("DATA\r\n"),
        line("354 Go ahead\r\n"),
        Step::Stall(Duration::from_secs(20)),
    ]);
    let d = Duration::from_secs(1);
    let mut conn = builder(&server, d).connect().unwrap();
    let env = Envelope::new(
        ReversePath::new("a@example.org").unwrap(),
        [ForwardPath::new("b@example.net").unwrap()],
    );
    // Far more than the loopback socket buffers hold.
    let body =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n".repeat(1 << 19);
    let start = Instant::now();
    let r = conn.send_bytes(env, body.as_bytes());
    // The write deadline runs from the last progress of the content, so the bound is
    // from the start of the stall at most; allow for the buffers filling first.
    match r {
        Err(Error::Timeout {
            stage: Stage::DataBlock,
        }) => {}
        other => panic!("expected a data-block timeout, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}
