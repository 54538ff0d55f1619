// Shared by the timeout tests of smtp-tokio and smtp-smol, whose APIs are the same: each
// includes this file after `use <adapter crate> as adapter;` and `mod common;` (with
// `block_on`). Included, so no inner attributes or doc comments here.

use std::time::{Duration, Instant};

use adapter::{Builder, Error, Stage, Timeouts, TlsPolicy};
use common::block_on;
use smtp_testkit::server::{Step, StepServer};

/// Connects with every timeout at `secs`; returns the error and how long it took.
fn connect_error(server: &StepServer, secs: u64) -> (Error, Duration) {
    let start = Instant::now();
    let result = block_on(
        Builder::new("127.0.0.1")
            .port(server.addr().port())
            .starttls(TlsPolicy::Disabled)
            .timeouts(Timeouts::all(Duration::from_secs(secs)))
            .connect(),
    );
    (
        result.err().expect("the session cannot be set up"),
        start.elapsed(),
    )
}

fn assert_timeout(e: &Error, want: Stage) {
    match e {
        Error::Timeout { stage } => assert_eq!(*stage, want),
        other => panic!("expected a timeout at {want}, got {other:?}"),
    }
    assert!(e.is_transient());
}

#[test]
fn a_silent_server_times_out_at_the_greeting() {
    let server = StepServer::silent();
    let (e, took) = connect_error(&server, 1);
    assert_timeout(&e, Stage::Greeting);
    // Bounds only, not speed: the deadline fired, and it is the one configured.
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// The deadline covers the whole reply: a byte a second keeps the socket busy but the
/// 28-octet greeting is not complete before the 3 s deadline.
#[test]
fn a_trickling_server_times_out_on_the_whole_reply() {
    let server = StepServer::trickle(b"220 mx.example.org ESMTP\r\n");
    let (e, took) = connect_error(&server, 3);
    assert_timeout(&e, Stage::Greeting);
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_server_that_stops_answering_times_out_at_that_command() {
    let server = StepServer::start(vec![
        Step::Send(b"220 mx.example ESMTP\r\n".to_vec()),
        Step::expect("EHLO localhost\r\n"),
        Step::Hold,
    ]);
    let (e, took) = connect_error(&server, 1);
    assert_timeout(&e, Stage::Ehlo);
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// A refused connection is an I/O error (transient), not a timeout.
#[test]
fn a_closed_port_is_an_io_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let result = block_on(
        Builder::new("127.0.0.1")
            .port(port)
            .starttls(TlsPolicy::Disabled)
            .connect_timeout(Duration::from_secs(2))
            .connect(),
    );
    let e = result.err().expect("nothing listens");
    assert!(matches!(e, Error::Io(_)), "{e:?}");
    assert!(e.is_transient());
}
