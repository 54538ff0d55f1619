//! Through SOCKS5 proxies (`Builder::proxy`): the microsocks of `scripts/test-servers
//! start`, with and without authentication, to Postfix. Feature `interop`. The tests
//! are shared with the other adapters.
#![cfg(all(feature = "interop", feature = "rustls"))]

mod common;

use smtp_tokio as adapter;

/// Put in every address, so that the adapters' runs do not mix.
const TAG: &str = "tokio";

use common::block_on;

macro_rules! aw {
    ($e:expr) => {
        $e.await
    };
}

include!("../../smtp-testkit/async-tests/proxy.rs");
