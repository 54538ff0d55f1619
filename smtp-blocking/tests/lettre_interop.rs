//! lettre's `Transport` on the pool against Postfix of `scripts/test-servers start`
//! (features `interop` and `lettre`): the same lettre program through lettre's own
//! transport and through ours. Shared with the Tokio adapter.
#![cfg(all(feature = "interop", feature = "lettre"))]

use lettre::{SmtpTransport, Transport};
use smtp_blocking as adapter;

const TAG: &str = "blocking";

/// The blocking adapter needs no executor: the test bodies only look async.
fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    smtp_io::block_on(f)
}

macro_rules! aw {
    ($e:expr) => {
        $e
    };
}

macro_rules! send {
    ($transport:expr, $message:expr) => {
        Transport::send(&$transport, &$message)
    };
}

fn theirs(s: &smtp_testkit::interop::TestServers) -> SmtpTransport {
    SmtpTransport::builder_dangerous(s.host())
        .port(s.port(smtp_testkit::interop::Listener::Postfix))
        .build()
}

include!("../../smtp-testkit/pool-tests/lettre_interop.rs");
