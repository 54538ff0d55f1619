//! A pool against Postfix of `scripts/test-servers start` (feature `interop`), on the
//! multi-threaded runtime. Shared with the other async adapter.
#![cfg(all(feature = "interop", feature = "rustls"))]

use smtp_tokio as adapter;

const TAG: &str = "tokio";

/// Runs one task per message on a 4-thread runtime, all through one pool.
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = adapter::Pool::new(builder, config);
        let tasks: Vec<_> = rcpts
            .into_iter()
            .zip(bodies)
            .enumerate()
            .map(|(i, (r, b))| tokio::spawn(send(pool.clone(), i, r, b)))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        pool.close().await;
        out
    })
}

include!("../../smtp-testkit/pool-tests/interop.rs");
include!("../../smtp-testkit/async-tests/pool_interop.rs");
