//! Every public future is `Send` and `Connection` is `Send + Sync`: checked at
//! compile time (this test fails by not building). The checks are shared with the
//! other async adapter.

// The checks are type-checked, never called.
#![allow(dead_code)]

use futures_lite::io::{AsyncRead, AsyncWrite};
use smtp_smol as adapter;

include!("../../smtp-testkit/async-tests/send_sync.rs");
