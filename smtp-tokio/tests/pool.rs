//! `Pool` against smtp-sink, on the multi-threaded runtime (4 workers): many tasks
//! through few connections, cross-caller pipelining, and the sink's faults (closes,
//! 421s, resets, idle closes): nothing reported accepted is missing, nothing is stored
//! twice, every message ends as the rules say, and the pool recovers. Shared with the
//! other async adapter.

mod common;

use std::future::Future;

use smtp_tokio as adapter;

/// Runs a test on a 4-worker multi-threaded runtime.
fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Starts a task now; its output, once awaited.
fn spawn<F>(f: F) -> impl Future<Output = F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = tokio::spawn(f);
    async { task.await.expect("task") }
}

async fn sleep(d: std::time::Duration) {
    tokio::time::sleep(d).await;
}

include!("../../smtp-testkit/pool-tests/common.rs");
include!("../../smtp-testkit/async-tests/pool.rs");
