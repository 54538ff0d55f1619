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
