//! The core's transcripts (and the testkit's) replayed over real 127.0.0.1 sockets
//! through the blocking adapter's public API, STARTTLS and implicit TLS through the
//! rcgen test certificate.

use std::net::TcpStream;

use smtp_blocking::{Builder, Connection, Error, Socket};
use smtp_testkit::plan::Op;
use smtp_testkit::scenario::{batch, replay_all, Outcome, Scenario, Target, FLOOR};

/// Runs the scenario's operations on a connection (or records why it failed), until one
/// fails. A batch of one message goes through `send` with a reader when `reader`, else
/// `send_bytes`. A session the transcript leaves up is dropped if `drop_at_end`, else
/// quit.
fn operate<S: Socket>(
    s: &Scenario,
    connected: Result<Connection<S>, Error>,
    reader: bool,
    drop_at_end: bool,
) -> Outcome {
    let conn = match connected {
        Ok(c) => c,
        Err(e) => return Outcome::failed(e.into()),
    };
    let auth = conn.auth_mechanism().map(|m| m.as_str().to_string());
    let mut outcome = Outcome::connected(s, conn.is_encrypted(), conn.tls_version(), auth);
    let mut conn = Some(conn);
    for op in s.ops() {
        let Some(c) = conn.as_mut() else { break };
        let done = match op {
            Op::Send(messages) if messages.len() == 1 => {
                let (env, body) = &messages[0];
                let sent = if reader {
                    c.send(env.clone(), &body[..])
                } else {
                    c.send_bytes(env.clone(), body)
                };
                sent.map(|r| outcome.reports.push(r))
            }
            Op::Send(messages) => c
                .send_many(batch(messages))
                .map(|r| outcome.reports.extend(r)),
            Op::Noop => c.noop().map(|r| outcome.replies.push(r)),
            Op::Rset => c.rset().map(|r| outcome.replies.push(r)),
            Op::End { open: true } if drop_at_end => {
                drop(conn.take());
                Ok(())
            }
            Op::Quit | Op::End { .. } => conn.take().map_or(Ok(()), Connection::quit),
        };
        if let Err(e) = done {
            outcome.error = Some(e.into());
            break;
        }
    }
    outcome
}

fn builder(s: &Scenario, target: &Target, host: &str) -> Builder {
    let mut builder = Builder::new(host).tls_config(target.tls_config.clone());
    *builder.config_mut() = s.config();
    builder
}

#[test]
fn transcripts_replay_through_the_blocking_adapter() {
    replay_all(FLOOR, |s, target| {
        let b = builder(s, target, target.host).port(target.addr.port());
        operate(s, b.connect(), false, false)
    });
}

/// The same through `connect_stream` over a socket the caller opened, the certificate
/// verified as the DNS name `localhost`, one message at a time through `send` (a reader),
/// and a session the transcript leaves open dropped rather than quit.
#[test]
fn transcripts_replay_over_a_caller_stream() {
    replay_all(FLOOR, |s, target| {
        let tcp = TcpStream::connect(target.addr).unwrap();
        operate(
            s,
            builder(s, target, "localhost").connect_stream(tcp),
            true,
            true,
        )
    });
}
