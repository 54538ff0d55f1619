//! lettre's `AsyncTransport` on the pool against Postfix of `scripts/test-servers start`
//! (features `interop` and `lettre`): the same lettre program through lettre's own
//! transport and through ours. Shared with the blocking adapter.
#![cfg(all(feature = "interop", feature = "lettre"))]

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use smtp_tokio as adapter;

const TAG: &str = "tokio";

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

macro_rules! aw {
    ($e:expr) => {
        $e.await
    };
}

macro_rules! send {
    ($transport:expr, $message:expr) => {
        AsyncTransport::send(&$transport, $message.clone()).await
    };
}

fn theirs(s: &smtp_testkit::interop::TestServers) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host())
        .port(s.port(smtp_testkit::interop::Listener::Postfix))
        .build()
}

include!("../../smtp-testkit/pool-tests/lettre_interop.rs");
