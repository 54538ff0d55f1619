//! The testkit's servers catch what they must catch.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use smtp_testkit::server::{ScriptedServer, Step, StepServer};
use smtp_testkit::transcript::{unescape, Transcript};

const SCRIPT: &str = "\
S: 220 hi\\r\\n
C: EHLO x\\r\\n
S: 250 ok\\r\\n
C: QUIT\\r\\n
S: 221 bye\\r\\n
";

/// Plays the client side of a cleartext transcript byte for byte, writing `C:` lines
/// (with `tamper` applied) and reading `S:` lines.
fn play(text: &str, tamper: impl Fn(Vec<u8>) -> Vec<u8>) -> Result<(), String> {
    let t = Transcript::parse("test.txt", text);
    let server = ScriptedServer::start(&t);
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for (_, line) in &t.lines {
        if let Some(rest) = line.strip_prefix("C: ") {
            let _ = s.write_all(&tamper(unescape(rest)));
        } else if let Some(rest) = line.strip_prefix("S: ") {
            let want = unescape(rest);
            let mut got = vec![0; want.len()];
            if s.read_exact(&mut got).is_err() {
                break;
            }
            assert_eq!(got, want);
        }
    }
    drop(s);
    server.finish()
}

#[test]
fn a_faithful_client_passes() {
    play(SCRIPT, |b| b).unwrap();
}

#[test]
fn a_wrong_byte_fails_with_both_sides_escaped() {
    let err = play(SCRIPT, |b| {
        if b == b"QUIT\r\n" {
            b"QUIT \r\n".to_vec()
        } else {
            b
        }
    })
    .unwrap_err();
    assert!(err.contains("client bytes differ"), "{err}");
    assert!(err.contains("QUIT\\r\\n"), "{err}");
    assert!(err.contains("QUIT \\r"), "{err}");
}

#[test]
fn missing_bytes_fail() {
    let err = play(SCRIPT, |b| if b == b"QUIT\r\n" { Vec::new() } else { b }).unwrap_err();
    assert!(err.contains("QUIT"), "{err}");
}

#[test]
fn extra_bytes_at_the_end_fail() {
    let err = play(SCRIPT, |b| {
        if b == b"QUIT\r\n" {
            b"QUIT\r\nNOOP\r\n".to_vec()
        } else {
            b
        }
    })
    .unwrap_err();
    assert!(err.contains("NOOP"), "{err}");
}

#[test]
fn the_silent_server_says_nothing() {
    let server = StepServer::silent();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut b = [0u8; 1];
    let e = s.read(&mut b).unwrap_err();
    assert!(matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
}

#[test]
fn the_trickling_server_sends_a_byte_a_second() {
    let server = StepServer::trickle(b"220 slow\r\n");
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let start = Instant::now();
    let mut b = [0u8; 3];
    s.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"220");
    assert!(
        start.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
}

/// A step server that greets, expects `EHLO x` and answers, then holds.
fn ehlo_server() -> StepServer {
    StepServer::start(vec![
        Step::Send(b"220 hi\r\n".to_vec()),
        Step::expect("EHLO x\r\n"),
        Step::Send(b"250 ok\r\n".to_vec()),
        Step::expect_prefix("QUIT"),
        Step::Hold,
    ])
}

/// Connects to `server`, reads the greeting, sends `lines` (reading a reply after the
/// first), then closes; returns what the server says of the conversation.
fn talk(server: StepServer, lines: &[&[u8]]) -> Result<(), String> {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let mut greeting = [0u8; 8];
    s.read_exact(&mut greeting).unwrap();
    for (i, l) in lines.iter().enumerate() {
        s.write_all(l).unwrap();
        if i == 0 {
            // Fails (the server closed) when the server refused the line.
            let mut reply = [0u8; 8];
            let _ = s.read_exact(&mut reply);
        }
    }
    drop(s);
    server.finish()
}

#[test]
fn the_step_server_accepts_the_expected_lines() {
    talk(ehlo_server(), &[b"EHLO x\r\n", b"QUIT\r\n"]).unwrap();
}

#[test]
fn the_step_server_reports_a_line_other_than_the_expected_one() {
    let e = talk(ehlo_server(), &[b"EHLO x\r\n", b"NOOP\r\n"]).unwrap_err();
    assert!(e.contains("NOOP") && e.contains("QUIT"), "{e}");
    // A bare LF is not the CRLF line expected.
    let e = talk(ehlo_server(), &[b"EHLO x\n"]);
    assert!(e.is_err(), "bare LF accepted");
}

#[test]
fn the_step_server_reports_a_client_that_leaves_before_an_expected_line() {
    let e = talk(ehlo_server(), &[b"EHLO x\r\n"]).unwrap_err();
    assert!(e.contains("closed") && e.contains("QUIT"), "{e}");
}

#[test]
#[should_panic(expected = "step server: the client sent")]
fn a_failed_step_server_panics_when_dropped() {
    let server = ehlo_server();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(b"HELO x\r\n").unwrap();
    // The server fails on the line and closes: the read ends.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    std::thread::sleep(Duration::from_millis(100));
    drop(server);
}
