//! A sans-IO SMTP and LMTP client.
//!
//! `smtp-proto` consumes the bytes a server sends and produces the bytes a client must
//! write. It owns no socket, no clock, no async runtime and no TLS library: time comes in
//! as an argument ([`Instant`]), deadlines go out as values, and "start TLS now" goes out
//! as an instruction ([`Output::StartTls`]). The adapters `smtp-blocking`, `smtp-tokio`
//! and `smtp-smol` drive it over real connections; tests drive it with transcripts.
//!
//! # The run loop
//!
//! Every driver follows one contract, written once in [`client`]: mutate once (feed
//! input, EOF, a timeout, a TLS handshake or an application request), drain
//! [`Client::poll_output`] until [`Output::Wait`] or [`Output::Closed`], then wait for
//! exactly one thing.
//!
//! ```
//! use smtp_proto::{Client, Config, Envelope, Event, Instant, Output, TlsMode, TlsPolicy};
//! use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
//!
//! let mut config = Config::new(EhloName::new("client.example").unwrap());
//! config.tls = TlsMode::StartTls(TlsPolicy::Disabled); // a test server on loopback
//! let now = Instant::ZERO;
//! let mut client = Client::new(config, now);
//! let envelope = Envelope::new(
//!     ReversePath::new("alice@example.org").unwrap(),
//!     [ForwardPath::new("bob@example.net").unwrap()],
//! );
//! let txn = client.send(now, envelope).unwrap();
//! client.quit(now).unwrap();
//!
//! // What a server says, one flight at a time (a real driver reads a socket).
//! let mut server: std::collections::VecDeque<&[u8]> = [
//!     &b"220 mx.example ESMTP\r\n"[..],
//!     b"250-mx.example\r\n250 PIPELINING\r\n",
//!     b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n",
//!     b"250 2.0.0 Queued\r\n221 2.0.0 Bye\r\n",
//! ]
//! .into();
//! let mut out = Vec::new();
//! let mut accepted = false;
//! loop {
//!     match client.poll_output(&mut out) {
//!         Output::Event(Event::MessageAccepted { txn: t, .. }) => accepted = t == txn,
//!         Output::Event(_) => {}
//!         Output::SendBody { txn, .. } => {
//!             client.send_body(now, txn, b"Subject: hi\r\n\r\nHello.\r\n", true, &mut out).unwrap();
//!         }
//!         Output::StartTls(_) => unreachable!("TLS is disabled here"),
//!         Output::Wait { .. } => {
//!             out.clear(); // a driver writes these bytes to the socket
//!             match server.pop_front() {
//!                 Some(bytes) => client.handle_input(now, bytes),
//!                 None => client.handle_eof(now),
//!             }
//!         }
//!         Output::Closed(error) => {
//!             assert!(error.is_none());
//!             break;
//!         }
//!     }
//! }
//! assert!(accepted);
//! ```
//!
//! # Layers
//!
//! - [`reply`]: replies and their codes, read within limits (RFC 5321 §4.2).
//! - [`ehlo`]: capabilities from an EHLO or LHLO reply.
//! - [`command`]: validated addresses, parameters and the commands that carry them.
//! - [`body`]: DATA dot-stuffing and BDAT chunking, without holding the message.
//! - [`client`]: the session state machine.
//! - [`session`]: whole operations (connect, a batch of messages, a command, quit) over a
//!   client, for adapters that only move bytes; [`transcript`]: what of it to log.
//! - `mx` (feature **`mx`**): delivery straight to a domain's MX hosts: a planner owning
//!   routing (RFC 5321 §5.1), MTA-STS (RFC 8461), DANE (RFC 7672) and REQUIRETLS
//!   (RFC 8689) decisions, with the parsers and the policy fetch's HTTP exchange it
//!   needs; `Session` still runs each connection.
//! - `der` (feature **`der`**): DER split into elements, what the std companions read
//!   of keys and certificates.
//!
//! # Stability
//!
//! Everything public without features follows semver; `docs/api/smtp-proto.txt` in the
//! repository records it, and CI fails on any change to it that is not committed there.
//! The cargo feature **`unstable`** makes internals public for the project's fuzz targets
//! and benches: the reply reader (`reply::ReplyReader`, `ehlo::Hello`), the command
//! encoder (`command::Command`) and the body encoders (`body::DataEncoder`,
//! `body::BdatEncoder`). It comes with **no semver guarantee**: what it exposes may
//! change or go in any release.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// `pub` with the `unstable` feature, `pub(crate)` without: for items the project's fuzz
/// targets, benches and tests reach that are no part of the stable API.
macro_rules! unstable_pub {
    ($(#[$attr:meta])* pub $($item:tt)*) => {
        #[cfg(feature = "unstable")]
        $(#[$attr])*
        pub $($item)*
        #[cfg(not(feature = "unstable"))]
        $(#[$attr])*
        pub(crate) $($item)*
    };
}

pub mod body;
pub mod client;
pub mod command;
mod config;
#[cfg(feature = "der")]
pub mod der;
pub mod ehlo;
mod envelope;
mod error;
pub(crate) mod escape;
mod line;
#[cfg(feature = "mx")]
pub mod mx;
mod output;
pub mod pool;
pub mod reply;
pub mod report;
mod secret;
pub mod session;
mod swar;
mod time;
pub mod transcript;

pub use client::{Client, Sasl, SaslError, SaslFactory};
pub use config::{Config, ConfigError, Timeouts, TlsMode, TlsPolicy};
pub use ehlo::Capabilities;
pub use envelope::{Envelope, Recipient};
pub use error::{AuthError, Error, ProtocolError, Stage, TlsRequiredError, TxnError, UsageError};
pub use output::{Event, Output, TlsUpgrade, TxnFailure, TxnId};
pub use reply::{EnhancedStatus, Reply, ReplyCode};
pub use report::{MessageOutcome, RecipientStatus, Report};
pub use secret::{Credentials, CredentialsError, Secret};
pub use time::Instant;
