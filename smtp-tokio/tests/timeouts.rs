//! The core's deadlines, honoured by the driver on real sockets: a silent server, one
//! that trickles a byte a second, one that stops answering after the greeting. The tests
//! are shared with the other async adapter.

mod common;

use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/timeouts.rs");
