//! A pool against smtp-sink: recipients refused for now are retried alone (shared
//! with the async adapters), and a caller gone before its message was written
//! withdraws it.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use smtp_blocking as adapter;
use smtp_testkit::ready as block_on;

macro_rules! aw {
    ($e:expr) => {
        $e
    };
}

include!("../../smtp-testkit/pool-tests/retry.rs");

/// A blocking call returns only with its message's outcome, so a blocking caller
/// gives up only by unwinding: here the iterator `send_many` reads panics after ten
/// messages, all ten on one connection that sends one command at a time while the
/// server takes its time. At most one is on the wire and completes (its report
/// discarded); the others, unwritten, are withdrawn: none of them reaches the server
/// (not even its MAIL), they leave the connection's count, and the connection goes
/// on for the next caller.
#[test]
fn messages_of_a_caller_that_unwound_before_they_were_written_are_withdrawn() {
    let (sink, b, config) = one_command_at_a_time();
    let pool = Pool::new(b, config);
    let messages = (0..11).map(|i| {
        if i == 10 {
            // Once the connection has all ten, the caller is gone.
            for _ in 0..500 {
                if pool.status().in_flight == 10 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(pool.status().in_flight, 10, "{:?}", pool.status());
            // Unwinding at once: no panic hook (a backtrace printed first takes long
            // enough for the first message to end and the second to go out).
            resume_unwind(Box::new("the caller gives up"));
        }
        message(i, &[&format!("user{i}@example.net")])
    });
    let unwound = catch_unwind(AssertUnwindSafe(|| pool.send_many(messages)));
    assert!(unwound.is_err());
    for _ in 0..500 {
        if pool.status().in_flight == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(pool.status().in_flight, 0, "the withdrawn left the count");
    let (envelope, body) = message(10, &["user10@example.net"]);
    let after = pool.send(envelope, body).expect("delivered");
    assert!(after.report.all_delivered(), "{after:?}");
    pool.close();
    // At most the one on the wire when its caller was gone reached the server (which
    // one depends on how far the connection got: the asks come one by one).
    let reached = reached(&sink, 0..10);
    assert!(
        reached.len() <= 1,
        "withdrawn, yet reached the server: {reached:?}"
    );
    let (ids, expected) = stored(&sink, &[&reached[..], &[10]].concat());
    assert_eq!(ids, expected, "each once");
    assert_eq!(
        sink.connections().len(),
        1,
        "one connection served them all"
    );
}
