//! A SOCKS5 client (RFC 1928, with RFC 1929 username/password authentication), sans-IO
//! and written once for the three adapters: [`Proxy`] is where the proxy is and how to
//! talk to it (parsed from `socks5://[user:pass@]host:port` or `socks5h://...`),
//! [`Handshake`] the conversation that asks it to connect to the SMTP server, bytes in
//! ([`Handshake::handle_input`]) and bytes or a read out ([`Handshake::poll`]). Each
//! adapter's `Builder::proxy` opens the TCP connection to the proxy and drives the
//! handshake in a few lines; TLS and SMTP then run over that stream.
//!
//! One implementation rather than a crate per runtime (tokio-socks for Tokio, another
//! for the others): one set of tests against hostile proxies covers every runtime.
//!
//! ```
//! use smtp_io::socks::{Destination, Next, Proxy};
//!
//! let proxy: Proxy = "socks5h://alice:secret@127.0.0.1:1080".parse()?;
//! assert!(!format!("{proxy:?}").contains("secret"));
//! let destination = proxy.destination("mail.example.org").expect("resolved by the proxy");
//! assert_eq!(destination, Destination::Name("mail.example.org".into()));
//! let mut handshake = proxy.handshake(destination, 587)?;
//! // RFC 1928 §3: version 5, two methods offered, none and username/password.
//! assert_eq!(handshake.poll()?, Next::Write(vec![5, 2, 0, 2]));
//! assert_eq!(handshake.poll()?, Next::Read(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod handshake;
mod proxy;

pub use error::ProxyError;
pub use handshake::{Handshake, Next, MAX_READ};
pub use proxy::{Destination, InvalidProxy, Proxy};
