//! The core's transcripts replayed through this adapter over real 127.0.0.1 sockets (the
//! testkit's scripted server checks every byte), cancellation, and a session spawned on
//! a multi-threaded executor. All but the last are shared with the other async adapter.
// The transcripts include TLS sessions.
#![cfg(feature = "rustls")]

mod common;

use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/loopback.rs");

/// The session's futures are `Send` (tests/send_sync.rs checks each type), so a whole
/// session (STARTTLS, AUTH, a pipelined message, QUIT) runs in a task that the
/// multi-threaded runtime may move between its worker threads, and delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_spawned_on_the_multi_threaded_runtime_delivers() {
    use smtp_testkit::scenario::{named, verdict};
    use smtp_testkit::server::ScriptedServer;
    let s = std::sync::Arc::new(named("starttls-auth-plain.txt"));
    let server = ScriptedServer::start(&s.transcript);
    let target = Target::of(&server);
    let task = tokio::spawn({
        let s = s.clone();
        async move { run(&s, &target).await }
    });
    let outcome = task.await.expect("the task ran to its end");
    verdict(&s, server, &outcome).unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.reports[0].all_delivered(), "{outcome:?}");
}
