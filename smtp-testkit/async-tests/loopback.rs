// Shared by the loopback tests of smtp-tokio and smtp-smol, whose APIs are the same: each
// includes this file after `use <adapter crate> as adapter;`, `mod common;` (with
// `block_on` and `timeout`) and replay.rs (its `run`). Included, so no inner attributes or doc comments here.

use std::time::Duration;

use adapter::{Builder, Envelope, Error, ForwardPath, ReversePath, TlsPolicy};
use common::{block_on, timeout};
use smtp_testkit::scenario::{replay_all, FLOOR};
use smtp_testkit::server::{Step, StepServer};

/// A 7-bit envelope from `sender@example.org`.
fn envelope(to: &str) -> Envelope {
    Envelope::new(
        ReversePath::new("sender@example.org").unwrap(),
        [ForwardPath::new(to).unwrap()],
    )
}

/// A greeting and a one-line EHLO reply, then `then`.
fn greeted(then: Vec<Step>) -> Vec<Step> {
    let mut steps = vec![
        Step::Send(b"220 mx.example ESMTP\r\n".to_vec()),
        Step::expect("EHLO localhost\r\n"),
        Step::Send(b"250 mx.example\r\n".to_vec()),
    ];
    steps.extend(then);
    steps
}

/// A cleartext session with `server`, set up.
async fn connect_plain(server: &StepServer) -> adapter::Connection {
    Builder::new("127.0.0.1")
        .port(server.addr().port())
        .starttls(TlsPolicy::Disabled)
        .connect()
        .await
        .expect("connect")
}

#[test]
fn transcripts_replay_through_the_adapter() {
    replay_all(FLOOR, |s, t| block_on(run(s, t)));
}

/// A `send` dropped half-way (here by an outer timeout while the server is silent)
/// poisons the connection: the next call fails instead of reading the stale reply.
#[test]
fn a_dropped_send_poisons_the_connection() {
    let server = StepServer::start(greeted(vec![Step::Hold]));
    block_on(async {
        let mut conn = connect_plain(&server).await;
        let send = conn.send_bytes(envelope("to@example.net"), b"Hi\r\n");
        let dropped = timeout(Duration::from_millis(300), send).await;
        assert!(
            dropped.is_none(),
            "the silent server cannot complete a send"
        );
        assert!(matches!(conn.noop().await, Err(Error::Cancelled)));
        assert!(matches!(conn.quit().await, Err(Error::Cancelled)));
    });
}

/// Misuse and unsendable content are refused before anything is queued, and the
/// connection stays usable.
#[test]
fn an_envelope_without_recipients_is_refused_locally() {
    // Nothing of the refused calls goes out: the next line is the NOOP.
    let server = StepServer::start(greeted(vec![
        Step::expect("NOOP\r\n"),
        Step::Send(b"250 2.0.0 Ok\r\n".to_vec()),
        Step::Hold,
    ]));
    block_on(async {
        let mut conn = connect_plain(&server).await;
        let mut env = envelope("to@example.net");
        env.recipients.clear();
        let refused = conn.send_bytes(env, b"Hi\r\n").await;
        assert!(matches!(refused, Err(Error::Usage(_))), "{refused:?}");
        let from = ReversePath::new("a@example.org").unwrap();
        let to = ForwardPath::new("b@example.org").unwrap();
        let refused = conn.send_message(from, [to], b"NUL \0 here\r\n").await;
        assert!(matches!(refused, Err(Error::Refused(_))), "{refused:?}");
        let reply = conn.noop().await.expect("NOOP after a refused call");
        assert_eq!(reply.code().get(), 250);
    });
    server.finish().expect("the server saw EHLO, then NOOP");
}

/// The name the server announced (what an MX delivery's TLS report gives as
/// `receiving-mx-helo`): the EHLO reply's, or the greeting's when HELO opened the
/// session (its reply's domain is not kept: RFC 5321 §4.1.1.1 gives HELO no
/// extensions to read).
#[test]
fn server_name_is_the_ehlo_replys_or_in_a_helo_session_the_greetings() {
    let server = StepServer::start(greeted(vec![Step::Hold]));
    block_on(async {
        let conn = connect_plain(&server).await;
        assert_eq!(conn.server_name(), Some("mx.example"));
    });
    let server = StepServer::start(vec![
        Step::Send(b"220 greeter.example ESMTP\r\n".to_vec()),
        Step::expect("EHLO localhost\r\n"),
        Step::Send(b"502 5.5.1 no EHLO\r\n".to_vec()),
        Step::expect("HELO localhost\r\n"),
        Step::Send(b"250 helo.example\r\n".to_vec()),
        Step::Hold,
    ]);
    block_on(async {
        let conn = connect_plain(&server).await;
        assert_eq!(conn.capabilities().domain(), "");
        assert_eq!(conn.server_name(), Some("greeter.example"));
    });
}
