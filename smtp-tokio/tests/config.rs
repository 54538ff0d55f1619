//! A configuration under which a session could not make progress is refused before
//! connecting. The test is shared with the other async adapter.

mod common;

use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/config.rs");
