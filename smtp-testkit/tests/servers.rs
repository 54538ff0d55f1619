//! The testkit's servers catch what they must catch.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use smtp_testkit::server::{ScriptedServer, StepServer};
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
