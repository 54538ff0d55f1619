//! A pool against Postfix of `scripts/test-servers start` (feature `interop`): 64
//! threads through a pool of 4. The judgement is the async adapters'
//! (smtp-testkit/pool-tests/interop.rs).
#![cfg(all(feature = "interop", feature = "rustls"))]

use smtp_blocking as adapter;
use smtp_blocking::{ForwardPath, Pool, ReversePath};

const TAG: &str = "blocking";

include!("../../smtp-testkit/pool-tests/interop.rs");

/// 64 threads, 16 messages each, through a pool of 4 STARTTLS connections to Postfix:
/// every report says accepted, and Postfix stored exactly those messages, each once,
/// with the Message-ID sent.
#[test]
fn sixty_four_threads_through_a_pool_of_four_to_postfix_are_each_stored_once() {
    const THREADS: usize = 64;
    const EACH: usize = 16;
    let run = PostfixRun::new(THREADS * EACH);
    let pool = Pool::new(run.builder.clone(), run.config.clone());
    let send = |i: usize| {
        pool.send_message(
            ReversePath::new("sender@example.org").unwrap(),
            [ForwardPath::new(&run.rcpts[i]).unwrap()],
            &run.bodies[i],
        )
    };
    let results: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| s.spawn(move || (t * EACH..(t + 1) * EACH).map(send).collect::<Vec<_>>()))
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("thread"))
            .collect()
    });
    pool.close();
    run.check(&results);
}
