//! RFC 4954 §4: an AUTH command line may be 12288 octets, its CRLF included. An initial
//! response that fits goes on the AUTH line; one that would make it one octet longer
//! waits for the server's empty challenge. Both sides of the boundary, exactly.

use std::sync::Arc;

use smtp_proto::command::{EhloName, Mechanism};
use smtp_proto::{
    Client, Config, Credentials, Instant, Output, Sasl, SaslError, SaslFactory, Secret, TlsMode,
};

const AUTH_LINE_MAX: usize = 12288;

/// A mechanism whose initial response is `len` octets.
struct Fixed(&'static str, usize);

impl Sasl for Fixed {
    fn initial_response(&mut self) -> Option<Secret> {
        Some(Secret::new(vec![b'x'; self.1]))
    }
    fn respond(&mut self, _challenge: &[u8]) -> Result<Secret, SaslError> {
        Err(SaslError)
    }
}

impl SaslFactory for Fixed {
    fn mechanism(&self) -> Mechanism {
        Mechanism::new(self.0).unwrap()
    }
    fn start(&self) -> Box<dyn Sasl> {
        Box::new(Fixed(self.0, self.1))
    }
}

/// The first line the client writes after the EHLO reply offers `mechanism`.
fn auth_line(credentials: Credentials, mechanism: &str) -> Vec<u8> {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::Implicit;
    config.credentials = Some(credentials);
    let now = Instant::ZERO;
    let mut client = Client::new(config, now);
    // Implicit TLS (RFC 8314 §3.3): the handshake is the client's first instruction.
    let Output::StartTls(up) = client.poll_output(&mut Vec::new()) else {
        panic!("implicit TLS starts with the handshake");
    };
    client.handle_tls_established(now, up);
    let mut out = Vec::new();
    client.handle_input(now, b"220 mx.example.org\r\n");
    while !matches!(client.poll_output(&mut out), Output::Wait { .. }) {}
    out.clear();
    let ehlo = format!("250-mx.example.org\r\n250 AUTH {mechanism}\r\n");
    client.handle_input(now, ehlo.as_bytes());
    while !matches!(client.poll_output(&mut out), Output::Wait { .. }) {}
    out
}

/// "AUTH X-AB " (10) + base64 of 9207 octets (12276) + CRLF: exactly the limit.
#[test]
fn an_initial_response_that_makes_the_line_exactly_the_limit_goes_on_it() {
    let line = auth_line(Credentials::custom(Arc::new(Fixed("X-AB", 9207))), "X-AB");
    assert_eq!(line.len(), AUTH_LINE_MAX);
    assert!(line.starts_with(b"AUTH X-AB eHh4"), "{:?}", &line[..20]);
}

/// "AUTH PLAIN " (11) + base64 of "\0user\0" and a 9201-octet password (12276) + CRLF:
/// one octet over, so the response waits for the empty challenge.
#[test]
fn an_initial_response_one_octet_over_the_limit_waits_for_the_challenge() {
    let password = "p".repeat(9201);
    let credentials = Credentials::password("user", password).unwrap();
    assert_eq!(auth_line(credentials, "PLAIN"), b"AUTH PLAIN\r\n");
    let password = "p".repeat(9198);
    let credentials = Credentials::password("user", password).unwrap();
    let line = auth_line(credentials, "PLAIN");
    assert_eq!(
        line.len(),
        AUTH_LINE_MAX - 3,
        "one base64 quantum shorter fits"
    );
}
