//! Test support shared by the three adapters (not published).
//!
//! - [`transcript`]: the core's transcript parser and runner, compiled from
//!   `smtp-proto/tests/common/mod.rs` (one parser, not two).
//! - [`plan`]: what an adapter does with a transcript (its operations, in order) and the
//!   server's turns as the adapter meets them, worked out by running the core's session.
//! - [`server`]: a protocol-ignorant [`ScriptedServer`](server::ScriptedServer) that plays a
//!   plan (or replays a hand-written transcript) over a real 127.0.0.1 socket (rustls on
//!   `TLS`), and the [`StepServer`](server::StepServer)s of the timeout tests (silent,
//!   trickling).
//! - [`scenario`]: runs every transcript through an adapter given as a closure
//!   ([`replay_all`](scenario::replay_all)) and checks its results against the `E:` lines.
//! - [`tls`]: a certificate for `localhost`/`127.0.0.1` made at test time with rcgen, and
//!   rustls configurations (ring) trusting only it.
//! - [`forward`] (Unix): a Unix socket forwarding to a TCP server, for connector tests,
//!   and a SOCKS5 proxy that sends the server's greeting with its reply.
//! - `dkim` (feature `dkim`): mail-auth's and dkimpy's DKIM verifiers, the key given
//!   by the test.
//! - [`interop`]: the environment of `scripts/test-servers`, finding and comparing what
//!   Postfix and aiosmtpd stored.
//! - [`mx_lab`]: the environment of `scripts/mx-lab` (the MX-delivery lab, docs/mx-lab.md).
//! - [`mx_hosts`]: the lab's in-process MX hosts (a cut after the end of data, STARTTLS
//!   refused or broken, a certificate signed by another key, REQUIRETLS, silence).
//! - [`sts_server`]: an HTTPS server for MTA-STS policy fetches, certificate and answer
//!   picked by SNI; the lab's on 127.0.0.20:443.
//!
//! An adapter's loopback test is a few lines:
//!
//! ```no_run
//! use smtp_testkit::scenario::{replay_all, Outcome};
//! replay_all(150, |scenario, target| {
//!     let mut outcome = Outcome::default();
//!     // build the adapter with `scenario.config()`, connect to `target.addr`
//!     // (TLS name `target.host`, trust `target.tls_config`), run `scenario.ops()` in
//!     // order until one fails, and fill `outcome`.
//!     outcome
//! });
//! ```

#[cfg(feature = "dkim")]
pub mod dkim;
#[cfg(unix)]
pub mod forward;
pub mod interop;
pub mod mx_hosts;
pub mod mx_lab;
pub mod plan;
pub mod scenario;
pub mod server;
pub mod sts_server;
pub mod tls;

/// Runs a future that never waits: a blocking adapter's run of a test written once
/// for the three adapters, whose `aw!` awaits nothing there.
///
/// # Panics
/// If the future waits after all.
pub fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("a blocking test's body waited"),
    }
}

// The core's transcript harness; its own header documents the format.
#[allow(missing_docs, clippy::all)]
#[path = "../../smtp-proto/tests/common/mod.rs"]
pub mod transcript;
