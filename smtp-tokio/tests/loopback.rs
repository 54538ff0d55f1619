//! The core's transcripts replayed through this adapter over real 127.0.0.1 sockets (the
//! testkit's scripted server checks every byte), a session on a multi-threaded
//! executor, and cancellation.
// The transcripts include TLS sessions.
#![cfg(feature = "rustls")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{block_on, envelope};
use smtp_testkit::scenario::{named, replay_all, verdict, FLOOR};
use smtp_testkit::server::{ScriptedServer, Step, StepServer};
use smtp_tokio::{Builder, Error, ForwardPath, ReversePath, TlsPolicy};

use smtp_tokio as adapter;
/// A session the transcript leaves open: the test quits it.
const DROP_AT_END: bool = false;
include!("../../smtp-testkit/async-tests/replay.rs");

#[test]
fn transcripts_replay_through_the_adapter() {
    replay_all(FLOOR, |s, t| block_on(run(s, t)));
}

/// The session's futures are `Send` (tests/send_sync.rs checks each type), so a whole
/// session (STARTTLS, AUTH, a pipelined message, QUIT) runs in a task that the
/// multi-threaded runtime may move between its worker threads, and delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_spawned_on_the_multi_threaded_runtime_delivers() {
    let s = Arc::new(named("starttls-auth-plain.txt"));
    let server = ScriptedServer::play(s.name(), &s.plan);
    let target = Target::of(&server);
    let task = tokio::spawn({
        let s = s.clone();
        async move { run(&s, &target).await }
    });
    let outcome = task.await.expect("the task ran to its end");
    verdict(&s, server, &outcome).unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.reports[0].all_delivered(), "{outcome:?}");
}

/// A `send` dropped half-way (here by an outer timeout while the server is silent)
/// poisons the connection: the next call fails instead of reading the stale reply.
#[test]
fn a_dropped_send_poisons_the_connection() {
    let server = StepServer::start(vec![
        Step::Send(b"220 mx.example ESMTP\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"250 mx.example\r\n".to_vec()),
        Step::Hold,
    ]);
    block_on(async {
        let mut conn = Builder::new("127.0.0.1")
            .port(server.addr().port())
            .starttls(TlsPolicy::Disabled)
            .connect()
            .await
            .expect("connect");
        let send = conn.send_bytes(envelope("to@example.net"), b"Hi\r\n");
        let dropped = tokio::time::timeout(Duration::from_millis(300), send).await;
        assert!(dropped.is_err(), "the silent server cannot complete a send");
        assert!(matches!(conn.noop().await, Err(Error::Cancelled)));
        assert!(matches!(conn.quit().await, Err(Error::Cancelled)));
    });
}

/// Misuse and unsendable content are refused before anything is queued, and the
/// connection stays usable.
#[test]
fn an_envelope_without_recipients_is_refused_locally() {
    let server = StepServer::start(vec![
        Step::Send(b"220 mx.example ESMTP\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"250 mx.example\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"250 2.0.0 Ok\r\n".to_vec()),
        Step::Hold,
    ]);
    block_on(async {
        let mut conn = Builder::new("127.0.0.1")
            .port(server.addr().port())
            .starttls(TlsPolicy::Disabled)
            .connect()
            .await
            .expect("connect");
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
}
