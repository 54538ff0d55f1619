//! The core's transcripts replayed through this adapter over real 127.0.0.1 sockets (the
//! testkit's scripted server checks every byte), a session on a multi-threaded
//! executor, and cancellation.
// The transcripts include TLS sessions.
#![cfg(feature = "rustls")]

mod common;

use std::sync::Arc;

use smtp_smol as adapter;
use smtp_testkit::scenario::{named, verdict};
use smtp_testkit::server::ScriptedServer;

/// A session the transcript leaves open: the test drops it.
const DROP_AT_END: bool = true;
include!("../../smtp-testkit/async-tests/replay.rs");
include!("../../smtp-testkit/async-tests/loopback.rs");

/// The session's futures are `Send` (tests/send_sync.rs checks each type), so a whole
/// session (STARTTLS, AUTH, a pipelined message, QUIT) runs in a task that an executor
/// run by two threads may move between them, and delivers.
#[test]
fn a_session_spawned_on_a_multi_threaded_executor_delivers() {
    let s = Arc::new(named("starttls-auth-plain.txt"));
    let server = ScriptedServer::play(s.name(), &s.plan);
    let target = Target::of(&server);
    let executor = smol::Executor::new();
    let (stop, stopped) = smol::channel::unbounded::<()>();
    let outcome = std::thread::scope(|threads| {
        for _ in 0..2 {
            threads.spawn(|| block_on(executor.run(stopped.recv())));
        }
        let task = executor.spawn({
            let s = s.clone();
            async move { run(&s, &target).await }
        });
        let outcome = block_on(task);
        drop(stop);
        outcome
    });
    verdict(&s, server, &outcome).unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.reports[0].all_delivered(), "{outcome:?}");
}
