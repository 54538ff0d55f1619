//! Against the real servers of `scripts/test-servers start` (Postfix, aiosmtpd): every
//! test compares the bytes the server stored with the bytes sent. Feature `interop`. The
//! tests are shared with the other async adapter.
#![cfg(all(feature = "interop", feature = "rustls"))]

mod common;

use smtp_smol as adapter;

/// Put in every address, so that the adapters' runs do not mix.
const TAG: &str = "smol";

include!("../../smtp-testkit/async-tests/interop.rs");
