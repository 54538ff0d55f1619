//! `mx::deliver` runs the planner's lookups asked for together at once: the test of
//! smtp-testkit/async-tests/mx_concurrency.rs through this adapter. No network.

mod common;

use common::block_on;
use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/mx_concurrency.rs");
