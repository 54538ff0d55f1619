//! Delivery straight to a domain's MX hosts (feature `mx`): the vocabulary the planner,
//! the TLS verifiers and the DNS backends share.
//!
//! The planner (RFC 5321 §5.1 routing, RFC 7505 null MX, MTA-STS per RFC 8461, DANE
//! per RFC 7672/7671, REQUIRETLS per RFC 8689, TLS reporting data per RFC 8460) is
//! sans-IO like [`Client`](crate::Client): DNS answers with their DNSSEC status, policy
//! fetch results and session outcomes go in; lookups, fetches, attempts and results
//! come out. Nothing here resolves a name, opens a socket or reads a clock: the DNS
//! backends and rustls verifiers live in a std crate, the I/O in the adapters.

mod dns;
mod tls;
mod tlsa;

pub use dns::{DnsResult, RData, RType, Rcode, Security};
pub use tls::{TlsInfo, TlsRequirement, TlsResultType, Verification};
pub use tlsa::{Tlsa, TlsaMatching, TlsaSelector, TlsaUsage};
