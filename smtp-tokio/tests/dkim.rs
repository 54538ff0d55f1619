//! DKIM signing by the builder's signer through Postfix (features `dkim` and
//! `interop`). The tests are shared with the other async adapter.
#![cfg(all(feature = "dkim", feature = "interop", feature = "rustls"))]

mod common;

use smtp_tokio as adapter;

/// The selector and the tag in every address, so that the adapters' runs do not mix.
const TAG: &str = "tokio";

include!("../../smtp-testkit/async-tests/dkim.rs");
