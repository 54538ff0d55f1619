//! A pool against smtp-sink: callers that give up before their message is written
//! withdraw it; recipients refused for now are retried alone. Shared with the other
//! adapters (the recipient retries with the blocking one too).

mod common;

use smtp_smol as adapter;

macro_rules! aw {
    ($e:expr) => {
        $e.await
    };
}

include!("../../smtp-testkit/pool-tests/retry.rs");
include!("../../smtp-testkit/async-tests/pool_retry.rs");
