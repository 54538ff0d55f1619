//! Implicit TLS (RFC 8314 §3.3) is the client's own first instruction: `StartTls` before
//! anything is read, its timer the handshake's, then the greeting over TLS under the
//! greeting timer. A driver of `Client` does nothing special for it.

use std::time::Duration;

use smtp_proto::command::EhloName;
use smtp_proto::{Client, Config, Error, Event, Instant, Output, Stage, TlsMode};

fn config() -> Config {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::Implicit;
    config.timeouts.tls_handshake = Duration::from_secs(7);
    config.timeouts.greeting = Duration::from_secs(30);
    config
}

fn at(s: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(s)
}

/// The first poll: nothing written, the handshake asked for, due `tls_handshake` later.
fn first(client: &mut Client) -> smtp_proto::TlsUpgrade {
    let mut out = Vec::new();
    let Output::StartTls(up) = client.poll_output(&mut out) else {
        panic!("implicit TLS starts with the handshake");
    };
    assert!(out.is_empty(), "nothing is written before the handshake");
    up
}

/// Polls until the client waits or closes; returns what it wrote, the events and the last
/// output.
fn drain(client: &mut Client) -> (Vec<u8>, Vec<Event>, Output) {
    let (mut out, mut events) = (Vec::new(), Vec::new());
    loop {
        match client.poll_output(&mut out) {
            Output::Event(e) => events.push(e),
            other => return (out, events, other),
        }
    }
}

#[test]
fn the_handshake_comes_first_then_the_greeting_under_its_own_timer() {
    let mut client = Client::new(config(), at(0));
    assert!(!client.is_encrypted());
    let up = first(&mut client);
    assert_eq!(up.deadline(), at(7));
    assert_eq!(client.deadline(), Some(at(7)), "the handshake's timer");
    client.handle_tls_established(at(5), up);
    assert!(client.is_encrypted());
    assert_eq!(
        client.deadline(),
        Some(at(35)),
        "the greeting's, from the handshake"
    );
    let (out, events, last) = drain(&mut client);
    assert!(
        out.is_empty() && events.is_empty(),
        "no TlsEstablished: no STARTTLS"
    );
    assert!(matches!(last, Output::Wait { deadline: Some(d) } if d == at(35)));
    client.handle_input(at(6), b"220 mx.example.org ESMTP\r\n");
    let (out, events, _) = drain(&mut client);
    assert!(matches!(events[..], [Event::Greeting(_)]));
    assert_eq!(out, b"EHLO client.example\r\n");
}

#[test]
fn a_handshake_that_does_not_complete_in_time_ends_the_session() {
    let mut client = Client::new(config(), at(0));
    let up = first(&mut client);
    client.handle_timeout(at(6));
    assert!(!client.is_closed(), "not yet due");
    client.handle_timeout(at(7));
    let (out, _, last) = drain(&mut client);
    assert!(out.is_empty());
    let Output::Closed(Some(Error::Timeout { stage })) = last else {
        panic!("{last:?}");
    };
    assert_eq!(stage, Stage::TlsHandshake);
    client.handle_tls_established(at(8), up);
    assert!(!client.is_encrypted(), "a late handshake changes nothing");
}

#[test]
fn a_close_in_the_handshake_is_named_for_it() {
    let mut client = Client::new(config(), at(0));
    let _ = first(&mut client);
    client.handle_eof(at(1));
    let (_, _, last) = drain(&mut client);
    let Output::Closed(Some(Error::ConnectionClosed { stage })) = last else {
        panic!("{last:?}");
    };
    assert_eq!(stage, Some(Stage::TlsHandshake));
}

/// Bytes before the handshake are not TLS: a greeting read there would be plaintext
/// taken as if it came over TLS.
#[test]
fn bytes_before_the_handshake_are_refused() {
    let mut client = Client::new(config(), at(0));
    let _ = first(&mut client);
    client.handle_input(at(1), b"220 mx.example.org ESMTP\r\n");
    let (out, events, last) = drain(&mut client);
    assert!(out.is_empty() && events.is_empty());
    assert!(
        matches!(last, Output::Closed(Some(Error::ResponseInjection))),
        "{last:?}"
    );
}

/// An invalid configuration ends the session before the handshake is asked for.
#[test]
fn an_invalid_configuration_asks_for_no_handshake() {
    let mut config = config();
    config.window = 0;
    let mut client = Client::new(config, at(0));
    let (out, _, last) = drain(&mut client);
    assert!(out.is_empty());
    assert!(
        matches!(last, Output::Closed(Some(Error::InvalidConfig(_)))),
        "{last:?}"
    );
}
