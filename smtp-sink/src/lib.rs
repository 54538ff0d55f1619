//! A rule-driven SMTP/LMTP server in process, for tests and benchmarks.
//!
//! [`Sink::start`] starts a server on `127.0.0.1` on a free port, on its own Tokio
//! runtime on a background thread, so it serves blocking and async tests alike. It speaks
//! ESMTP (or LMTP) with PIPELINING, CHUNKING/BINARYMIME, 8BITMIME, SMTPUTF8, SIZE, DSN,
//! ENHANCEDSTATUSCODES, STARTTLS (or implicit TLS) with a certificate made when it
//! starts ([`Sink::client_config`], [`Sink::trust_anchor`]), and AUTH PLAIN, LOGIN and XOAUTH2
//! against the users it is given; it records every connection and message
//! ([`Sink::messages`], [`Sink::connections`]), answers as its [`Rule`]s say and
//! misbehaves on cue ([`SinkBuilder`]'s fault methods).
//!
//! ```
//! use smtp_blocking::{Builder, ForwardPath, ReversePath};
//!
//! let sink = smtp_sink::Sink::start()?; // 127.0.0.1, a free port, STARTTLS offered
//! let mut conn = Builder::new("127.0.0.1")
//!     .port(sink.port())
//!     .tls_config(sink.client_config()) // trusts the sink's certificate only
//!     .connect()?;
//! conn.send_message(
//!     ReversePath::new("app@example.org")?,
//!     [ForwardPath::new("user@example.net")?],
//!     b"Subject: welcome\r\n\r\nHello.\r\n",
//! )?;
//! conn.quit()?;
//!
//! let m = &sink.messages()[0];
//! assert_eq!(m.content, b"Subject: welcome\r\n\r\nHello.\r\n");
//! assert_eq!(m.recipients[0].to.as_str(), "user@example.net");
//! assert!(m.tls);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Replies are flights
//! Commands are read as they come and answered in order; the replies are written when
//! the input read so far is used up, so a pipelined flight of commands gets one flight of
//! replies (RFC 2920). [`ConnectionRecord::client_flights`] counts the client's flights
//! the way smtp-bench's proxy does.
//!
//! # Discarding mode
//! [`SinkBuilder::discard`] keeps no record, only [`Counts`]: a fast sink for
//! benchmarks.
//!
//! # Stopping
//! [`Sink::stop`] (or dropping the sink) closes every connection still open and frees
//! the port; the records stay readable.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod command;
mod config;
mod conn;
mod content;
mod faults;
mod record;
mod rules;
mod server;
mod session;
mod stream;
mod tls;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::sync::oneshot;

pub use config::{Extension, Protocol, SinkBuilder};
pub use faults::Cue;
pub use record::{
    param, AuthInfo, ConnectionRecord, Counts, End, MessageRecord, Param, RcptRecord, TlsInfo,
    Transfer,
};
pub use rules::{Action, Match, Rule};
pub use rustls;
pub use smtp_proto;

use record::Store;
use server::Shared;

/// A running sink. Dropping it stops it ([`Sink::stop`]).
pub struct Sink {
    addr: SocketAddr,
    cert: CertificateDer<'static>,
    store: Arc<Store>,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("addr", &self.addr)
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

impl Sink {
    /// Starts a sink with the defaults of [`SinkBuilder`]: ESMTP, every extension,
    /// everything accepted and recorded.
    pub fn start() -> io::Result<Sink> {
        SinkBuilder::new().start()
    }

    /// A builder, to set the protocol, extensions, users, rules and faults.
    pub fn builder() -> SinkBuilder {
        SinkBuilder::new()
    }

    pub(crate) fn start_with(config: config::Config) -> io::Result<Sink> {
        let identity = tls::Identity::generate()?;
        // Loopback only, whatever the caller asks: a test server must not be reachable.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let store = Arc::new(Store::default());
        let shared = Arc::new(Shared {
            config,
            store: store.clone(),
            cues: Default::default(),
            acceptor: tokio_rustls::TlsAcceptor::from(identity.server.clone()),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("smtp-sink-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(server::run(listener, shared, stopped));
                // Dropping the runtime drops every connection's task: sockets close.
                drop(runtime);
            })?;
        Ok(Sink {
            addr,
            cert: identity.cert,
            store,
            running: Some((stop, thread)),
        })
    }

    /// The address it listens on (always `127.0.0.1`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The certificate it presents (for `localhost` and `127.0.0.1`), self-signed: the
    /// trust anchor a client needs.
    pub fn trust_anchor(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    /// A root store holding only [`Sink::trust_anchor`].
    pub fn root_store(&self) -> rustls::RootCertStore {
        tls::roots(&self.cert)
    }

    /// A rustls client configuration (ring provider) that trusts only this sink.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        tls::client_config(&self.cert)
    }

    /// Every message whose end of data was reached, in order (empty in discarding mode).
    pub fn messages(&self) -> Vec<MessageRecord> {
        self.store.messages()
    }

    /// Every connection, in order of arrival (empty in discarding mode).
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.store.connections()
    }

    /// The counts, kept in every mode.
    pub fn counts(&self) -> Counts {
        self.store.counts()
    }

    /// Waits until at least `n` messages were received, or `timeout`; whether they were.
    pub fn wait_for_messages(&self, n: u64, timeout: Duration) -> bool {
        self.store
            .wait(timeout, |_, _, counts| counts.messages >= n)
    }

    /// Waits until every connection accepted so far has ended, or `timeout`; whether
    /// they have. Useful after a client closed: the sink notices a moment later.
    pub fn wait_for_idle(&self, timeout: Duration) -> bool {
        self.store
            .wait(timeout, |conns, _, _| conns.iter().all(|c| c.end.is_some()))
    }

    /// Stops: no more connections, every open one closed, the port freed. The records
    /// stay. Calling it again does nothing.
    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            let _ = thread.join();
            self.store.end_all(End::Shutdown);
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    /// A sink is shared by the threads or tasks of a test (e.g. a pool's callers).
    #[test]
    fn sink_and_records_are_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<super::Sink>();
        shared::<super::MessageRecord>();
        shared::<super::ConnectionRecord>();
        shared::<super::SinkBuilder>();
    }
}
