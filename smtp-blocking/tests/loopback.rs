//! The core's transcripts (and the testkit's) replayed over real 127.0.0.1 sockets
//! through the blocking adapter's public API, STARTTLS and implicit TLS through the
//! rcgen test certificate.

use std::net::TcpStream;

use smtp_blocking::Builder;
use smtp_testkit::scenario::{replay_all, EndError, Outcome, Scenario, Target};

fn run(s: &Scenario, target: &Target) -> Outcome {
    let mut outcome = Outcome::default();
    let mut builder = Builder::new(target.host)
        .port(target.addr.port())
        .tls_config(target.tls_config.clone());
    *builder.config_mut() = s.config();
    let mut conn = match builder.connect() {
        Ok(c) => c,
        Err(e) => {
            outcome.error = Some(EndError::from(e));
            return outcome;
        }
    };
    let sent = if s.messages.len() == 1 {
        let (env, body) = &s.messages[0];
        conn.send_bytes(env.clone(), body).map(|r| vec![r])
    } else {
        conn.send_many(s.messages())
    };
    outcome.encrypted = conn.is_encrypted();
    assert_eq!(
        conn.tls_version().is_some(),
        conn.is_encrypted(),
        "{}",
        s.name()
    );
    outcome.auth_mechanism = conn.auth_mechanism().map(|m| m.as_str().to_string());
    match sent {
        Ok(reports) => outcome.reports = reports,
        Err(e) => outcome.error = Some(EndError::from(e)),
    }
    if let Err(e) = conn.quit() {
        outcome.error.get_or_insert(EndError::from(e));
    }
    outcome
}

#[test]
fn transcripts_replay_through_the_blocking_adapter() {
    replay_all(run);
}

/// The same through `connect_stream` over a socket the caller opened, the certificate
/// verified as the DNS name `localhost`.
#[test]
fn transcripts_replay_over_a_caller_stream() {
    replay_all(|s, target| {
        let mut outcome = Outcome::default();
        let tcp = TcpStream::connect(target.addr).unwrap();
        let mut builder = Builder::new("localhost").tls_config(target.tls_config.clone());
        *builder.config_mut() = s.config();
        let mut conn = match builder.connect_stream(tcp) {
            Ok(c) => c,
            Err(e) => {
                outcome.error = Some(EndError::from(e));
                return outcome;
            }
        };
        // One message at a time through `send` (a reader) when the transcript has one.
        let sent = if s.messages.len() == 1 {
            let (env, body) = &s.messages[0];
            conn.send(env.clone(), &body[..]).map(|r| vec![r])
        } else {
            conn.send_many(s.messages())
        };
        outcome.encrypted = conn.is_encrypted();
        outcome.auth_mechanism = conn.auth_mechanism().map(|m| m.as_str().to_string());
        match sent {
            Ok(reports) => outcome.reports = reports,
            Err(e) => outcome.error = Some(EndError::from(e)),
        }
        if let Err(e) = conn.quit() {
            outcome.error.get_or_insert(EndError::from(e));
        }
        outcome
    });
}
