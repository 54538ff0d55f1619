//! `Pool` against smtp-sink, its tasks on smol's global executor (run by as many
//! threads as `SMOL_THREADS` says): many tasks through few connections, cross-caller
//! pipelining, and the sink's faults (closes, 421s, resets, idle closes): nothing
//! reported accepted is missing, nothing is stored twice, every message ends as the
//! rules say, and the pool recovers. Shared with the other async adapter.

mod common;

use std::future::Future;

use smtp_smol as adapter;

/// Runs a test; its tasks go to smol's global executor.
fn run<F: Future>(f: F) -> F::Output {
    smol::block_on(f)
}

/// Starts a task now; its output, once awaited.
fn spawn<F>(f: F) -> impl Future<Output = F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    smol::spawn(f)
}

async fn sleep(d: std::time::Duration) {
    async_io::Timer::after(d).await;
}

include!("../../smtp-testkit/pool-tests/common.rs");
include!("../../smtp-testkit/async-tests/pool.rs");
