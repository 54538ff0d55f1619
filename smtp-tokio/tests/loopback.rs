//! The core's transcripts replayed through this adapter over real 127.0.0.1 sockets (the
//! testkit's scripted server checks every byte), and cancellation. The tests are shared
//! with the other async adapter.
// The transcripts include TLS sessions.
#![cfg(feature = "rustls")]

mod common;

use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/loopback.rs");
