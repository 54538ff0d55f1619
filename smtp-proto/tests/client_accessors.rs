//! What the client says about its session between events: `is_encrypted`,
//! `capabilities`, `auth_mechanism`, `is_idle`, `is_closed`, `config` and `Debug`, at each step
//! of a STARTTLS + AUTH PLAIN session and its QUIT. Adapters and the CLI read these
//! (whether to trust the session, what to log), so the core pins them itself.

use smtp_proto::command::{EhloName, Mechanism};
use smtp_proto::{Client, Config, Credentials, Event, Instant, Output, TlsMode, TlsPolicy};

/// Polls until the client waits, closes or asks for TLS; returns the bytes it wrote and
/// that last output.
fn step(client: &mut Client) -> (Vec<u8>, Output) {
    let mut out = Vec::new();
    loop {
        match client.poll_output(&mut out) {
            Output::Event(_) => {}
            other => return (out, other),
        }
    }
}

#[test]
fn accessors_follow_a_starttls_auth_session_to_its_end() {
    let now = Instant::ZERO;
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Required);
    config.credentials = Some(Credentials::password("user", String::from("s3cret-pw")).unwrap());
    let mut client = Client::new(config, now);
    assert_eq!(client.config().ehlo_name.as_str(), "client.example");
    assert!(!client.is_encrypted() && !client.is_idle() && !client.is_closed());

    client.handle_input(now, b"220 mx.example.org ESMTP\r\n");
    let (out, _) = step(&mut client);
    assert_eq!(out, b"EHLO client.example\r\n");
    client.handle_input(
        now,
        b"250-mx.example.org\r\n250-STARTTLS\r\n250 SIZE 1000\r\n",
    );
    let (out, _) = step(&mut client);
    assert_eq!(out, b"STARTTLS\r\n");
    assert!(client.capabilities().starttls());
    assert_eq!(client.capabilities().max_size(), Some(1000));
    assert!(!client.is_encrypted());

    client.handle_input(now, b"220 go ahead\r\n");
    let Output::StartTls(upgrade) = step(&mut client).1 else {
        panic!("no StartTls after 220");
    };
    assert!(!client.is_encrypted());
    client.handle_tls_established(now, upgrade);
    assert!(client.is_encrypted());
    let (out, _) = step(&mut client);
    assert_eq!(out, b"EHLO client.example\r\n");
    assert!(!client.capabilities().starttls(), "kept from before TLS");

    client.handle_input(now, b"250-mx.example.org\r\n250 AUTH PLAIN\r\n");
    let (out, _) = step(&mut client);
    assert!(out.starts_with(b"AUTH PLAIN"), "{out:?}");
    assert_eq!(client.auth_mechanism(), None);
    assert!(!client.is_idle(), "idle while AUTH is owed a reply");

    client.handle_input(now, b"235 2.7.0 ok\r\n");
    let mut out = Vec::new();
    let mut events = Vec::new();
    loop {
        match client.poll_output(&mut out) {
            Output::Event(e) => events.push(e),
            Output::Wait { deadline: None } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    let plain = Mechanism::new("PLAIN").unwrap();
    assert_eq!(events, [Event::Authenticated(plain), Event::Ready]);
    assert_eq!(client.auth_mechanism(), Some(&plain));
    assert!(client.is_idle() && !client.is_closed());
    // Debug tells the session's state for logs, and never the credentials.
    let debug = format!("{client:?}");
    for part in ["Client", "Ready", "encrypted: true", "PLAIN"] {
        assert!(debug.contains(part), "{debug} lacks {part}");
    }
    assert!(!debug.contains("s3cret"), "{debug}");

    client.quit(now).unwrap();
    assert!(!client.is_idle(), "idle with QUIT queued");
    let (out, _) = step(&mut client);
    assert_eq!(out, b"QUIT\r\n");
    client.handle_input(now, b"221 bye\r\n");
    assert!(client.is_closed());
    assert!(matches!(step(&mut client).1, Output::Closed(None)));
    assert!(client.is_encrypted(), "still over TLS to the end");
}

/// The server's name for TLS reports (RFC 8460 §4.3 `receiving-mx-helo`): the
/// greeting's until EHLO's reply names it, and still there when the session fails for
/// want of TLS, where an MX delivery reports it.
#[test]
fn server_name_is_the_greetings_then_the_ehlo_replys_and_outlives_a_tls_failure() {
    let now = Instant::ZERO;
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Required);
    let mut client = Client::new(config.clone(), now);
    assert_eq!(client.server_name(), None);
    client.handle_input(now, b"220 greeter.example.org ESMTP\r\n");
    let _ = step(&mut client);
    assert_eq!(client.server_name(), Some("greeter.example.org"));
    client.handle_input(now, b"250-ehlo.example.org hi\r\n250 SIZE 1000\r\n");
    let (_, last) = step(&mut client);
    assert!(matches!(last, Output::Closed(Some(_))), "{last:?}");
    assert!(
        client.is_closed(),
        "no STARTTLS offered: TLS required fails"
    );
    assert_eq!(client.server_name(), Some("ehlo.example.org"));

    // EHLO refused (TLS required forbids HELO): the greeting's name is all there is.
    let mut client = Client::new(config, now);
    client.handle_input(now, b"220 greeter.example.org\r\n");
    let _ = step(&mut client);
    client.handle_input(now, b"502 5.5.1 no EHLO\r\n");
    let _ = step(&mut client);
    assert!(client.is_closed());
    assert_eq!(client.server_name(), Some("greeter.example.org"));

    // A refused greeting names no server.
    let mut client = Client::new(Config::new(EhloName::new("c.example").unwrap()), now);
    client.handle_input(now, b"554 refuser.example.org go away\r\n");
    let _ = step(&mut client);
    assert_eq!(client.server_name(), None);
}
