// Included by the async adapters' tests/pool_retry.rs after
// smtp-testkit/pool-tests/retry.rs: `common` is the adapter's test helpers (block_on,
// timeout). Callers that give up by dropping their future.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use common::{block_on, timeout};

type Sending = Pin<Box<dyn Future<Output = Result<PoolReport, adapter::Error>>>>;

async fn sleep(d: Duration) {
    let _ = timeout(d, std::future::pending::<()>()).await;
}

/// Ten callers on one connection that sends one command at a time while the server
/// takes its time: the first message is on the wire, the other nine wait in the
/// session, unwritten. The callers of five of those give up: their messages never
/// reach the server (not even their MAIL), the others are delivered, each once, and
/// the connection goes on for the next caller.
#[test]
fn callers_that_give_up_before_their_message_is_written_withdraw_it_and_others_arrive() {
    let (sink, b, config) = one_command_at_a_time();
    let (results, after) = block_on(async {
        let pool = Pool::new(b, config);
        let mut sending: Vec<Option<Sending>> = (0..10)
            .map(|i| {
                let pool = pool.clone();
                let fut: Sending = Box::pin(async move {
                    let (envelope, body) = message(i, &[&format!("user{i}@example.net")]);
                    pool.send(envelope, body).await
                });
                Some(fut)
            })
            .collect();
        // One poll each queues every message; wait until the connection has them all.
        poll_fn(|cx| {
            for f in sending.iter_mut().flatten() {
                assert!(f.as_mut().poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        for _ in 0..500 {
            if pool.status().in_flight == 10 {
                break;
            }
            sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(pool.status().in_flight, 10, "{:?}", pool.status());
        for i in (1..10).step_by(2) {
            sending[i] = None;
        }
        let mut results = Vec::new();
        for f in sending.into_iter().flatten() {
            results.push(f.await);
        }
        assert_eq!(pool.status().in_flight, 0, "the withdrawn left the count");
        let (envelope, body) = message(10, &["user10@example.net"]);
        let after = pool.send(envelope, body).await;
        pool.close().await;
        (results, after)
    });
    for r in results.iter().chain([&after]) {
        let r = r.as_ref().expect("delivered");
        assert!(r.report.all_delivered(), "{r:?}");
        assert_eq!(r.attempts, 1);
    }
    let withdrawn = (1..10).step_by(2);
    assert_eq!(
        reached(&sink, withdrawn),
        [0usize; 0],
        "withdrawn, yet reached the server"
    );
    let (ids, expected) = stored(&sink, &[0, 2, 4, 6, 8, 10]);
    assert_eq!(ids, expected, "each delivered once, in order");
    assert_eq!(
        sink.connections().len(),
        1,
        "one connection served them all"
    );
}
