//! Through SOCKS5 proxies (`Builder::proxy`): the microsocks of `scripts/test-servers
//! start`, with and without authentication, to Postfix. Feature `interop`. The tests
//! are shared with the async adapters.
#![cfg(all(feature = "interop", feature = "rustls"))]

use smtp_blocking as adapter;

/// Put in every address, so that the adapters' runs do not mix.
const TAG: &str = "blocking";

/// The blocking adapter needs no executor: the test bodies only look async.
fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    smtp_testkit::ready(f)
}

macro_rules! aw {
    ($e:expr) => {
        $e
    };
}

include!("../../smtp-testkit/async-tests/proxy.rs");
