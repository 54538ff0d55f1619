//! Calls a driver may make at the wrong time get a typed refusal or change nothing:
//! `send` after `quit`, `send_body` for a transaction that is not asking, `withdraw` of
//! a transaction already under way, an empty read during a TLS handshake, and a
//! handshake reported after the session already ended.

use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::{
    Client, Config, Envelope, Error, Event, Instant, Output, Recipient, Stage, TlsMode, TlsPolicy,
    UsageError,
};

fn client(tls: TlsMode) -> Client {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = tls;
    Client::new(config, Instant::ZERO)
}

fn envelope() -> Envelope {
    let to = Recipient::new(ForwardPath::new("b@example.org").unwrap());
    Envelope::new(ReversePath::new("a@example.com").unwrap(), [to])
}

/// Polls until the client waits, asks for content or TLS, or closes.
fn step(client: &mut Client, out: &mut Vec<u8>) -> Output {
    loop {
        match client.poll_output(out) {
            Output::Event(_) => {}
            other => return other,
        }
    }
}

/// A client past EHLO (no extensions), idle.
fn ready() -> Client {
    let mut c = client(TlsMode::StartTls(TlsPolicy::Disabled));
    let mut out = Vec::new();
    c.handle_input(Instant::ZERO, b"220 mx.example.org\r\n");
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    c.handle_input(Instant::ZERO, b"250 mx.example.org\r\n");
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    assert!(c.is_idle());
    c
}

#[test]
fn requests_after_quit_are_refused_while_the_session_ends() {
    let mut c = ready();
    c.quit(Instant::ZERO).unwrap();
    assert!(!c.is_closed(), "QUIT is not even written yet");
    assert_eq!(c.send(Instant::ZERO, envelope()), Err(UsageError::Closed));
    assert_eq!(c.noop(Instant::ZERO), Err(UsageError::Closed));
    assert_eq!(c.rset(Instant::ZERO), Err(UsageError::Closed));
}

#[test]
fn content_only_for_the_transaction_that_asks_for_it() {
    let now = Instant::ZERO;
    let mut c = ready();
    let mut out = Vec::new();
    let first = c.send(now, envelope()).unwrap();
    let second = c.send(now, envelope()).unwrap();
    // Not asked yet: MAIL is owed a reply (no PIPELINING).
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    let early = c.send_body(now, first, b"Hi\r\n", true, &mut out);
    assert_eq!(early, Err(UsageError::NotExpectingBody));
    c.handle_input(now, b"250 ok\r\n");
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    c.handle_input(now, b"250 ok\r\n");
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    c.handle_input(now, b"354 go\r\n");
    let Output::SendBody { txn, .. } = step(&mut c, &mut out) else {
        panic!("no SendBody after 354");
    };
    assert_eq!(txn, first);
    out.clear();
    let other = c.send_body(now, second, b"Hi\r\n", true, &mut out);
    assert_eq!(other, Err(UsageError::NotExpectingBody));
    assert!(out.is_empty(), "nothing written for the refused chunk");
    c.send_body(now, first, b"Hi\r\n", true, &mut out).unwrap();
    assert_eq!(out, b"Hi\r\n.\r\n");
}

/// `withdraw` takes back only a transaction none of whose commands was written: not one
/// whose content is being asked for, even though its MAIL, RCPT and DATA are all
/// answered and it owes no reply. It stays, and its content still goes out.
#[test]
fn withdraw_refuses_a_started_transaction_that_owes_no_reply() {
    let now = Instant::ZERO;
    let mut c = ready();
    let mut out = Vec::new();
    let first = c.send(now, envelope()).unwrap();
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    for reply in [&b"250 ok\r\n"[..], b"250 ok\r\n"] {
        c.handle_input(now, reply);
        assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    }
    c.handle_input(now, b"354 go\r\n");
    let Output::SendBody { txn, .. } = step(&mut c, &mut out) else {
        panic!("no SendBody after 354");
    };
    assert_eq!(txn, first);
    assert!(!c.withdraw(first), "its MAIL is out");
    out.clear();
    c.send_body(now, first, b"Hi\r\n", true, &mut out).unwrap();
    assert_eq!(out, b"Hi\r\n.\r\n");
}

/// An empty read is no bytes: during a TLS handshake (here implicit TLS's, before the
/// greeting) it is no injection, and the session goes on to its greeting.
#[test]
fn an_empty_read_during_a_handshake_changes_nothing() {
    let now = Instant::ZERO;
    let mut c = client(TlsMode::Implicit);
    let mut out = Vec::new();
    let Output::StartTls(upgrade) = step(&mut c, &mut out) else {
        panic!("implicit TLS starts with the handshake");
    };
    c.handle_input(now, b"");
    assert!(!c.is_closed(), "an empty read ended the session");
    c.handle_tls_established(now, upgrade);
    c.handle_input(now, b"220 mx.example.org\r\n");
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    assert_eq!(out, b"EHLO client.example\r\n");
}

#[test]
fn a_handshake_reported_after_the_session_ended_changes_nothing() {
    let now = Instant::ZERO;
    let mut c = client(TlsMode::StartTls(TlsPolicy::Required));
    let mut out = Vec::new();
    c.handle_input(now, b"220 mx.example.org\r\n");
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    c.handle_input(now, b"250-mx.example.org\r\n250 STARTTLS\r\n");
    assert!(matches!(step(&mut c, &mut out), Output::Wait { .. }));
    c.handle_input(now, b"220 go ahead\r\n");
    let Output::StartTls(upgrade) = step(&mut c, &mut out) else {
        panic!("no StartTls after 220");
    };
    let late = upgrade.deadline();
    c.handle_timeout(late);
    let closed = Error::Timeout {
        stage: Stage::TlsHandshake,
    };
    assert!(matches!(step(&mut c, &mut out), Output::Closed(Some(e)) if e == closed));
    out.clear();
    c.handle_tls_established(late, upgrade);
    assert!(!c.is_encrypted());
    assert!(c.is_closed());
    let mut events = Vec::new();
    loop {
        match c.poll_output(&mut out) {
            Output::Event(e) => events.push(e),
            Output::Closed(None) => break,
            other => panic!("after the end: {other:?}"),
        }
    }
    assert_eq!(events, Vec::<Event>::new());
    assert!(out.is_empty(), "nothing written after the end");
}
