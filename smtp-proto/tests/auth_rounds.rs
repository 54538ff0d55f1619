//! The cap on AUTH challenge rounds ([`Config::max_auth_rounds`]) holds for every value,
//! 255 included: against a server that challenges forever and a mechanism that answers
//! every challenge, exactly `max_auth_rounds` challenges are answered, the next one gets
//! `*` (RFC 4954 §4) and the session ends with `AuthError::TooManyRounds`.

use std::sync::Arc;

use smtp_proto::command::{EhloName, Mechanism};
use smtp_proto::{
    AuthError, Client, Config, Credentials, Error, Instant, Output, Sasl, SaslError, SaslFactory,
    Secret, TlsMode,
};

/// A mechanism that answers every challenge (a server that never stops asking is the
/// only thing that ends it).
struct Echo;

impl Sasl for Echo {
    fn initial_response(&mut self) -> Option<Secret> {
        None
    }
    fn respond(&mut self, _challenge: &[u8]) -> Result<Secret, SaslError> {
        Ok(Secret::new(&b"again"[..]))
    }
}

struct EchoFactory;

impl SaslFactory for EchoFactory {
    fn mechanism(&self) -> Mechanism {
        Mechanism::new("X-ECHO").unwrap()
    }
    fn start(&self) -> Box<dyn Sasl> {
        Box::new(Echo)
    }
}

/// Runs AUTH against a server that answers every client line with another challenge,
/// up to `limit` of them; returns the number of answers, whether `*` came, and the end.
fn endless_challenges(max_auth_rounds: u8, limit: usize) -> (usize, bool, Option<Error>) {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::Implicit;
    config.credentials = Some(Credentials::custom(Arc::new(EchoFactory)));
    config.max_auth_rounds = max_auth_rounds;
    let mut client = Client::new(config, Instant::ZERO);
    // Implicit TLS (RFC 8314 §3.3): the handshake is the client's first instruction.
    let Output::StartTls(up) = client.poll_output(&mut Vec::new()) else {
        panic!("implicit TLS starts with the handshake");
    };
    client.handle_tls_established(Instant::ZERO, up);
    let mut out = Vec::new();
    let (mut answers, mut cancelled, mut challenges) = (0, false, 0);
    client.handle_input(Instant::ZERO, b"220 mx.example.org\r\n");
    loop {
        match client.poll_output(&mut out) {
            Output::Event(_) => {}
            Output::Wait { .. } => {
                let line = std::mem::take(&mut out);
                if line.starts_with(b"EHLO") {
                    client
                        .handle_input(Instant::ZERO, b"250-mx.example.org\r\n250 AUTH X-ECHO\r\n");
                } else if line == b"*\r\n" {
                    cancelled = true;
                    client.handle_input(Instant::ZERO, b"501 5.7.0 cancelled\r\n");
                } else {
                    answers += usize::from(line == b"YWdhaW4=\r\n");
                    assert!(
                        challenges < limit,
                        "the client answered {answers} challenges"
                    );
                    challenges += 1;
                    client.handle_input(Instant::ZERO, b"334 Y2hhbGxlbmdl\r\n");
                }
            }
            Output::Closed(e) => return (answers, cancelled, e),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn the_cap_of_255_rounds_holds_against_endless_challenges() {
    let (answers, cancelled, e) = endless_challenges(255, 1000);
    assert_eq!(answers, 255);
    assert!(cancelled, "no * after the cap");
    assert_eq!(e, Some(Error::Auth(AuthError::TooManyRounds)));
}

#[test]
fn every_cap_value_answers_exactly_that_many_challenges() {
    for max in 0..=u8::MAX {
        let (answers, cancelled, e) = endless_challenges(max, 1000);
        assert_eq!(answers, usize::from(max), "max_auth_rounds = {max}");
        assert!(cancelled, "max_auth_rounds = {max}: no *");
        assert_eq!(
            e,
            Some(Error::Auth(AuthError::TooManyRounds)),
            "max_auth_rounds = {max}"
        );
    }
}
