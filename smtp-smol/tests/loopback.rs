//! The core's transcripts replayed through this adapter over real 127.0.0.1 sockets (the
//! testkit's scripted server checks every byte), cancellation, and a session spawned on
//! a multi-threaded executor. All but the last are shared with the other async adapter.
// The transcripts include TLS sessions.
#![cfg(feature = "rustls")]

mod common;

use smtp_smol as adapter;

include!("../../smtp-testkit/async-tests/loopback.rs");

/// The session's futures are `Send` (tests/send_sync.rs checks each type), so a whole
/// session (STARTTLS, AUTH, a pipelined message, QUIT) runs as a task on an executor
/// driven by two threads, which may move it between them, and delivers.
#[test]
fn a_session_spawned_on_a_multi_threaded_executor_delivers() {
    use smtp_testkit::scenario::{named, verdict};
    use smtp_testkit::server::ScriptedServer;
    let s = std::sync::Arc::new(named("starttls-auth-plain.txt"));
    let server = ScriptedServer::start(&s.transcript);
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
