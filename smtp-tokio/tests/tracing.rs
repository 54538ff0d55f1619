//! Feature `tracing`: the conversation is logged at debug level with AUTH payloads
//! redacted and control bytes escaped. The tests are shared with the other async adapter.
#![cfg(feature = "tracing")]

mod common;

use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/tracing.rs");
