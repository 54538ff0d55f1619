// Included by the async adapters' tests/pool_interop.rs, after smtp-testkit/
// pool-tests/interop.rs: `adapter` is the adapter crate, `spawn_all` runs the futures
// as tasks on several threads and collects their outputs in order.

use adapter::{ForwardPath, Pool, ReversePath};

/// 1,000 tasks through a pool of 4 STARTTLS connections to Postfix: every report says
/// accepted, and Postfix stored exactly those messages, each once, with the Message-ID
/// sent.
#[test]
fn a_thousand_tasks_through_a_pool_of_four_to_postfix_are_each_stored_once() {
    let run = PostfixRun::new(1000);
    let results = spawn_all(
        run.builder.clone(),
        run.config.clone(),
        |pool: Pool, _i: usize, rcpt: String, body: Vec<u8>| async move {
            pool.send_message(
                ReversePath::new("sender@example.org").unwrap(),
                [ForwardPath::new(&rcpt).unwrap()],
                &body,
            )
            .await
        },
        run.rcpts.clone(),
        run.bodies.clone(),
    );
    run.check(&results);
}
