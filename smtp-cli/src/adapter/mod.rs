//! The three adapters behind one small interface, so that the session
//! ([`crate::session`]) is written once: each runtime implements [`Adapter`] (how it
//! connects and runs a future) and [`Connection`] (what a set-up session does), in
//! `blocking.rs`, `tokio.rs` and `smol.rs`. Nothing here maps errors or exit statuses:
//! the adapters' one error type ([`smtp_io::Error`]) goes through unchanged, and the
//! implementations compile only while every adapter's `Error` is that type.

mod blocking;
mod smol;
mod tokio;

use std::future::Future;
use std::io;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use smtp_proto::command::Mechanism;
use smtp_proto::pool::PoolConfig;
use smtp_proto::{Capabilities, Envelope, Report};

use crate::session::Plan;

pub(crate) use self::blocking::Blocking;
pub(crate) use self::smol::Smol;
pub(crate) use self::tokio::Tokio;
pub(crate) use smtp_io::Error;

/// The pool of `--concurrency`: the plan's connections, each stream as deep as the
/// one connection's.
fn pool_config(plan: &Plan) -> PoolConfig {
    let mut pool_config = PoolConfig::default();
    pool_config.max_connections = plan.concurrency;
    pool_config.max_in_flight = crate::session::OPEN;
    pool_config
}

/// `envelope` with the plan's message, `n` times, for a pool's `send_many` (the content
/// shared).
fn pooled_messages<'a>(
    plan: &Plan,
    envelope: &'a Envelope,
    n: usize,
) -> impl Iterator<Item = (Envelope, Arc<[u8]>)> + 'a {
    let body: Arc<[u8]> = plan.message.as_slice().into();
    (0..n).map(move |_| (envelope.clone(), body.clone()))
}

/// One runtime's adapter: connecting, and running the session to its end.
pub(crate) trait Adapter {
    /// A session, over TCP or the plan's Unix socket.
    type Conn: Connection;

    /// Runs `session` to completion on this runtime (`Err` if the runtime cannot start).
    fn block_on<T>(session: impl Future<Output = T>) -> io::Result<T>;

    /// Connects to the plan's server and sets the session up (greeting, EHLO, TLS,
    /// AUTH): `Builder::from_settings(plan.settings())`, with a connector opening the
    /// plan's Unix socket if it has one (a pool's connections use the same builder).
    fn connect(plan: &Plan) -> impl Future<Output = Result<Self::Conn, Error>>;

    /// Sends `envelope` with the plan's message `n` times through a pool of
    /// `plan.concurrency` connections (`--concurrency`), each report to `on_report`.
    fn send_pooled(
        plan: &Plan,
        envelope: &Envelope,
        n: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> impl Future<Output = Result<(), Error>>;
}

/// A session once set up, as every adapter's `Connection` offers it.
pub(crate) trait Connection {
    /// What the server offered in its last EHLO/LHLO reply.
    fn capabilities(&self) -> &Capabilities;

    /// The TLS version, when the session is encrypted.
    fn tls_version(&self) -> Option<&'static str>;

    /// The server's own certificate (DER), when the session is encrypted.
    fn peer_certificate(&self) -> Option<CertificateDer<'static>>;

    /// The SASL mechanism the session authenticated with.
    fn auth_mechanism(&self) -> Option<Mechanism>;

    /// Sends `message` while `more()` says so (asked as the stream is ready for each
    /// next one), as one stream (`Connection::stream`): each message joins the pipeline
    /// while earlier ones are in flight, at most `open` unanswered;
    /// each report (or the error refusing that message) goes to `on_report` as it
    /// completes. `Err`: the session died (every message taken was reported first).
    fn send_repeated(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        more: &mut dyn FnMut() -> bool,
        open: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> impl Future<Output = Result<(), Error>>;

    /// QUIT, then close.
    fn quit(self) -> impl Future<Output = Result<(), Error>>;
}
