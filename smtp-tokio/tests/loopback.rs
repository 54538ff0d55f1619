//! The core's transcripts replayed through this adapter over real 127.0.0.1 sockets (the
//! testkit's scripted server checks every byte), a session on a multi-threaded
//! executor, and cancellation.
// The transcripts include TLS sessions.
#![cfg(feature = "rustls")]

mod common;

use std::sync::Arc;

use smtp_testkit::scenario::{named, verdict};
use smtp_testkit::server::ScriptedServer;
use smtp_tokio as adapter;

/// A session the transcript leaves open: the test quits it.
const DROP_AT_END: bool = false;
include!("../../smtp-testkit/async-tests/replay.rs");
include!("../../smtp-testkit/async-tests/loopback.rs");

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
