//! A pool against smtp-sink: callers that give up before their message is written
//! withdraw it; recipients refused for now are retried alone. Shared with the other
//! async adapter.

mod common;

use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/pool_retry.rs");
