//! What the three adapters share for delivery straight to a domain's MX hosts, that is
//! neither protocol (the planner in `smtp_proto::mx`) nor I/O (the adapters):
//!
//! - [`tls`]: a rustls `ClientConfig` per attempt from the planner's
//!   [`TlsRequirement`](smtp_proto::mx::TlsRequirement): DANE (RFC 7672, RFC 7671),
//!   WebPKI for MTA-STS (RFC 8461 §4.2), or any certificate; every verifier checks the
//!   handshake signature, and records how the certificate check went for TLS reporting
//!   (RFC 8460).
//! - [`dns`]: the [`Resolve`](dns::Resolve) hook the adapters answer the planner's
//!   lookups with, and its backends: a stub trusting the AD bit of a validating resolver
//!   on loopback, and (feature `hickory`) hickory-resolver validating in process.
//! - [`dial`]: the [`Dialer`](dial::Dialer) hook through which every connection to an
//!   MX address is opened (tests redirect `127.0.0.x:25` there, and nowhere else).
//! - [`sts_cache`]: where MTA-STS policies are kept between deliveries (RFC 8461 §5.1):
//!   the [`StsCache`](sts_cache::StsCache) trait and a file-backed default.
//!
//! No async runtime is needed by the core API.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dial;
pub mod dns;
pub mod sts_cache;
pub mod tls;
