//! What the three I/O adapters of [`smtp_proto`] (`smtp-blocking`, `smtp-tokio`,
//! `smtp-smol`) share and is not I/O, written once so that they cannot drift apart:
//!
//! - [`Error`]: why a connection could not be made or why the session ended, with its
//!   classification ([`Error::is_transient`], [`Error::is_permanent`]). Each adapter
//!   re-exports it as its own `Error`, so `smtp_tokio::Error` and `smtp_blocking::Error`
//!   are one type.
//! - [`Settings`] and [`builder_methods!`]: what an adapter's `Builder` holds before it
//!   connects (host, port, the core's [`Config`](smtp_proto::Config), connect timeout,
//!   rustls configuration), and the constructor and chainable setters every `Builder`
//!   has.
//! - [`CredentialsProvider`]: where a `Builder` gets each connection's credentials
//!   (a refreshed OAuth 2.0 token per connection).
//! - [`Connector`] and [`Target`]: a caller's way to open each connection's stream
//!   (Unix socket, proxy), kept by the `Builder` for `connect` and pools alike.
//! - [`socks`]: the SOCKS5 client (RFC 1928, RFC 1929) of every adapter's
//!   `Builder::proxy`, sans-IO: [`socks::Proxy`] parsed from a `socks5://` or
//!   `socks5h://` URL, [`socks::Handshake`] the conversation each adapter drives.
//! - [`session_accessors!`]: the methods every adapter's `Connection` has that read
//!   its session (capabilities, encryption, AUTH mechanism).
//! - [`new_session`]: the [`Session`](smtp_proto::session::Session) an adapter drives,
//!   logging the conversation through `trace` (feature `tracing`; target
//!   `smtp_io::trace` on every runtime).
//! - [`buffer::Scratch`]: the one buffer a driver reads into (the server's bytes and
//!   message content), grown once, capped, and released while the connection is idle.
//! - [`stream::Open`]: what an adapter keeps for the messages of an open stream of
//!   messages (their content until read, the caller's tag until the report).
//! - [`message`]: messages as callers have them (RFC 5322 bytes, mail-builder's and
//!   lettre's messages) turned into an envelope and content ([`message::prepare`]),
//!   the envelope derived from the header when the message brings none.
//! - [`pool`]: what the adapters' pools keep for each message beside the core's
//!   [`smtp_proto::pool::Pool`] (content, caller, last report), how the core's actions
//!   become orders for the adapter's connections and results for its callers
//!   ([`Messages::pump`](pool::Messages::pump)), and the
//!   [`PoolReport`](pool::PoolReport) a caller gets.
//! - [`Signing`]: what is done to each whole message before it is sent (DKIM signing,
//!   feature `dkim`, with a `dkim::DkimSigner` set on the `Builder`), in the one call
//!   every send path of the adapters makes.
//! - [`inbox`]: how an async pool hands commands to a connection's task (one small
//!   allocation per connection, nothing held while it idles), and the slot where a
//!   caller waits for its message's result.
//! - `tls` (feature `rustls`): what a TLS handshake needs besides the stream (the server
//!   name, the default configuration, built once per process), and the name of the
//!   version it negotiated and whether the handshake resumed a session.
//!
//! - `mx` (feature `mx`): the run loop of delivery straight to a domain's MX hosts,
//!   written once: the planner's steps as orders for the adapter's I/O, and what a
//!   session or policy fetch came to as the planner's inputs.
//!
//! The adapters do the I/O: sockets, clocks, TLS handshakes. This crate has none.
//!
//! # Features
//!
//! - `rustls`: the `Error::Tls` variant and `tls` (the adapters' `rustls` feature turns
//!   it on). The crypto provider is ring, named explicitly.
//! - `dkim`: `dkim`, DKIM signing with the `mail-auth` crate on ring, and the
//!   `Builder::dkim_signer` setter (the adapters' `dkim` feature turns it on).
//! - `tracing`: the conversation at debug level, its content lines at trace level, AUTH
//!   payloads redacted (the adapters' `tracing` feature turns it on).
//! - `mail-builder`: mail-builder's `MessageBuilder` is an [`IntoMessage`].
//! - `lettre`: lettre's `Message` is an [`IntoMessage`], and [`message::lettre`] maps a
//!   pool's result onto lettre's transport traits.
//! - `mx`: `mx`, on smtp-mx (implies `rustls`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accessors;
mod block_on;
pub mod buffer;
mod connector;
mod credentials;
#[cfg(feature = "dkim")]
pub mod dkim;
mod error;
pub mod inbox;
pub mod message;
#[cfg(feature = "mx")]
pub mod mx;
pub mod pool;
mod session;
mod settings;
mod signing;
pub mod socks;
pub mod stream;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tracing")]
pub mod trace;

/// The rustls of `Error::Tls` and `tls`.
#[cfg(feature = "rustls")]
pub use rustls;
/// The core, re-exported for the paths of [`builder_methods!`].
pub use smtp_proto;

pub use block_on::block_on;
pub use connector::{Connector, Target};
pub use credentials::{CredentialsError, CredentialsFuture, CredentialsProvider};
pub use error::{Error, NotReady};
pub use message::{IntoMessage, MessageError};
pub use session::new_session;
pub use settings::Settings;
pub use signing::Signing;
