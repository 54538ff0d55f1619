//! The core's transcripts (and the testkit's) replayed over real 127.0.0.1 sockets
//! through the blocking adapter's public API, STARTTLS and implicit TLS through the
//! rcgen test certificate.

use std::net::TcpStream;

use smtp_blocking::{Builder, Connection, Error, Socket};
use smtp_testkit::scenario::{replay_all, Outcome, Scenario, Target};

/// What the scenario's session did on `connected`: its messages sent (through `send`,
/// a reader, when `reader` and the transcript has one message; else `send_bytes` or
/// `send_many`), then QUIT.
fn session<S: Socket>(
    s: &Scenario,
    connected: Result<Connection<S>, Error>,
    reader: bool,
) -> Outcome {
    let mut conn = match connected {
        Ok(c) => c,
        Err(e) => return Outcome::not_connected(e),
    };
    let sent = match &s.messages[..] {
        [(env, body)] if reader => conn.send(env.clone(), &body[..]).map(|r| vec![r]),
        [(env, body)] => conn.send_bytes(env.clone(), body).map(|r| vec![r]),
        _ => conn.send_many(s.messages()),
    };
    let (encrypted, tls) = (conn.is_encrypted(), conn.tls_version());
    let auth = conn.auth_mechanism();
    let auth = auth.as_ref().map(|m| m.as_str());
    Outcome::of_session(s.name(), encrypted, tls, auth, sent, conn.quit())
}

fn builder(s: &Scenario, host: &str, target: &Target) -> Builder {
    let mut builder = Builder::new(host).tls_config(target.tls_config.clone());
    *builder.config_mut() = s.config();
    builder
}

#[test]
fn transcripts_replay_through_the_blocking_adapter() {
    replay_all(|s, target| {
        let b = builder(s, target.host, target).port(target.addr.port());
        session(s, b.connect(), false)
    });
}

/// The same through `connect_stream` over a socket the caller opened, the certificate
/// verified as the DNS name `localhost`, and one message at a time through `send` (a
/// reader) when the transcript has one.
#[test]
fn transcripts_replay_over_a_caller_stream() {
    replay_all(|s, target| {
        let tcp = TcpStream::connect(target.addr).unwrap();
        session(s, builder(s, "localhost", target).connect_stream(tcp), true)
    });
}
