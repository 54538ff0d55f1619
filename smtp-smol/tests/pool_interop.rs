//! A pool against Postfix of `scripts/test-servers start` (feature `interop`), its
//! tasks on an executor run by 4 threads. Shared with the other async adapter.
#![cfg(all(feature = "interop", feature = "rustls"))]

use smtp_smol as adapter;

const TAG: &str = "smol";

/// Runs one task per message on an executor driven by 4 threads, all through one pool.
fn spawn_all<F, Fut>(
    builder: adapter::Builder,
    config: adapter::PoolConfig,
    send: F,
    rcpts: Vec<String>,
    bodies: Vec<Vec<u8>>,
) -> Vec<Fut::Output>
where
    F: Fn(adapter::Pool, usize, String, Vec<u8>) -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let executor = smol::Executor::new();
    let (stop, stopped) = smol::channel::unbounded::<()>();
    std::thread::scope(|threads| {
        for _ in 0..4 {
            threads.spawn(|| smol::block_on(executor.run(stopped.recv())));
        }
        let out = smol::block_on(async {
            let pool = adapter::Pool::new(builder, config);
            let tasks: Vec<_> = rcpts
                .into_iter()
                .zip(bodies)
                .enumerate()
                .map(|(i, (r, b))| executor.spawn(send(pool.clone(), i, r, b)))
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await);
            }
            pool.close().await;
            out
        });
        drop(stop);
        out
    })
}

include!("../../smtp-testkit/pool-tests/interop.rs");
include!("../../smtp-testkit/async-tests/pool_interop.rs");
