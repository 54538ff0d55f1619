//! `Connection::stream` against smtp-sink: messages join while earlier ones are in
//! flight, each report comes back once, a close mid-stream is reported faithfully.
//! Shared with the other async adapter.

mod common;

use smtp_smol as adapter;

include!("../../smtp-testkit/async-tests/stream.rs");
