//! A password or token goes on the wire exactly once per AUTH exchange, whatever the
//! server answers: an empty `334` after the initial response is cancelled with `*`
//! (RFC 4954 §4), and an initial response too long for the AUTH line goes out once, in
//! answer to the server's empty challenge.
//!
//! Counted in every form it can take: the raw bytes, and the bytes inside every base64
//! line the client wrote (which covers the base64 of the whole response, whatever the
//! secret's offset in it).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use smtp_proto::command::{EhloName, Mechanism};
use smtp_proto::{AuthError, Client, Config, Credentials, Error, Instant, Output, TlsMode};

/// Runs a session whose server answers each client flight with the next of `replies`
/// (after the greeting); returns everything the client wrote and how it ended.
fn session(credentials: Credentials, prefer: &str, replies: &[&[u8]]) -> (Vec<u8>, Option<Error>) {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::Implicit;
    config.credentials = Some(credentials);
    config.auth_preference = vec![Mechanism::new(prefer).unwrap()];
    let mut client = Client::new(config, Instant::ZERO);
    // Implicit TLS (RFC 8314 §3.3): the handshake is the client's first instruction.
    let Output::StartTls(up) = client.poll_output(&mut Vec::new()) else {
        panic!("implicit TLS starts with the handshake");
    };
    client.handle_tls_established(Instant::ZERO, up);
    let mut wire = Vec::new();
    let mut out = Vec::new();
    let mut flights = replies.iter();
    client.handle_input(Instant::ZERO, b"220 mx.example.org\r\n");
    loop {
        match client.poll_output(&mut out) {
            Output::Event(_) => {}
            Output::Wait { .. } => {
                wire.append(&mut out);
                match flights.next() {
                    Some(flight) => client.handle_input(Instant::ZERO, flight),
                    None => panic!("the client waits for more than the script has"),
                }
            }
            Output::Closed(e) => {
                wire.append(&mut out);
                return (wire, e);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Occurrences of `secret` in what the client wrote: raw, and inside base64 lines.
fn occurrences(wire: &[u8], secret: &[u8]) -> usize {
    let mut decoded = Vec::new();
    for line in wire.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let last = line.rsplit(|&b| b == b' ').next().unwrap_or(line);
        if let Ok(bytes) = STANDARD.decode(last) {
            decoded.extend_from_slice(&bytes);
            decoded.push(b'\n');
        }
    }
    count(wire, secret) + count(&decoded, secret)
}

const EHLO: &[u8] = b"250-mx.example.org\r\n250 AUTH PLAIN XOAUTH2 OAUTHBEARER\r\n";
const CANCELLED: &[u8] = b"501 5.7.0 cancelled\r\n";

fn assert_cancelled(e: Option<Error>) {
    match e {
        Some(Error::Auth(AuthError::Cancelled(r))) => assert_eq!(r.code().get(), 501),
        other => panic!("expected a cancelled AUTH, got {other:?}"),
    }
}

#[test]
fn plain_password_goes_out_once_when_an_empty_challenge_follows_it() {
    let pw = "pw-7Hq2-secret";
    let creds = Credentials::password("user", pw).unwrap();
    let (wire, e) = session(creds, "PLAIN", &[EHLO, b"334 \r\n", CANCELLED]);
    let whole = STANDARD.encode(format!("\0user\0{pw}"));
    assert_eq!(
        count(&wire, whole.as_bytes()),
        1,
        "{}",
        String::from_utf8_lossy(&wire)
    );
    assert_eq!(occurrences(&wire, pw.as_bytes()), 1);
    assert!(wire.ends_with(b"*\r\nQUIT\r\n"));
    assert_cancelled(e);
}

#[test]
fn bearer_tokens_go_out_once_when_an_empty_challenge_follows_them() {
    let token = "ya29.tok-5Kd9";
    for mech in ["XOAUTH2", "OAUTHBEARER"] {
        let creds = Credentials::oauth2("user@example.com", token).unwrap();
        let (wire, e) = session(creds, mech, &[EHLO, b"334 \r\n", CANCELLED]);
        assert_eq!(occurrences(&wire, token.as_bytes()), 1, "{mech}");
        assert!(wire.ends_with(b"*\r\nQUIT\r\n"), "{mech}");
        assert_cancelled(e);
    }
}

#[test]
fn an_initial_response_too_long_for_the_line_goes_out_once_on_the_empty_challenge() {
    // 12288 octets is the AUTH line limit (RFC 4954 §4): this token's base64 is longer.
    let token = "t".repeat(10_000);
    let creds = Credentials::oauth2("user@example.com", token.as_str()).unwrap();
    let flights: &[&[u8]] = &[EHLO, b"334 \r\n", b"334 \r\n", CANCELLED];
    let (wire, e) = session(creds, "XOAUTH2", flights);
    // No initial response on the AUTH line: it answers the first empty 334.
    assert_eq!(count(&wire, b"AUTH XOAUTH2\r\n"), 1);
    assert_eq!(occurrences(&wire, token.as_bytes()), 1);
    assert!(wire.ends_with(b"*\r\nQUIT\r\n"));
    assert_cancelled(e);
}
